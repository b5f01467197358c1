import assert from "node:assert/strict";
import { type AckRecord, Streams, Subjects } from "@atlas/core";
import { natsTest } from "@atlas/testkit";
import { readAckLog } from "./ack_log.ts";
import { provision } from "./provision.ts";

function ack(region: string, agent: string, seq: number): AckRecord {
  return {
    agent,
    region,
    config: "web",
    version: 1,
    digest: "1".repeat(64),
    seq,
    status: "applied",
    latencyMs: 1,
    at: new Date().toISOString(),
  };
}

natsTest("the ack log reads every ack of a config in order, across batches", async ({ nats }) => {
  await provision(nats);
  assert.deepEqual((await readAckLog(nats, "web")).acks, [], "none yet");
  const pending = [];
  for (let i = 1; i <= 1_200; i++) {
    const a = ack(i % 2 ? "us-east" : "eu-west", `a${i % 7}`, i);
    pending.push(nats.js.publish(Subjects.ack(a.region, "web", a.agent), JSON.stringify(a)));
  }
  await Promise.all(pending);
  await nats.js.publish(
    Subjects.ack("us-east", "api", "a1"),
    JSON.stringify(ack("us-east", "a1", 1)),
  );
  const pa = await nats.js.publish(Subjects.ack("us-east", "web", "a1"), "not json");

  const all = await readAckLog(nats, "web");
  assert.equal(all.acks.length, 1_200);
  assert.equal(all.malformed, 1);
  assert.deepEqual(all.acks.map((s) => s.ack.seq), Array.from({ length: 1_200 }, (_, i) => i + 1));
  assert.equal(all.acks[0]!.storage.subject.agent, "a1");

  const east = await readAckLog(nats, "web", { region: "us-east" });
  assert.equal(east.acks.length, 600);
  assert.ok(east.acks.every((s) => s.ack.region === "us-east"));

  const last = await nats.jsm.direct.getMessage(Streams.acks, { seq: pa.seq });
  const before = await readAckLog(nats, "web", { until: all.acks[99]!.storage.storedAt });
  assert.ok(before.acks.length >= 100 && before.acks.length <= 1_200);
  assert.ok(before.acks.every((s) => s.storage.storedAt <= all.acks[99]!.storage.storedAt));
  assert.ok(last!.time.getTime() >= all.acks[1_199]!.storage.storedAt);

  const capped = await readAckLog(nats, "web", { max: 10 });
  assert.equal(capped.acks.length, 10);
  assert.equal(capped.truncated, true);
});
