import assert from "node:assert/strict";
import { createUser } from "@nats-io/nkeys";
import {
  AckIdentity,
  AckRejection,
  ackSignedBytes,
  ackVerdict,
  verifyAck,
} from "./ack_signature.ts";
import type { AckRecord, EnrolmentRecord } from "./schemas.ts";

function newIdentity(): AckIdentity {
  return new AckIdentity(new TextDecoder().decode(createUser().getSeed()));
}

const ack: AckRecord = {
  agent: "a1",
  region: "us-east",
  config: "web",
  version: 2,
  digest: "0".repeat(64),
  seq: 3,
  status: "failed",
  latencyMs: 5,
  at: "2026-01-01T00:00:00.000Z",
};
const subject = { region: "us-east", config: "web", agent: "a1" };

function enrolment(publicKey: string, revokedAt?: string): EnrolmentRecord {
  return {
    region: "us-east",
    agent: "a1",
    publicKey,
    enrolledAt: "2026-01-01T00:00:00.000Z",
    ...(revokedAt ? { revokedAt } : {}),
  };
}

Deno.test("an ack signed by the enrolled key counts, and nacl agrees with the signature", () => {
  const seed = createUser();
  const id = new AckIdentity(new TextDecoder().decode(seed.getSeed()));
  assert.equal(id.publicKey, seed.getPublicKey());
  const signed = id.sign(ack);
  assert.ok(verifyAck(signed, id.publicKey));
  assert.ok(seed.verify(ackSignedBytes(signed), Buffer.from(signed.signature!, "base64url")));
  assert.deepEqual(ackVerdict(signed, { subject, storedAt: 0 }, enrolment(id.publicKey)), {
    counts: true,
    publicKey: id.publicKey,
  });
});

Deno.test("a forged ack does not count, with the reason", () => {
  const id = newIdentity();
  const other = newIdentity();
  const mine = enrolment(id.publicKey);
  const signed = id.sign(ack);
  const v = (a: AckRecord, e: EnrolmentRecord | undefined, s = subject, at = 0) =>
    ackVerdict(a, { subject: s, storedAt: at }, e);
  assert.deepEqual(v(ack, mine), { counts: false, reason: AckRejection.unsigned });
  assert.deepEqual(v({ ...signed, status: "applied" }, mine), {
    counts: false,
    reason: AckRejection.signature,
  });
  assert.deepEqual(v(other.sign(ack), mine), { counts: false, reason: AckRejection.signature });
  assert.deepEqual(v({ ...signed, signature: "AAAA" }, mine), {
    counts: false,
    reason: AckRejection.signature,
  });
  assert.deepEqual(v(signed, undefined), { counts: false, reason: AckRejection.unenrolled });
  assert.deepEqual(v(signed, mine, { ...subject, agent: "a2" }), {
    counts: false,
    reason: AckRejection.subject,
  });
  const revoked = enrolment(id.publicKey, "2026-01-01T00:00:10.000Z");
  assert.deepEqual(v(signed, revoked, subject, Date.parse("2026-01-01T00:00:10.000Z")), {
    counts: false,
    reason: AckRejection.revoked,
  });
  assert.deepEqual(v(signed, revoked, subject, Date.parse("2026-01-01T00:00:09.000Z")), {
    counts: true,
    publicKey: id.publicKey,
  });
});

Deno.test("an identity refuses a seed that is not an nkey user seed", () => {
  const account = new TextDecoder().decode(createUser().getSeed()).replace(/^SU/, "SA");
  assert.throws(() => new AckIdentity(account), /nkey user seed/);
  assert.throws(() => new AckIdentity("SUNOTASEED"), /not a valid nkey seed/);
  assert.equal(verifyAck(newIdentity().sign(ack), "UNOTAKEY"), false);
});

Deno.test("a key replaced by a new enrolment proves only acks stored before it was", () => {
  const old = newIdentity();
  const current = newIdentity();
  const e: EnrolmentRecord = {
    ...enrolment(current.publicKey),
    previousKeys: [{ publicKey: old.publicKey, retiredAt: "2026-01-01T00:00:10.000Z" }],
  };
  const at = (iso: string) => ({ subject, storedAt: Date.parse(iso) });
  assert.deepEqual(ackVerdict(old.sign(ack), at("2026-01-01T00:00:09.000Z"), e), {
    counts: true,
    publicKey: old.publicKey,
  });
  assert.deepEqual(ackVerdict(old.sign(ack), at("2026-01-01T00:00:10.000Z"), e), {
    counts: false,
    reason: AckRejection.signature,
  });
  assert.deepEqual(ackVerdict(current.sign(ack), at("2026-01-01T00:00:11.000Z"), e), {
    counts: true,
    publicKey: current.publicKey,
  });
});
