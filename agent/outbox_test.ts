import assert from "node:assert/strict";
import { natsTest } from "@atlas/nats/testing";
import { type AckRecord, Streams } from "@atlas/nats";
import { AckOutbox } from "./outbox.ts";

function ack(seq: number): AckRecord {
  return {
    agent: "a1",
    region: "us-east",
    config: "web",
    version: seq,
    digest: "c".repeat(64),
    seq,
    status: "applied",
    latencyMs: 1,
    at: new Date().toISOString(),
  };
}

natsTest(
  "the outbox sends every ack once, in order, also after an empty flush",
  async ({ nats }) => {
    const outbox = new AckOutbox(await Deno.makeTempDir());
    await outbox.open();
    await outbox.flush(nats); // nothing to send: must not wedge later flushes
    await outbox.add(ack(1));
    await outbox.add(ack(2));
    await outbox.flush(nats);
    await outbox.flush(nats);
    assert.equal(outbox.size, 0);
    const info = await nats.jsm.streams.info(Streams.acks);
    assert.equal(info.state.messages, 2);
    const first = await nats.jsm.streams.getMessage(Streams.acks, { seq: info.state.first_seq });
    assert.equal((first?.json() as AckRecord).seq, 1);
  },
);

natsTest("unsent acks are reloaded from disk by a new outbox", async ({ nats }) => {
  const dir = await Deno.makeTempDir();
  const before = new AckOutbox(dir);
  await before.open();
  await before.add(ack(7));
  const after = new AckOutbox(dir);
  await after.open();
  assert.equal(after.size, 1);
  await after.flush(nats);
  assert.equal(after.size, 0);
  assert.equal([...Deno.readDirSync(dir)].length, 0);
});
