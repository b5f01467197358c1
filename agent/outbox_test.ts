import assert from "node:assert/strict";
import { acksOf, natsTest, waitFor } from "@atlas/testkit";
import type { AckRecord } from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import { ackMessageId, AckOutbox } from "./outbox.ts";

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

/** Versions in the acks stream for a1/web, in order. */
async function stored(nats: AtlasNats): Promise<number[]> {
  return (await acksOf(nats, "us-east", "web", "a1")).map((a) => a.version);
}

natsTest(
  "the outbox sends every ack once, in order, also after an empty flush",
  async ({ nats }) => {
    const outbox = new AckOutbox();
    await outbox.flush(nats); // nothing to send: must not wedge later flushes
    outbox.add(ack(1));
    outbox.add(ack(2));
    assert.deepEqual(outbox.pending().map((a) => a.seq), [1, 2]);
    await outbox.flush(nats);
    await outbox.flush(nats);
    assert.equal(outbox.size, 0);
    assert.deepEqual(outbox.pending(), []);
    assert.deepEqual(await stored(nats), [1, 2]);
  },
);

natsTest(
  "restored acks already in the stream are not sent again, the rest are, in order",
  async ({ nats }) => {
    // A previous run sent 1 and 2, then crashed before its state file forgot them.
    const before = new AckOutbox();
    before.add(ack(1));
    before.add(ack(2));
    await before.flush(nats);
    // Its state file still lists 1 and 2, plus 3 it never sent.
    const after = new AckOutbox([ack(1), ack(2), ack(3)]);
    assert.equal(after.size, 3);
    await after.flush(nats);
    assert.equal(after.size, 0);
    // Exactly once, independent of the stream's duplicate window.
    assert.deepEqual(await stored(nats), [1, 2, 3]);
    assert.equal(ackMessageId(ack(3)), "a1/web/3/3/applied");
  },
);

natsTest(
  "restored acks the stream never got are all sent",
  async ({ nats }) => {
    const outbox = new AckOutbox([ack(4), ack(5)]);
    await outbox.flush(nats);
    assert.deepEqual(await stored(nats), [4, 5]);
  },
);

natsTest(
  "an ack added while a flush is finishing is sent, not left for a later flush",
  async ({ nats }) => {
    const outbox = new AckOutbox();
    const first = outbox.flush(nats); // nothing to send: finishes at once
    outbox.add(ack(1));
    const second = outbox.flush(nats);
    await Promise.all([first, second]);
    assert.equal(outbox.size, 0);
    assert.deepEqual(await stored(nats), [1]);
  },
);

Deno.test("the outbox keeps sending every 2 s while the acks stream fails, then stops", async () => {
  let calls = 0;
  const sent: number[] = [];
  // Only what a flush of never-sent acks uses: the shared publisher.
  const nats = {
    publisher: {
      publish: (_subject: string, data: string) => {
        if (++calls < 2) return Promise.reject(new Error("no responders"));
        sent.push((JSON.parse(data) as AckRecord).seq);
        return Promise.resolve();
      },
    },
  } as unknown as AtlasNats;
  const outbox = new AckOutbox();
  outbox.add(ack(1));
  outbox.send(nats);
  outbox.send(nats); // joins the running flush: one retry timer at most
  try {
    await waitFor("the ack after a retry", () => outbox.size === 0, { timeoutMs: 5_000 });
  } finally {
    outbox.close();
  }
  assert.deepEqual(sent, [1]);
  assert.equal(calls, 2);
});

Deno.test("a closed outbox arms no retry", async () => {
  const nats = {
    publisher: { publish: () => Promise.reject(new Error("no responders")) },
  } as unknown as AtlasNats;
  const outbox = new AckOutbox();
  outbox.add(ack(1));
  outbox.send(nats);
  outbox.close();
  outbox.send(nats); // a no-op
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(outbox.size, 1); // and the sanitizers see no timer left
});
