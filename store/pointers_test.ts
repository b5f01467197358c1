import assert from "node:assert/strict";
import { natsTest } from "@atlas/testkit";
import {
  generateSigningKey,
  PointerNotice,
  type PointerRecord,
  SignatureError,
  Signer,
  Streams,
  Subjects,
  Verifier,
  VersionRecord,
} from "@atlas/core";
import { readPointer, type StoredPointer, writePointer } from "./pointers.ts";
import { listRegions, provision, provisionRegion } from "./provision.ts";

const signer = new Signer(generateSigningKey());

function version(n: number): VersionRecord {
  return VersionRecord.parse(signer.sign({
    config: "web",
    version: n,
    digest: "a".repeat(64),
    size: 1,
    contentType: "text/plain",
    author: "t",
    message: "",
    createdAt: new Date().toISOString(),
  }));
}

natsTest("provisioning twice changes nothing and lists the regions", async ({ nats }) => {
  await provision(nats);
  await provisionRegion(nats, "us-east");
  assert.deepEqual((await listRegions(nats)).map((r) => r.name), ["eu-west", "us-east"]);
});

natsTest("provisioning brings the limits of an older acks stream up to date", async ({ nats }) => {
  // As an older Atlas made it: 16 acks per subject, which made every apply pay on 2.9.
  await nats.jsm.streams.delete(Streams.acks);
  await nats.jsm.streams.add({
    name: Streams.acks,
    subjects: ["atlas.ack.>"],
    max_msgs_per_subject: 16,
  });
  await nats.js.publish(Subjects.ack("us-east", "web", "a1"), "{}");
  await provision(nats);
  const info = await nats.jsm.streams.info(Streams.acks);
  assert.equal(info.config.max_msgs_per_subject, -1);
  assert.equal(info.config.max_bytes, 1024 ** 3);
  assert.equal(info.state.messages, 1, "nothing stored is lost");
});

natsTest("pointer writes are signed, seq grows, and a notice follows each", async ({ nats }) => {
  const notices: PointerNotice[] = [];
  const sub = nats.nc.subscribe(Subjects.notifyRegion("us-east"), {
    callback: (_e, m) => {
      notices.push(PointerNotice.parse(m.json()));
    },
  });
  await nats.nc.flush();
  for (const n of [1, 2]) {
    await writePointer(nats, signer, "us-east", "web", (cur) => ({
      active: version(n),
      history: cur ? [cur.active.version, ...cur.history] : [],
      reason: "activate",
    }), { issuedBy: "test", inline: { ["a".repeat(64)]: new Uint8Array([1]) } });
  }
  await nats.nc.flush();
  const stored = await readPointer(nats, "us-east", "web");
  assert.equal(stored?.pointer.seq, 2);
  assert.deepEqual(stored?.pointer.history, [1]);
  new Verifier([signer.trustedKey]).verify("pointer", stored!.pointer);
  assert.deepEqual(notices.map((n) => n.pointer.seq), [1, 2]);
  assert.equal(notices[0]!.blobs["a".repeat(64)], "AQ==");
  sub.unsubscribe();
});

natsTest(
  "a version record altered in its bucket is refused, never signed over",
  async ({ nats }) => {
    // Agents take what a pointer's signature covers as proven (Verifier.verifyEmbedded).
    const altered = { ...version(1), digest: "b".repeat(64) };
    await assert.rejects(
      writePointer(nats, signer, "us-east", "web", () => ({
        active: altered,
        history: [],
        reason: "activate",
      }), { issuedBy: "test" }),
      (e: unknown) =>
        e instanceof SignatureError && /version web v1 has an invalid/.test(String(e)),
    );
    assert.equal(await readPointer(nats, "us-east", "web"), null);
    // A record under another key is not this signer's to vouch for: embedded as is, and
    // checked by every agent (agent_test: "a version under another trusted key").
    const other = new Signer(generateSigningKey());
    const foreign = VersionRecord.parse(other.sign(version(2)));
    const stored = await writePointer(nats, signer, "us-east", "web", () => ({
      active: foreign,
      history: [],
      reason: "activate",
    }), { issuedBy: "test" });
    assert.equal(stored?.active.keyId, other.keyId);
  },
);

natsTest("concurrent pointer writers never lose an update", async ({ nats }) => {
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      writePointer(nats, signer, "eu-west", "web", (cur) => ({
        active: version(i + 1),
        history: cur ? [cur.active.version, ...cur.history] : [],
        reason: `writer ${i}`,
      }), { issuedBy: "test", attempts: 50 })),
  );
  const stored = await readPointer(nats, "eu-west", "web");
  assert.equal(stored?.pointer.seq, 8);
  assert.equal(stored?.pointer.history.length, 7);
});

natsTest(
  "a write built on a stale guess of the pointer is redone on the real one",
  async ({ nats }) => {
    const push = (n: number) => (cur: PointerRecord | null) => ({
      active: version(n),
      history: cur ? [cur.active.version, ...cur.history] : [],
      reason: "activate",
    });
    let remembered: StoredPointer | undefined;
    await writePointer(nats, signer, "us-east", "web", push(1), {
      issuedBy: "a",
      onStored: (s) => (remembered = s),
    });
    assert.equal(remembered?.pointer.seq, 1);
    const guess = remembered;
    // Someone else moves the pointer: the guess is now stale.
    await writePointer(nats, signer, "us-east", "web", push(2), { issuedBy: "b" });
    await writePointer(nats, signer, "us-east", "web", push(3), {
      issuedBy: "a",
      current: guess,
      onStored: (s) => (remembered = s),
    });
    const stored = await readPointer(nats, "us-east", "web");
    assert.equal(stored?.pointer.seq, 3);
    assert.deepEqual(stored?.pointer.history, [2, 1], "built on v2, not on the guess");
    assert.equal(remembered?.revision, stored?.revision);

    // A change that refuses the (stale) guess is asked again about the real pointer.
    const seen: number[] = [];
    await writePointer(nats, signer, "us-east", "web", (cur) => {
      seen.push(cur!.seq);
      if (cur!.seq < 3) throw new Error("refused on the guess");
      return null;
    }, { issuedBy: "a", current: guess });
    assert.deepEqual(seen, [1, 3]);
  },
);
