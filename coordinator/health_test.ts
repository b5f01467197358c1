import assert from "node:assert/strict";
import { type AgentRecord, AlertRecord, Buckets } from "@atlas/core";
import { agentRecord, natsTest } from "@atlas/testkit";
import { scanFleet } from "./health.ts";

const at = new Date().toISOString();
const D1 = "1".repeat(64);
const D2 = "2".repeat(64);

function agent(id: string, opts: { disk?: string; failed?: string } = {}): AgentRecord {
  return agentRecord(id, "us-east", {
    web: {
      applied: { version: 1, digest: D1, seq: 1, appliedAt: at },
      diskDigest: opts.disk ?? D1,
      lastAck: opts.failed
        ? { version: 2, seq: 2, status: "failed", reason: opts.failed, at }
        : { version: 1, seq: 1, status: "applied", at },
    },
  }, { at });
}

async function alerts(nats: Parameters<typeof scanFleet>[0]): Promise<AlertRecord[]> {
  const kv = await nats.kv(Buckets.alerts);
  const out: AlertRecord[] = [];
  for (const key of ["drift-us-east-a1-web", "failures-us-east-web-v2"]) {
    const e = await kv.get(key);
    if (e?.operation === "PUT") out.push(AlertRecord.parse(e.json()));
  }
  return out;
}

natsTest(
  "drift and a failure cluster raise alerts that resolve when they clear",
  async ({ nats }) => {
    const now = Date.now();
    const sick = [
      agent("a1", { disk: D2 }),
      agent("a2", { failed: "reload exit 1" }),
      agent("a3", { failed: "reload exit 1" }),
      agent("a4", { failed: "reload exit 1" }),
      agent("a5", { failed: "another reason" }),
      agent("a6"),
    ];
    await scanFleet(nats, sick, { region: "us-east", now });
    const raised = await alerts(nats);
    assert.deepEqual(raised.map((a) => [a.kind, !!a.resolvedAt]), [["drift", false], [
      "failure_cluster",
      false,
    ]]);
    assert.match(raised[1]!.message, /3 agents in us-east failed web v2: reload exit 1/);
    const healthy = ["a1", "a2", "a3", "a4", "a5", "a6"].map((id) => agent(id));
    await scanFleet(nats, healthy, { region: "us-east", now: now + 1 });
    assert.ok((await alerts(nats)).every((a) => a.resolvedAt), "both resolved");
    await scanFleet(nats, sick, { region: "us-east", now: now + 2 });
    assert.ok((await alerts(nats)).every((a) => !a.resolvedAt), "re-opened when it comes back");
  },
);

natsTest("two agents failing alike are not a cluster", async ({ nats }) => {
  await scanFleet(nats, [agent("a1", { failed: "x" }), agent("a2", { failed: "x" })], {
    region: "us-east",
    now: Date.now(),
  });
  assert.deepEqual(await alerts(nats), []);
});

natsTest("the fleet scan never resolves rollback or stall alerts", async ({ nats }) => {
  const kv = await nats.kv(Buckets.alerts);
  const open: AlertRecord[] = [
    { id: "rollback-r1", kind: "rolled_back", region: "us-east", config: "web", message: "x", at },
    {
      id: "stalled-r1-us-east-0",
      kind: "stalled",
      region: "us-east",
      config: "web",
      message: "y",
      at,
    },
  ];
  for (const a of open) await kv.put(a.id, JSON.stringify(a));
  const healthy = ["a1", "a2", "a3"].map((id) => agent(id));
  await scanFleet(nats, healthy, { region: "us-east", now: Date.now() });
  await scanFleet(nats, healthy, { region: "us-east", now: Date.now() + 60_000 });
  for (const a of open) {
    assert.deepEqual(AlertRecord.parse((await kv.get(a.id))!.json()), a, a.id);
  }
});
