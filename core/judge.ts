/**
 * How a region's stage of a rollout is judged, free of NATS and timers: which agents
 * count, how each did, and whether the stage's gates hold.
 *
 * Only members count: live agents that state the config in their heartbeat. An agent
 * that does not manage the config is never targeted, timed out or quarantined; one that
 * left (goodbye, or its heartbeats stopped) is not counted either, and a targeted agent
 * that has shown no sign of life since the stage started is `departed`, not failed. An
 * agent that refused the pointer because its signature does not verify (`untrusted`) is
 * listed apart: the signer is at fault, not the host.
 *
 * @module
 */
import {
  type AckRecord,
  type AgentRecord,
  type CandidateSelector,
  managesConfig,
} from "./schemas.ts";
import { agentIsStale, type AliveSignal, lastSignMs, recordWindowMs } from "./liveness.ts";
import { ackMovesApplied } from "./agent_state.ts";
import { shareTest } from "./share.ts";
import type { RegionProgress, RolloutRecord, RolloutStage } from "./rollout.ts";

/** How one targeted agent did on a rollout's current stage. */
export interface Outcome {
  status: "applied" | "rejected" | "failed" | "verified" | "pending";
  reason?: string;
  /** Set when the agent refused the pointer itself (see `AckRecord.refusal`). */
  refusal?: "untrusted";
}

/**
 * Judges one agent from its record and its newest ack (either may lag the other):
 * applied once either shows the rollout's version applied; verified, rejected or failed
 * when an ack for that version, at or after the stage's pointer `seq`, says so; pending
 * otherwise.
 *
 * @example
 * ```ts
 * outcomeOf(agentRecord, latestAck, rollout, progress.seq).status; // "applied"
 * ```
 */
export function outcomeOf(
  agent: AgentRecord,
  ack: AckRecord | undefined,
  rollout: Pick<RolloutRecord, "config" | "version">,
  stageSeq: number,
): Outcome {
  const st = agent.configs[rollout.config];
  // What it runs now: its newest ack when that is newer than its record (records are not
  // written after an apply). A promoted candidate's agents ran the version before this
  // stage's seq. Per member per step: judged without building the merged state.
  const applied = st && ackMovesApplied(st, ack) ? ack.version : st?.applied?.version;
  // The newer (by seq; the ack on a tie) of the ack and the record's last ack that answer
  // this version at or after the stage's seq.
  const fromAck = ack && ack.version === rollout.version && ack.seq >= stageSeq ? ack : undefined;
  const rec = st?.lastAck;
  const fromRecord = rec && rec.version === rollout.version && rec.seq >= stageSeq
    ? rec
    : undefined;
  const last = fromAck && fromRecord
    ? (fromRecord.seq > fromAck.seq ? fromRecord : fromAck)
    : fromAck ?? fromRecord;
  if (applied === rollout.version || last?.status === "applied") {
    return { status: "applied" };
  }
  if (!last) return { status: "pending" };
  return {
    status: last.status,
    ...(last.reason ? { reason: last.reason } : {}),
    ...(last.refusal ? { refusal: last.refusal } : {}),
  };
}

/** Counts of a region's stage, as stored in its {@linkcode RegionProgress}. */
export type StageCounts = Pick<
  RegionProgress,
  "targeted" | "applied" | "rejected" | "failed" | "verified" | "pending" | "departed"
>;

/** The verdict on a region's stage. */
export interface StageJudgement {
  counts: StageCounts;
  /** Live agents of the region that manage the config. */
  members: number;
  /** Targeted agents that rejected, failed or timed out (quarantined on a breach). */
  failing: { agent: string; reason: string }[];
  /** Targeted agents that refused the pointer's signature: never quarantined. */
  untrusted: string[];
  /** Share of targeted agents that rejected or failed. */
  failureRatio: number;
  /** True when the gates hold (the bake may run). */
  healthy: boolean;
  /** True when no live agent of the region manages the config: the stage has nothing to do. */
  empty: boolean;
  /** What the stage waits for, or why it completes as it does, in words. */
  note: string;
}

