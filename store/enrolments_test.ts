import assert from "node:assert/strict";
import { AckIdentity, type AckRecord, Buckets } from "@atlas/core";
import { createUser } from "@nats-io/nkeys";
import { natsTest, waitFor } from "@atlas/testkit";
import {
  EnrolmentBook,
  EnrolmentNotFoundError,
  readEnrolment,
  recordEnrolment,
  revokeEnrolment,
} from "./enrolments.ts";
import { provision } from "./provision.ts";

function identity(): AckIdentity {
  return new AckIdentity(new TextDecoder().decode(createUser().getSeed()));
}

const ack: AckRecord = {
  agent: "a1",
  region: "us-east",
  config: "web",
  version: 1,
  digest: "1".repeat(64),
  seq: 1,
  status: "applied",
  latencyMs: 1,
  at: "2026-01-01T00:00:00.000Z",
};
const storage = { subject: { region: "us-east", config: "web", agent: "a1" }, storedAt: 0 };

natsTest("enrolments are recorded, revoked and followed by the book", async ({ nats }) => {
  await provision(nats);
  assert.ok(await nats.streamInfo(`KV_${Buckets.enrolments}`), "provisioned");
  const first = identity();
  await recordEnrolment(nats, { region: "us-east", agent: "a1", publicKey: first.publicKey });
  await using book = new EnrolmentBook(nats, { region: "us-east" });
  await book.ready();
  assert.equal(book.get("us-east", "a1")?.publicKey, first.publicKey);
  const loaded = book.revision;
  assert.ok(loaded > 0, "the snapshot moved the revision");
  assert.deepEqual(book.verdict(first.sign(ack), storage), {
    counts: true,
    publicKey: first.publicKey,
  });

  // Re-enrolment with a new key: the old key proves only what was stored before.
  const second = identity();
  const reenrolled = await recordEnrolment(nats, {
    region: "us-east",
    agent: "a1",
    publicKey: second.publicKey,
  });
  assert.deepEqual(reenrolled.previousKeys, [{
    publicKey: first.publicKey,
    retiredAt: reenrolled.enrolledAt,
  }]);
  await waitFor(
    "the book sees the new key",
    () => Promise.resolve(book.get("us-east", "a1")?.publicKey === second.publicKey),
  );
  assert.deepEqual(book.verdict(first.sign(ack), storage), {
    counts: true,
    publicKey: first.publicKey,
  });
  assert.ok(book.revision > loaded, "a change moves the revision");
  const afterwards = { ...storage, storedAt: Date.parse(reenrolled.enrolledAt) };
  assert.deepEqual(book.verdict(first.sign(ack), afterwards), {
    counts: false,
    reason: "bad-signature",
  });
  assert.deepEqual(book.verdict(second.sign(ack), afterwards), {
    counts: true,
    publicKey: second.publicKey,
  });

  const revoked = await revokeEnrolment(nats, { region: "us-east", agent: "a1" });
  assert.ok(revoked.revokedAt);
  const again = await revokeEnrolment(nats, { region: "us-east", agent: "a1" });
  assert.equal(again.revokedAt, revoked.revokedAt, "revoking twice keeps the first time");
  await waitFor(
    "the book sees the revocation",
    () => Promise.resolve(book.get("us-east", "a1")?.revokedAt !== undefined),
  );
  const late = { ...storage, storedAt: Date.parse(revoked.revokedAt!) + 1 };
  assert.deepEqual(book.verdict(second.sign(ack), late), { counts: false, reason: "revoked" });
  assert.equal((await readEnrolment(nats, "us-east", "a1"))?.revokedAt, revoked.revokedAt);

  // Other regions are not this book's.
  await recordEnrolment(nats, { region: "eu-west", agent: "a1", publicKey: first.publicKey });
  assert.equal(book.get("eu-west", "a1"), undefined);
});

natsTest("enrolment refuses a key that is not an nkey user key, revoke an unknown agent", async ({
  nats,
}) => {
  await provision(nats);
  await assert.rejects(
    recordEnrolment(nats, { region: "us-east", agent: "a1", publicKey: "not-a-key" }),
    /not an nkey user public key \(U\.\.\.\); give the public key of the agent's \.creds/,
  );
  await assert.rejects(
    revokeEnrolment(nats, { region: "us-east", agent: "ghost" }),
    EnrolmentNotFoundError,
  );
});

natsTest("a book looks up one enrolment: news once, then nothing new", async ({ nats }) => {
  await provision(nats);
  await using book = new EnrolmentBook(nats, { region: "us-east" });
  await book.ready();
  const id = identity();
  await recordEnrolment(nats, { region: "us-east", agent: "a9", publicKey: id.publicKey });
  // Either the follow or the look-up brings it; a second look-up finds nothing new.
  await book.lookUp("us-east", "a9");
  assert.equal(book.get("us-east", "a9")?.publicKey, id.publicKey);
  assert.equal(await book.lookUp("us-east", "a9"), false);
  assert.equal(await book.lookUp("us-east", "never-enrolled"), false);
  assert.equal(book.get("us-east", "never-enrolled"), undefined);
});
