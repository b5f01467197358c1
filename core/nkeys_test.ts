import assert from "node:assert/strict";
import { createCurve, createUser, fromPublic, fromSeed, Prefix } from "@nats-io/nkeys";
import { decode } from "@nats-io/jwt";
import { decodeNatsJwt, NativeKeyPair, NkeyError, verifyNkeySignature } from "./nkeys.ts";
import {
  createAuthSetup,
  credsSigner,
  issueCreds,
  issuerOf,
  parseCredsText,
} from "./credentials.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("a native key pair is the key @nats-io/nkeys makes from the same seed", () => {
  const theirs = createUser();
  const mine = NativeKeyPair.fromSeed(text(theirs.getSeed()));
  assert.equal(mine.getPublicKey(), theirs.getPublicKey());
  assert.deepEqual(mine.getPrivateKey(), theirs.getPrivateKey());
  // Ed25519 is deterministic: the same signature, and each library verifies the other's.
  const data = bytes("nonce-123");
  assert.deepEqual(mine.sign(data), theirs.sign(data));
  assert.ok(fromPublic(mine.getPublicKey()).verify(data, mine.sign(data)));
  assert.ok(mine.verify(data, theirs.sign(data)));
  assert.ok(!mine.verify(bytes("nonce-124"), theirs.sign(data)));

  const made = NativeKeyPair.create(Prefix.Account);
  assert.match(made.getPublicKey(), /^A[A-Z2-7]{55}$/);
  assert.equal(fromSeed(made.getSeed()).getPublicKey(), made.getPublicKey());
});

Deno.test("a damaged, curve or cleared seed cannot sign, and says why", () => {
  const seed = text(createUser().getSeed());
  const damaged = seed.slice(0, 20) + (seed[20] === "A" ? "B" : "A") + seed.slice(21);
  assert.throws(
    () => NativeKeyPair.fromSeed(damaged),
    (e: Error) => e instanceof NkeyError && /Not a valid nkey seed/.test(e.message),
  );
  assert.throws(() => NativeKeyPair.fromSeed("SUnotaseed"), NkeyError);
  assert.throws(() => NativeKeyPair.fromSeed(text(createCurve().getSeed())), /curve/);
  const kp = NativeKeyPair.fromSeed(seed);
  kp.clear();
  assert.throws(() => kp.sign(bytes("x")), /cleared/);
  assert.equal(verifyNkeySignature("UNOTAKEY", bytes("x"), new Uint8Array(64)), false);
});

Deno.test("JWTs signed natively decode with @nats-io/jwt, and a tampered one is refused", async () => {
  const setup = await createAuthSetup();
  const { creds, publicKey } = await issueCreds(issuerOf(setup), { kind: "reader" });
  const { jwt } = parseCredsText(creds);
  const theirs = decode(jwt); // @nats-io/jwt checks the signature with its own Ed25519
  assert.deepEqual(decodeNatsJwt(jwt), theirs);
  assert.equal(theirs.sub, publicKey);
  for (const j of [setup.operator.jwt, setup.atlas.jwt, setup.system.jwt]) {
    assert.deepEqual(decodeNatsJwt(j), decode(j));
  }
  const [h, b, s] = jwt.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(b, "base64url").toString());
  const forged = `${h}.${
    Buffer.from(JSON.stringify({ ...claims, name: "control" })).toString("base64url")
  }.${s}`;
  assert.throws(() => decode(forged), /sig verification failed/);
  assert.throws(
    () => decodeNatsJwt(forged),
    (e: Error) => e instanceof NkeyError && /signature does not verify/.test(e.message),
  );
  assert.throws(() => decodeNatsJwt("a.b"), /3/);
});

Deno.test("a creds signer signs the nonce as the JWT's user", async () => {
  const setup = await createAuthSetup();
  const { creds, publicKey } = await issueCreds(issuerOf(setup), { kind: "reader" });
  const signer = credsSigner(creds);
  assert.equal(signer.publicKey, publicKey);
  const sig = Buffer.from(signer.signNonce("abc"), "base64url");
  assert.ok(fromPublic(publicKey).verify(bytes("abc"), sig));
});
