import assert from "node:assert/strict";
import {
  acceptKeySet,
  endedKeySet,
  firstKeySet,
  KeySetError,
  KeySetRecord,
  rotatedKeySet,
  SignatureError,
  Signer,
  verifierOfKeySet,
} from "./mod.ts";
import { generateSigningKey } from "./crypto.ts";

const meta = { at: "2026-11-28T12:00:00.000Z", by: "alice" };
const a = new Signer(generateSigningKey());
const b = new Signer(generateSigningKey());
const stranger = new Signer(generateSigningKey());

function signed(signer: Signer, set: object): KeySetRecord {
  return KeySetRecord.parse(signer.sign(set as Record<string, unknown>));
}

Deno.test("a rotation signed by the key in force is taken; old and new keys both verify", () => {
  const s1 = signed(a, firstKeySet(a.trustedKey, [], meta));
  assert.equal(acceptKeySet(s1, { current: null, bootstrap: [a.trustedKey] }), s1);
  const s2 = signed(a, rotatedKeySet(s1, b.trustedKey, meta));
  assert.equal(acceptKeySet(s2, { current: s1, bootstrap: [] }), s2);
  assert.equal(s2.signing, b.keyId);
  const v = verifierOfKeySet(s2);
  v.verify("x", a.sign({ n: 1 }));
  v.verify("y", b.sign({ n: 2 }));
  assert.equal(acceptKeySet(s2, { current: s2, bootstrap: [] }), "unchanged");
});

Deno.test("a revoked key verifies nothing and says it was revoked", () => {
  const s1 = signed(a, firstKeySet(a.trustedKey, [], meta));
  const s2 = signed(a, rotatedKeySet(s1, b.trustedKey, meta));
  const s3 = signed(b, endedKeySet(s2, a.keyId, "revoked", meta));
  acceptKeySet(s3, { current: s2, bootstrap: [] });
  const v = verifierOfKeySet(s3);
  assert.throws(() => v.verify("version web v1", a.sign({ n: 1 })), (e: Error) => {
    assert.ok(e instanceof SignatureError);
    assert.match(e.message, /revoked in key set 3/);
    return true;
  });
  v.verify("y", b.sign({ n: 2 }));
});

Deno.test("a forged key set is refused: bad signature, older seq, untrusted signer", () => {
  const s1 = signed(a, firstKeySet(a.trustedKey, [], meta));
  const s2 = signed(a, rotatedKeySet(s1, b.trustedKey, meta));
  // Tampered after signing: b's entry swapped for the stranger's.
  const tampered = {
    ...s2,
    keys: s2.keys.map((
      k,
    ) => (k.keyId === b.keyId ? { ...k, publicKey: stranger.trustedKey.publicKey } : k)),
  };
  assert.throws(() => acceptKeySet(tampered, { current: s1, bootstrap: [] }), /invalid signature/);
  assert.throws(() => acceptKeySet(s1, { current: s2, bootstrap: [] }), /not newer/);
  const forged = signed(stranger, rotatedKeySet(s1, stranger.trustedKey, meta));
  assert.throws(() => acceptKeySet(forged, { current: s1, bootstrap: [] }), /not trusted now/);
  assert.throws(
    () => acceptKeySet(s1, { current: null, bootstrap: [stranger.trustedKey] }),
    KeySetError,
  );
  // A revoked key cannot sign, nor be brought back.
  const s3 = signed(b, endedKeySet(s2, a.keyId, "revoked", meta));
  const byRevoked = signed(a, {
    ...s3,
    seq: 4,
    signing: a.keyId,
    keys: s3.keys.map((k) => ({ ...k, status: "active" })),
    keyId: undefined,
    signature: undefined,
  });
  assert.throws(() => acceptKeySet(byRevoked, { current: s3, bootstrap: [] }), /not trusted now/);
  const revived = signed(b, {
    ...s3,
    seq: 4,
    keys: s3.keys.map((k) => ({ ...k, status: "active" })),
    keyId: undefined,
    signature: undefined,
  });
  assert.throws(() => acceptKeySet(revived, { current: s3, bootstrap: [] }), /final/);
});

Deno.test("the signing key cannot be retired or revoked before a rotation", () => {
  const s1 = signed(a, firstKeySet(a.trustedKey, [], meta));
  assert.throws(() => endedKeySet(s1, a.keyId, "retired", meta), /rotate first/);
  assert.throws(() => endedKeySet(s1, "ed25519-nope", "revoked", meta), /not in key set/);
  const s2 = signed(a, rotatedKeySet(s1, b.trustedKey, meta));
  const s3 = signed(b, endedKeySet(s2, a.keyId, "retired", meta));
  assert.throws(() => endedKeySet(s3, a.keyId, "retired", meta), /already/);
  // A retired key may still be revoked (found compromised later).
  acceptKeySet(signed(b, endedKeySet(s3, a.keyId, "revoked", meta)), {
    current: s3,
    bootstrap: [],
  });
});
