import assert from "node:assert/strict";
import type { AckRecord, AgentConfigState, AgentRecord } from "./schemas.ts";
import { CandidateSelector } from "./schemas.ts";
import { judgeStage, outcomeOf, type StageJudgement, StageTally } from "./judge.ts";
import { RolloutStage } from "./rollout.ts";
import { agentRecord, seededRandom } from "@atlas/testkit";

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
const STATUSES = ["applied", "rejected", "failed", "verified"] as const;

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

Deno.test("a kept tally answers what judging every member answers, on a mixed region", () => {
  const seen = { departed: 0, untrusted: 0, failing: 0, timedOut: 0, pending: 0 };
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const rand = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const startedAt = Date.parse("2026-01-01T01:00:00.000Z");
    const records = new Map<string, AgentRecord>();
    const acks = new Map<string, AckRecord>();
    const gone = new Set<string>();
    let goneRevision = 0;
    let revision = 0;
    const ids = Array.from({ length: 40 }, (_, i) => `a${i}`);
    const record = (id: string): AgentRecord => {
      // Mixed: some hosts manage web, some only db; heartbeats before and during the stage.
      const configs: Record<string, Partial<AgentConfigState>> = rand() < 0.7
        ? {
          web: rand() < 0.3
            ? {
              applied: { version: pick([1, 2]), digest: "d".repeat(64), seq: 1, appliedAt: at },
              lastAck: { version: 2, seq: pick([4, 5, 6]), status: pick(STATUSES), at },
            }
            : {},
        }
        : { db: {} };
      const heartbeatAt = new Date(startedAt + pick([-200_000, -40_000, 1_000])).toISOString();
      return {
        ...agentRecord(id, "r", configs, { at: heartbeatAt }),
        labels: { zone: pick(["x", "y"]) },
      };
    };
    for (const id of ids) records.set(id, record(id));
    const tally = new StageTally();
    const stage = RolloutStage.parse({
      regions: ["r"],
      percent: 50,
      gates: { ackTimeoutSeconds: 60, maxFailureRatio: 0.5 },
    });
    let selector = CandidateSelector.parse({ percent: 50 });
    for (let step = 0; step < 60; step++) {
      // What changes between two steps, told to the tally as the engine tells it.
      for (let k = Math.floor(rand() * 6); k > 0; k--) {
        const id = pick(ids);
        const what = rand();
        if (what < 0.45) {
          const status = pick(STATUSES);
          acks.set(id, {
            ...ack(pick([1, 2, 2, 2]), pick([4, 5, 6, 7]), status, "why"),
            agent: id,
            ...(status === "rejected" && rand() < 0.3 ? { refusal: "untrusted" as const } : {}),
          });
        } else if (what < 0.7) records.set(id, record(id));
        else if (what < 0.8) records.delete(id);
        else {
          if (gone.has(id)) gone.delete(id);
          else gone.add(id);
          goneRevision++;
          continue; // gone is told by its revision, not by `changed`
        }
        tally.changed(id);
      }
      if (step === 20) {
        // The enrolments changed: records judge anew without `changed` told of each.
        for (const id of ids.slice(0, 10)) records.set(id, record(id));
        revision++;
      }
      if (step === 30) selector = CandidateSelector.parse({ percent: 50, exclude: ["a3", "a4"] });
      if (step === 35) selector = { ...selector, labels: { zone: "x" } };
      const input = {
        region: "r",
        rollout: { id: "r1", config: "web", version: 2, stage: 0 },
        stage,
        stageSeq: 5,
        startedAt,
        selector,
        ackOf: (a: string) => acks.get(a),
        // Past the ack timeout from step 50: judged whole then.
        now: startedAt + (step < 50 ? step * 1_000 : 61_000 + step * 1_000),
        gone,
        acksCurrent: step !== 52,
      };
      const kept = tally.judge(input, {
        all: () => records.values(),
        of: (id) => records.get(id),
        revision: `${revision}`,
        goneRevision,
        membersRevision: 0, // not what a tally reads
      });
      const whole = judgeStage({ ...input, agents: [...records.values()] });
      const sorted = (j: StageJudgement) => ({
        ...j,
        failing: [...j.failing].sort((x, y) => x.agent.localeCompare(y.agent)),
        untrusted: [...j.untrusted].sort(),
      });
      assert.deepEqual(sorted(kept), sorted(whole), `seed ${seed}, step ${step}`);
      seen.departed += whole.counts.departed;
      seen.untrusted += whole.untrusted.length;
      seen.failing += whole.failing.length;
      seen.timedOut += whole.failing.filter((f) => f.reason.startsWith("no ack")).length;
      seen.pending += whole.counts.pending;
    }
  }
  // The runs went through every kind of part.
  for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `no ${what} seen`);
});
