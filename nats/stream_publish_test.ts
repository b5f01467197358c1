import assert from "node:assert/strict";
import { natsTest } from "./testing.ts";
import { connectAtlas } from "./connect.ts";
import { StreamPublisher } from "./stream_publish.ts";

natsTest("a stream publish is stored once per message id, and says so", async ({ nats }) => {
  await nats.jsm.streams.add({ name: "T", subjects: ["t.>"] });
  const publisher = new StreamPublisher(nats.nc);
  const first = await publisher.publish("t.a", "one", { msgID: "m1" });
  assert.deepEqual(first, { stream: "T", seq: 1, duplicate: false });
  const again = await publisher.publish("t.a", "one", { msgID: "m1" });
  assert.deepEqual(again, { stream: "T", seq: 1, duplicate: true });
  // Concurrent publishes each get their own answer.
  const seqs = await Promise.all(
    ["x", "y", "z"].map((d, i) => publisher.publish("t.b", d, { msgID: `c${i}` })),
  );
  assert.deepEqual(seqs.map((a) => a.seq).sort(), [2, 3, 4]);
  assert.equal((await nats.jsm.streams.info("T")).state.messages, 4);
});

natsTest(
  "a refused, unheard or unanswered stream publish rejects with the reason",
  async ({ nats }) => {
    await nats.jsm.streams.add({ name: "SMALL", subjects: ["small.>"], max_msg_size: 8 });
    const publisher = new StreamPublisher(nats.nc);
    await assert.rejects(
      publisher.publish("small.a", "more than eight bytes"),
      /JetStream refused the publish to small\.a: message size exceeds maximum allowed \(error 10054\)/,
    );
    await assert.rejects(
      publisher.publish("nobody.a", "x"),
      /no stream stores nobody\.a \(no responders\)/,
    );
    // A listener that never answers: the publish times out instead of waiting forever.
    const mute = nats.nc.subscribe("mute.>");
    await nats.nc.flush();
    await assert.rejects(
      publisher.publish("mute.a", "x", { timeoutMs: 300 }),
      /timed out waiting for the stream to store mute\.a/,
    );
    mute.unsubscribe();
  },
);

natsTest("stream publishes waiting when the connection closes are rejected", async ({ urls }) => {
  const nats = await connectAtlas(urls);
  const publisher = new StreamPublisher(nats.nc);
  const mute = nats.nc.subscribe("mute.>");
  const waiting = publisher.publish("mute.a", "x", { timeoutMs: 60_000 });
  await nats.nc.flush();
  mute.unsubscribe();
  await nats.nc.close();
  await assert.rejects(waiting, /the connection closed before the stream stored mute\.a/);
});
