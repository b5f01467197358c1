import assert from "node:assert/strict";
import { connectAs, natsTest } from "@atlas/testkit";
import { JetStreamPublishError, StreamPublisher } from "./stream_publish.ts";
import { isCasConflict, isTransient } from "./retry.ts";
import { AtlasErrorCode, Buckets } from "@atlas/core";

natsTest("a stream publish is stored once per message id, and says so", async ({ nats }) => {
  await nats.jsm.streams.add({ name: "T", subjects: ["atlas.t.>"] });
  const publisher = new StreamPublisher(nats.nc);
  const first = await publisher.publish("atlas.t.a", "one", { msgID: "m1" });
  assert.deepEqual(first, { stream: "T", seq: 1, duplicate: false });
  const again = await publisher.publish("atlas.t.a", "one", { msgID: "m1" });
  assert.deepEqual(again, { stream: "T", seq: 1, duplicate: true });
  // Concurrent publishes each get their own answer.
  const seqs = await Promise.all(
    ["x", "y", "z"].map((d, i) => publisher.publish("atlas.t.b", d, { msgID: `c${i}` })),
  );
  assert.deepEqual(seqs.map((a) => a.seq).sort(), [2, 3, 4]);
  assert.equal((await nats.jsm.streams.info("T")).state.messages, 4);
});

natsTest(
  "a stream publish carries headers: a create-only write is refused once taken",
  async ({ nats }) => {
    await nats.jsm.streams.add({ name: "T", subjects: ["atlas.t.>"] });
    const publisher = new StreamPublisher(nats.nc);
    const createOnly = { headers: { "Nats-Expected-Last-Subject-Sequence": "0" } };
    assert.equal((await publisher.publish("atlas.t.a", "first", createOnly)).seq, 1);
    const refused = await publisher.publish("atlas.t.a", "second", createOnly).catch((e) => e);
    assert.ok(isCasConflict(refused), String(refused));
    assert.match(String(refused), /refused the publish to atlas\.t\.a: wrong last sequence: 1/);
    assert.ok(refused instanceof JetStreamPublishError);
    assert.deepEqual(
      [refused.code, refused.status, refused.errCode, refused.subject],
      [AtlasErrorCode.casConflict, 400, 10071, "atlas.t.a"],
    );
    // The expected sequence of the subject's last message lets the next write in.
    const next = { headers: { "Nats-Expected-Last-Subject-Sequence": "1" } };
    assert.equal((await publisher.publish("atlas.t.a", "second", next)).seq, 2);
    const last = await nats.jsm.streams.getMessage("T", { last_by_subj: "atlas.t.a" });
    assert.equal(last?.string(), "second");
  },
);

natsTest(
  "a refused, unheard or unanswered stream publish rejects with the reason",
  async ({ nats }) => {
    await nats.jsm.streams.add({ name: "SMALL", subjects: ["atlas.small.>"], max_msg_size: 8 });
    const publisher = new StreamPublisher(nats.nc);
    const big = await publisher.publish("atlas.small.a", "more than eight bytes").catch((e) => e);
    assert.match(
      String(big),
      /JetStream refused the publish to atlas\.small\.a: message size exceeds maximum allowed \(error 10054\)/,
    );
    assert.ok(big instanceof JetStreamPublishError);
    assert.deepEqual([big.code, big.errCode], [AtlasErrorCode.jetstream, 10054]);
    assert.equal(isTransient(big) || isCasConflict(big), false);
    const unheard = await publisher.publish("atlas.nobody.a", "x").catch((e) => e);
    assert.match(String(unheard), /no stream stores atlas\.nobody\.a \(no responders\)/);
    assert.ok(unheard instanceof JetStreamPublishError);
    assert.deepEqual([unheard.code, unheard.status], [AtlasErrorCode.unavailable, 503]);
    assert.ok(isTransient(unheard));
    // A listener that never answers: the publish times out instead of waiting forever.
    const mute = nats.nc.subscribe("atlas.mute.>");
    await nats.nc.flush();
    const unanswered = await publisher.publish("atlas.mute.a", "x", { timeoutMs: 300 }).catch((e) =>
      e
    );
    assert.match(String(unanswered), /timed out waiting for the stream to store atlas\.mute\.a/);
    assert.ok(isTransient(unanswered));
    mute.unsubscribe();
  },
);

natsTest("stream publishes waiting when the connection closes are rejected", async ({ urls }) => {
  const nats = await connectAs(urls, "control");
  const publisher = new StreamPublisher(nats.nc);
  const mute = nats.nc.subscribe("atlas.mute.>");
  const waiting = publisher.publish("atlas.mute.a", "x", { timeoutMs: 60_000 });
  await nats.nc.flush();
  mute.unsubscribe();
  await nats.nc.close();
  await assert.rejects(waiting, /the connection closed before the stream stored atlas\.mute\.a/);
});

natsTest("a KV put and compare-and-set write through the publisher", async ({ nats }) => {
  const kv = await nats.kv(Buckets.configs);
  const first = await nats.kvWrite(Buckets.configs, "web", '{"v":1}', 0);
  const taken = await nats.kvWrite(Buckets.configs, "web", '{"v":"lost"}', 0).catch((e) => e);
  assert.ok(isCasConflict(taken), String(taken));
  const stale = await nats.kvWrite(Buckets.configs, "web", '{"v":"lost"}', first - 1)
    .catch((e) => e);
  assert.ok(isCasConflict(stale), String(stale));
  const second = await nats.kvWrite(Buckets.configs, "web", '{"v":2}', first);
  const entry = await kv.get("web");
  assert.deepEqual([entry?.revision, entry?.json()], [second, { v: 2 }]);
  // Without a revision it is a plain put, over whatever is there.
  const third = await nats.kvWrite(Buckets.configs, "web", '{"v":3}');
  assert.deepEqual([third > second, (await kv.get("web"))?.json()], [true, { v: 3 }]);
  await assert.rejects(
    nats.kvWrite("atlas_no_such_bucket", "web", "{}", 0),
    /no stream stores \$KV\.atlas_no_such_bucket\.web \(no responders\)/,
  );
});
