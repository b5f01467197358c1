import assert from "node:assert/strict";
import { generateTokenId, type TokenRecord } from "@atlas/core";
import { natsTest } from "@atlas/testkit";
import { revokeToken, storeToken } from "./tokens.ts";

natsTest("a token record is created once and revoked once", async ({ nats }) => {
  const record: TokenRecord = {
    id: generateTokenId(),
    name: "ci",
    role: "reader",
    sha256: "a".repeat(64),
    createdAt: new Date().toISOString(),
    createdBy: "alice",
  };
  const stored = await storeToken(nats, record);
  assert.deepEqual(stored.value, record);
  await assert.rejects(() => storeToken(nats, record), "an id is never reused");

  const first = await revokeToken(nats, record.id, "bob");
  assert.equal(first?.revoked, true);
  assert.equal(first?.stored.value.revokedBy, "bob");
  assert.ok(first?.stored.value.revokedAt);
  const again = await revokeToken(nats, record.id, "carol");
  assert.equal(again?.revoked, false);
  assert.equal(again?.stored.value.revokedBy, "bob", "the first revocation stands");
  assert.equal(await revokeToken(nats, "tok_0000000000000000", "bob"), null);
  await assert.rejects(
    () => storeToken(nats, { ...record, id: "tok_1", sha256: "secret" }),
    "a malformed record is refused before it is written",
  );
});
