import assert from "node:assert/strict";
import type { AckRecord, AgentRecord } from "./schemas.ts";
import { outcomeOf } from "./judge.ts";
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
