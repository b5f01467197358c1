import assert from "node:assert/strict";
import { generateSigningKey, sha256Hex, SignatureError, Signer, Verifier } from "./crypto.ts";
import { targetOf } from "./share.ts";
import { PointerRecord, VersionRecord } from "./schemas.ts";
import {
  ContentMismatchError,
  inlineBytes,
  verifyContent,
  verifyPointer,
  verifyTarget,
} from "./verify.ts";

const signer = new Signer(generateSigningKey());
const verifier = new Verifier([signer.trustedKey]);
const content = new TextEncoder().encode('{"n":1}');

function version(config: string, n: number, by = signer): VersionRecord {
  return VersionRecord.parse(by.sign({
    config,
    version: n,
    digest: sha256Hex(content),
    size: content.length,
    contentType: "application/json",
    author: "t",
    message: "",
    createdAt: new Date().toISOString(),
  }));
}

function pointer(
  active: VersionRecord,
  candidate?: PointerRecord["candidate"],
  by = signer,
): PointerRecord {
  return PointerRecord.parse(by.sign({
    config: "web",
    region: "us-east",
    seq: 3,
    active,
    history: [],
    ...(candidate ? { candidate } : {}),
    reason: "test",
    issuedAt: new Date().toISOString(),
    issuedBy: "test",
  }));
}

Deno.test("verifyPointer refuses an altered pointer and one by an untrusted key", () => {
  const p = pointer(version("web", 1));
  verifyPointer(verifier, p);
  assert.throws(() => verifyPointer(verifier, { ...p, seq: 99 }), SignatureError);
  const stranger = new Signer(generateSigningKey());
  assert.throws(
    () => verifyPointer(verifier, pointer(version("web", 1), undefined, stranger)),
    /untrusted key/,
  );
});

Deno.test("verifyTarget refuses a version of another config and an altered foreign version", () => {
  const other = version("api", 1);
  assert.throws(
    () => verifyTarget(verifier, pointer(other), other),
    /pointer for web names a version of api/,
  );
  // Signed by another (trusted) key than the pointer's: checked on its own.
  const older = new Signer(generateSigningKey());
  const both = new Verifier([signer.trustedKey, older.trustedKey]);
  const foreign = version("web", 2, older);
  verifyTarget(both, pointer(foreign), foreign);
  const altered = { ...foreign, size: foreign.size + 1 };
  assert.throws(() => verifyTarget(both, pointer(foreign), altered), SignatureError);
});

Deno.test("verifyContent checks both the digest and the size", () => {
  const v = version("web", 1);
  verifyContent(v, content, "the notice");
  assert.throws(
    () => verifyContent(v, new TextEncoder().encode('{"n":2}'), "the notice"),
    (e) => e instanceof ContentMismatchError && /from the notice/.test(e.message),
  );
  // Right digest, wrong size: a version record can only claim what was signed.
  assert.throws(
    () => verifyContent({ ...v, size: v.size + 1 }, content, "x"),
    ContentMismatchError,
  );
  assert.deepEqual(
    inlineBytes({ [v.digest]: Buffer.from(content).toString("base64") }, v.digest),
    content,
  );
  assert.equal(inlineBytes({}, v.digest), undefined);
});

Deno.test("a preflight candidate is never a target: every reader runs active", () => {
  const active = version("web", 1);
  const next = version("web", 2);
  const selector = { percent: 100, agents: ["sdk-1"], exclude: [] };
  const rollout = { version: next, rolloutId: "r1", selector };
  assert.equal(targetOf(pointer(active, rollout), "sdk-1").version, 2, "a chosen reader");
  const preflight = pointer(active, { ...rollout, preflight: true });
  assert.equal(targetOf(preflight, "sdk-1").version, 1);
  assert.equal(targetOf(preflight, "other").version, 1);
});
