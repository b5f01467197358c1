import assert from "node:assert/strict";
import type { AckRecord, AgentRecord } from "./schemas.ts";
import { CandidateSelector } from "./schemas.ts";
import { judgeStage, outcomeOf } from "./judge.ts";
import { RolloutStage } from "./rollout.ts";
import { agentRecord } from "@atlas/testkit";

const at = "2026-01-01T00:00:00.000Z";
function agent(
  applied?: number,
  lastAck?: { version: number; seq: number; status: AckRecord["status"] },
): AgentRecord {
  return agentRecord("a1", "r", {
    web: {
      applied: applied ? { version: applied, digest: "d".repeat(64), seq: 1, appliedAt: at } : null,
      lastAck: lastAck ? { ...lastAck, at } : null,
    },
  }, { at });
}
function ack(
  version: number,
  seq: number,
  status: AckRecord["status"],
  reason?: string,
): AckRecord {
  return {
    agent: "a1",
    region: "r",
    config: "web",
    version,
    digest: "d".repeat(64),
    seq,
    status,
    latencyMs: 1,
    at,
    ...(reason ? { reason } : {}),
  };
}
const rollout = { config: "web", version: 2 };

Deno.test("an ack counts before the heartbeat catches up", () => {
  assert.equal(outcomeOf(agent(1), ack(2, 5, "applied"), rollout, 5).status, "applied");
  assert.deepEqual(outcomeOf(agent(1), ack(2, 5, "rejected", "bad digest"), rollout, 5), {
    status: "rejected",
    reason: "bad digest",
  });
});

Deno.test("a heartbeat showing the version applied counts without an ack", () => {
  assert.equal(outcomeOf(agent(2), undefined, rollout, 5).status, "applied");
});

Deno.test("outcomes of an earlier stage or another version do not count", () => {
  assert.equal(outcomeOf(agent(1), ack(2, 4, "failed"), rollout, 5).status, "pending", "older seq");
  assert.equal(
    outcomeOf(agent(1), ack(3, 6, "failed"), rollout, 5).status,
    "pending",
    "other version",
  );
  assert.equal(
    outcomeOf(agent(1, { version: 2, seq: 7, status: "failed" }), ack(2, 6, "applied"), rollout, 5)
      .status,
    "failed",
    "the newer of ack and heartbeat wins",
  );
});

Deno.test("no member times out while the acks read may be behind the stream", () => {
  const now = Date.parse("2026-01-01T01:00:00.000Z");
  const member = (id: string) =>
    agentRecord(id, "r", { web: {} }, { at: new Date(now - 1_000).toISOString() });
  const input = {
    region: "r",
    rollout: { id: "r1", config: "web", version: 2, stage: 0 },
    stage: RolloutStage.parse({ regions: ["r"], gates: { ackTimeoutSeconds: 60 } }),
    stageSeq: 5,
    startedAt: now - 120_000, // two ack timeouts ago
    selector: CandidateSelector.parse({ percent: 100 }),
    // A mixed region: two members manage web, one host does not.
    agents: [member("a1"), member("a2"), agentRecord("other", "r", {}, { at })],
    ackOf: () => undefined,
    now,
  };
  const timedOut = judgeStage(input);
  assert.equal(timedOut.counts.failed, 2, "silent members time out");
  assert.equal(timedOut.members, 2);
  const waiting = judgeStage({ ...input, acksCurrent: false });
  assert.deepEqual(waiting.failing, [], "an ack not seen yet is not an ack missing");
  assert.equal(waiting.counts.pending, 2);
  assert.equal(waiting.failureRatio, 0);
  assert.match(waiting.note, /0\/2 applied, 2 pending \(the ack timeout waits/);
});
