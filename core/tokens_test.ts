import assert from "node:assert/strict";
import {
  assertStrongSecret,
  estimateSecretBits,
  generateTokenId,
  generateTokenSecret,
  parseTokensFile,
  tokenDigest,
  tokenFileEntry,
  TokenId,
  tokenIsLive,
} from "./tokens.ts";

Deno.test("generated secrets are strong and distinct; ids have their shape", () => {
  const a = generateTokenSecret();
  const b = generateTokenSecret();
  assert.notEqual(a, b);
  assert.match(a, /^atlas_[A-Za-z0-9_-]{43}$/);
  assertStrongSecret(a);
  assert.ok(estimateSecretBits(a) > 200);
  assert.ok(TokenId.safeParse(generateTokenId()).success);
  assert.ok(TokenId.safeParse("file:alice").success);
  assert.ok(!TokenId.safeParse("tok_xyz").success);
});

Deno.test("short, repetitive and spaced secrets are refused, saying how to make a good one", () => {
  for (
    const weak of ["hunter2", "x".repeat(100), "ab".repeat(40), "a b c d e f g h i j k l m n o p q"]
  ) {
    assert.throws(
      () => assertStrongSecret(weak),
      (e: Error) =>
        e instanceof RangeError && /at least 32 characters.*openssl rand/.test(e.message),
      weak,
    );
  }
  assertStrongSecret("Zq8v0-Jk3Lw9_Xc2Rt5Yb7Nm1Pa4Sd6Fg8Hh0Jj2Kk4");
});

Deno.test("a tokens file holds digests; plain secrets, bad fields and duplicates are refused", () => {
  const entry = tokenFileEntry("alice", "admin", "s");
  assert.deepEqual(entry, { name: "alice", role: "admin", sha256: tokenDigest("s") });
  assert.deepEqual(parseTokensFile(JSON.stringify([entry]), "t.json"), [entry]);
  assert.throws(
    () => parseTokensFile(JSON.stringify([{ name: "a", token: "s", role: "reader" }]), "t.json"),
    /t\.json holds a plain secret .*tokens hash --name a --role reader/,
  );
  assert.throws(() => parseTokensFile("{", "t.json"), /t\.json is not JSON/);
  assert.throws(
    () => parseTokensFile(JSON.stringify([{ ...entry, extra: 1 }]), "t.json"),
    /must be a list of/,
  );
  assert.throws(
    () => parseTokensFile(JSON.stringify([entry, { ...entry, role: "reader" }]), "t.json"),
    /names "alice" twice/,
  );
});

Deno.test("a token is live until revoked or past its expiry", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  assert.ok(tokenIsLive({}, now));
  assert.ok(tokenIsLive({ expiresAt: "2026-01-01T00:00:01Z" }, now));
  assert.ok(!tokenIsLive({ expiresAt: "2026-01-01T00:00:00Z" }, now));
  assert.ok(!tokenIsLive({ revokedAt: "2025-12-31T00:00:00Z" }, now));
});
