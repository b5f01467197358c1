import assert from "node:assert/strict";
import {
  endedKeySet,
  firstKeySet,
  generateSigningKey,
  KeySetError,
  KeySetRecord,
  rotatedKeySet,
  Signer,
} from "@atlas/core";
import {
  fetchKeySet,
  KeySetConflictError,
  publishTrustedKeys,
  readKeySet,
  readTrustedKeys,
  requireTrustedSigner,
  storeKeySet,
  UntrustedSignerError,
} from "./keys_trust.ts";
import { natsTest } from "@atlas/testkit";

natsTest("a signer whose key the control plane published is trusted", async ({ nats }) => {
  const control = new Signer(generateSigningKey());
  const older = new Signer(generateSigningKey());
  await publishTrustedKeys(nats, [control.trustedKey, older.trustedKey]);
  assert.deepEqual(
    (await readTrustedKeys(nats)).map((k) => k.keyId).sort(),
    [control.keyId, older.keyId].sort(),
  );
  await requireTrustedSigner(nats, control, { who: "coordinator us-east" });
  await requireTrustedSigner(nats, older);
  // Published again without the older key: it is not trusted any more.
  await publishTrustedKeys(nats, [control.trustedKey]);
  assert.deepEqual((await readTrustedKeys(nats)).map((k) => k.keyId), [control.keyId]);
  await assert.rejects(() => requireTrustedSigner(nats, older), UntrustedSignerError);
});

natsTest("a coordinator with a key agents do not trust is told what to do", async ({ nats }) => {
  const control = new Signer(generateSigningKey());
  const stranger = new Signer(generateSigningKey());
  await assert.rejects(
    () => requireTrustedSigner(nats, control, { who: "coordinator us-east" }),
    (e) =>
      e instanceof UntrustedSignerError && /no trusted keys are published/.test(e.message) &&
      /Start the control plane first/.test(e.message),
  );
  await publishTrustedKeys(nats, [control.trustedKey]);
  await assert.rejects(
    () => requireTrustedSigner(nats, stranger, { who: "coordinator us-east" }),
    (e: Error) => {
      assert.ok(e instanceof UntrustedSignerError);
      assert.equal(
        e.message,
        `coordinator us-east signs with key ${stranger.keyId}, which agents do not trust ` +
          `(trusted: ${control.keyId}): start it with the control plane's signing key, or ` +
          "add the key to the trusted set (the control plane's trusted keys, and every " +
          "agent's trusted keys file)",
      );
      return true;
    },
  );
  // Same key id, another public key (a forged entry name): not trusted either.
  await assert.rejects(
    () =>
      requireTrustedSigner(nats, {
        keyId: control.keyId,
        trustedKey: { ...control.trustedKey, publicKey: stranger.trustedKey.publicKey },
      }),
    UntrustedSignerError,
  );
});

natsTest("a reader behind by two key sets reaches the newest one step at a time", async ({
  nats,
}) => {
  const a = new Signer(generateSigningKey());
  const b = new Signer(generateSigningKey());
  const meta = { at: new Date().toISOString(), by: "ops" };
  const s1 = KeySetRecord.parse(a.sign(firstKeySet(a.trustedKey, [], meta)));
  const s2 = KeySetRecord.parse(a.sign(rotatedKeySet(s1, b.trustedKey, meta)));
  const s3 = KeySetRecord.parse(b.sign(endedKeySet(s2, a.keyId, "retired", meta)));
  for (const s of [s1, s2, s3]) await storeKeySet(nats, s, ["us-east"]);
  assert.equal((await readKeySet(nats))?.seq, 3);
  assert.equal((await readKeySet(nats, 2))?.signature, s2.signature);
  // Set 3 is signed by b, which a reader trusting only a learns of from set 2.
  const taken = await fetchKeySet(nats, { current: s1, bootstrap: [] });
  assert.equal(taken !== "unchanged" && taken?.seq, 3);
  assert.equal(await fetchKeySet(nats, { current: s3, bootstrap: [] }), "unchanged");
  assert.equal(
    (await fetchKeySet(nats, { current: null, bootstrap: [a.trustedKey] }) as KeySetRecord).seq,
    3,
  );
  // Nobody trusted: refused.
  const stranger = new Signer(generateSigningKey());
  await assert.rejects(
    () => fetchKeySet(nats, { current: null, bootstrap: [stranger.trustedKey] }),
    KeySetError,
  );
  // A second writer of the same seq loses.
  const rival = KeySetRecord.parse(b.sign({ ...rotatedKeySet(s2, stranger.trustedKey, meta) }));
  await assert.rejects(() => storeKeySet(nats, { ...rival, seq: 3 }, []), KeySetConflictError);
  // Coordinators: the trusted keys are the set's active ones; a retired key is named so.
  assert.deepEqual((await readTrustedKeys(nats)).map((k) => k.keyId), [b.keyId]);
  await requireTrustedSigner(nats, b);
  await assert.rejects(() => requireTrustedSigner(nats, a, { who: "coordinator us-east" }), {
    name: "UntrustedSignerError",
    message: new RegExp(
      `${a.keyId}, which is retired in key set 3 .*current signing key ${b.keyId}`,
    ),
  });
});
