import assert from "node:assert/strict";
import { generateSigningKey, Signer } from "@atlas/core";
import {
  publishTrustedKeys,
  readTrustedKeys,
  requireTrustedSigner,
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
