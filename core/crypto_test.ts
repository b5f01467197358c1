import assert from "node:assert/strict";
import {
  canonicalJson,
  generateSigningKey,
  sha256Hex,
  SignatureError,
  Signer,
  Verifier,
} from "./crypto.ts";

Deno.test("canonical JSON sorts keys at every depth and drops undefined", () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, { d: null, c: "x" }], u: undefined }),
    '{"a":[true,{"c":"x","d":null}],"b":1}',
  );
});

Deno.test("sha256Hex matches the known digest of 'abc'", () => {
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("a signed record verifies, and any change to it does not", () => {
  const signer = new Signer(generateSigningKey());
  const verifier = new Verifier([signer.trustedKey]);
  const rec = signer.sign({ config: "web", version: 3, nested: { a: 1 } });
  verifier.verify("version", rec);
  assert.throws(() => verifier.verify("version", { ...rec, version: 4 }), SignatureError);
  assert.throws(() => verifier.verify("version", { ...rec, nested: { a: 2 } }), SignatureError);
});

Deno.test("a verifier that remembers good records still refuses any change to them", () => {
  const a = new Signer(generateSigningKey());
  const b = new Signer(generateSigningKey());
  const verifier = new Verifier([a.trustedKey, b.trustedKey], { remember: 2 });
  const rec = a.sign({ config: "web", version: 3 });
  for (let i = 0; i < 3; i++) verifier.verify("version", rec); // checked, then remembered
  assert.throws(() => verifier.verify("version", { ...rec, version: 4 }), SignatureError);
  assert.throws(() => verifier.verify("version", { ...rec, keyId: b.keyId }), SignatureError);
  const other = a.sign({ config: "web", version: 5 });
  assert.throws(
    () => verifier.verify("version", { ...rec, signature: other.signature }),
    SignatureError,
  );
  // More good records than it remembers: the oldest is checked again, and still passes.
  for (let v = 6; v < 10; v++) verifier.verify("version", a.sign({ config: "web", version: v }));
  verifier.verify("version", rec);
});

Deno.test("a signer's own verifier takes what it signed, and refuses any change to it", () => {
  const signer = new Signer(generateSigningKey());
  const other = new Signer(generateSigningKey());
  const rec = signer.sign({ config: "web", version: 3, nested: { a: 1 } });
  signer.verifier.verify("version", rec);
  assert.throws(() => signer.verifier.verify("version", { ...rec, version: 4 }), SignatureError);
  assert.throws(
    () => signer.verifier.verify("version", { ...rec, signature: signer.sign({ x: 1 }).signature }),
    SignatureError,
  );
  // Another key's records are not its own, signed or not.
  assert.throws(() => signer.verifier.verify("version", other.sign({ x: 1 })), SignatureError);
});

Deno.test("a record signed by an unknown key is refused with the key id in the error", () => {
  const trusted = new Signer(generateSigningKey());
  const stranger = new Signer(generateSigningKey());
  const verifier = new Verifier([trusted.trustedKey]);
  assert.throws(
    () => verifier.verify("pointer", stranger.sign({ x: 1 })),
    (e: unknown) => e instanceof SignatureError && e.message.includes(stranger.keyId),
  );
});

Deno.test("moving a signature to another trusted key id fails", () => {
  const a = new Signer(generateSigningKey());
  const b = new Signer(generateSigningKey());
  const verifier = new Verifier([a.trustedKey, b.trustedKey]);
  const rec = a.sign({ x: 1 });
  assert.throws(() => verifier.verify("r", { ...rec, keyId: b.keyId }), SignatureError);
});

Deno.test("an embedded record is proven by its pointer's key, and checked under any other", () => {
  const current = new Signer(generateSigningKey());
  const older = new Signer(generateSigningKey());
  const verifier = new Verifier([current.trustedKey, older.trustedKey]);
  const altered = (rec: { keyId: string; signature: string }) => ({ ...rec, version: 99 });
  // Same key as the pointer: the pointer's verified signature already covers the record.
  verifier.verifyEmbedded("version", altered(current.sign({ version: 1 })), current.keyId);
  // Another key: checked here, and an alteration is caught.
  verifier.verifyEmbedded("version", older.sign({ version: 1 }), current.keyId);
  assert.throws(
    () => verifier.verifyEmbedded("version", altered(older.sign({ version: 1 })), current.keyId),
    SignatureError,
  );
});

Deno.test("canonical JSON sorts integer-like and __proto__ keys as strings, like any key", () => {
  const record = JSON.parse('{"b":1,"10":2,"2":3,"__proto__":4,"a":{"9":5,"x":[{"1":6}]}}');
  assert.equal(
    canonicalJson(record),
    '{"10":2,"2":3,"__proto__":4,"a":{"9":5,"x":[{"1":6}]},"b":1}',
  );
  assert.equal(
    canonicalJson({ a: [{ z: 1, y: "é\\n\u2028" }], n: -0.5 }),
    '{"a":[{"y":"é\\\\n\u2028","z":1}],"n":-0.5}',
  );
  assert.throws(() => canonicalJson({ a: [1, Infinity] }), TypeError);
  assert.throws(() => canonicalJson({ a: { b: NaN } }), TypeError);
});