/** What {@linkcode judgeStage} looks at. */
export interface StageInput {
  region: string;
  rollout: Pick<RolloutRecord, "id" | "config" | "version" | "stage" | "skipBakeStage">;
  stage: RolloutStage;
  /** The pointer seq of the region's stage: acks for it (or later) count. */
  stageSeq: number;
  /** When the region's stage started (pointer moved), wall-clock ms. */
  startedAt: number;
  selector: CandidateSelector;
  /** Every agent record of the region (live or not). */
  agents: Iterable<AgentRecord>;
  /** The newest ack of an agent for the rollout's config. */
  ackOf: (agent: string) => AckRecord | undefined;
  /** Wall-clock now, ms. */
  now: number;
  /** What the region's alive pings said of an agent (core/liveness.ts); none: records only. */
  aliveOf?: (agent: string) => AliveSignal | undefined;
  /**
   * Ids of the agents gone at `now`, when the caller keeps them (coordinator/gone.ts): the
   * same answer {@linkcode agentIsStale} gives with `aliveOf`, without asking it per member.
   */
  gone?: ReadonlySet<string>;
  /**
   * False while the acks `ackOf` reads may be behind the stream (the caller's follow of
   * them restarting, after a partition say): nobody times out then, since an ack not seen
   * yet is not an ack missing. @default true
   */
  acksCurrent?: boolean;
}

/**
 * Judges a region's stage: counts the targeted members, applies the ack timeout, and
 * decides whether the gates hold.
 *
 * @example
 * ```ts
 * const j = judgeStage({ region: "us-east", rollout, stage, stageSeq: 7, startedAt,
 *   selector, agents, ackOf: (a) => acks.get(a), now: Date.now() });
 * if (j.failureRatio > stage.gates.maxFailureRatio) rollBack(j.failing);
 * ```
 */
export function judgeStage(input: StageInput): StageJudgement {
  const { rollout, stage, selector, now, startedAt } = input;
  const pastTimeout = now - startedAt > stage.gates.ackTimeoutSeconds * 1000;
  const timedOut = pastTimeout && input.acksCurrent !== false;
  const counts: StageCounts = {
    targeted: 0,
    applied: 0,
    rejected: 0,
    failed: 0,
    verified: 0,
    pending: 0,
    departed: 0,
  };
  const failing: StageJudgement["failing"] = [];
  const untrusted: string[] = [];
  let members = 0;
  const inShare = shareTest(rollout.id, selector);
  for (const agent of input.agents) {
    if (!managesConfig(agent, rollout.config)) continue;
    const gone = input.gone
      ? input.gone.has(agent.id)
      : agentIsStale(agent, now, input.aliveOf?.(agent.id));
    if (!gone) members++;
    if (!inShare(agent.id, agent.labels)) continue;
    const o = outcomeOf(agent, input.ackOf(agent.id), rollout, input.stageSeq);
    if (o.status === "pending") {
      // Gone, or silent since the stage began: a host that left is not a failure.
      const lastSign = lastSignMs(agent, input.aliveOf?.(agent.id));
      if (gone || (timedOut && lastSign < startedAt)) {
        if (lastSign >= startedAt - recordWindowMs(agent)) {
          counts.departed++;
        }
        continue;
      }
      if (timedOut) {
        counts.targeted++;
        counts.failed++;
        failing.push({
          agent: agent.id,
          reason: `no ack within ${stage.gates.ackTimeoutSeconds} s`,
        });
        continue;
      }
    }
    counts.targeted++;
    counts[o.status]++;
    if (o.refusal === "untrusted") untrusted.push(agent.id);
    else if (o.status === "rejected" || o.status === "failed") {
      failing.push({ agent: agent.id, reason: `${o.status}: ${o.reason ?? "no reason given"}` });
    }
  }
  const bad = counts.rejected + counts.failed;
  const failureRatio = counts.targeted ? bad / counts.targeted : 0;
  const done = counts.applied + (stage.preflight ? counts.verified : 0);
  const what = stage.preflight ? "verified" : "applied";
  const skipped = rollout.skipBakeStage === rollout.stage;
  let healthy: boolean;
  let note: string;
  if (members === 0 && counts.targeted === 0) {
    healthy = true;
    note = `no agent in ${input.region} manages ${rollout.config}: nothing to do`;
  } else if (counts.targeted === 0) {
    healthy = skipped;
    note = `this stage targets none of the ${members} agents in ${input.region} that manage ` +
      `${rollout.config}` + (skipped ? "; passed by promote" : ": promote to pass it, or abort");
  } else {
    healthy = done / counts.targeted >= stage.gates.minAckedRatio;
    note = `${done}/${counts.targeted} ${what}` +
      (counts.pending ? `, ${counts.pending} pending` : "") +
      (pastTimeout && !timedOut && counts.pending
        ? " (the ack timeout waits: the coordinator is catching up on acks)"
        : "") +
      (bad ? `, ${bad} rejected or failed` : "") +
      (counts.departed ? `, ${counts.departed} departed` : "");
  }
  return {
    counts,
    members,
    failing,
    untrusted,
    failureRatio,
    healthy,
    empty: members === 0 && counts.targeted === 0,
    note,
  };
}
