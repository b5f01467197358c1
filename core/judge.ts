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
 * One rule judges one member (`memberPart`): {@linkcode judgeStage} asks it of every member,
 * and a {@linkcode StageTally} keeps its answers between steps, asking again only of the
 * members that changed.
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

/** What one agent that manages the config adds to its stage's judgement. */
interface MemberPart {
  /** Live (not gone): counted in {@linkcode StageJudgement.members}. */
  member: boolean;
  /** How it counts: targeted with an outcome, `departed` (left during the stage), or not at all. */
  counted?: Outcome["status"] | "departed";
  /** Why it counts among the failing (rejected, failed, or no ack in time). */
  failing?: string;
  /** It refused the pointer's signature. */
  untrusted?: boolean;
}

/**
 * The one rule for one agent of the region ({@linkcode judgeStage} and
 * {@linkcode StageTally} both ask it): undefined when it does not manage the config.
 */
function memberPart(
  agent: AgentRecord,
  input: Omit<StageInput, "agents">,
  inShare: (agent: string, labels?: Record<string, string>) => boolean,
  timedOut: boolean,
): MemberPart | undefined {
  const { rollout, startedAt } = input;
  if (!managesConfig(agent, rollout.config)) return undefined;
  const gone = input.gone
    ? input.gone.has(agent.id)
    : agentIsStale(agent, input.now, input.aliveOf?.(agent.id));
  const member = !gone;
  if (!inShare(agent.id, agent.labels)) return shared(member);
  const o = outcomeOf(agent, input.ackOf(agent.id), rollout, input.stageSeq);
  if (o.status === "pending" && (gone || timedOut)) {
    // Gone, or silent since the stage began: a host that left is not a failure.
    const lastSign = lastSignMs(agent, input.aliveOf?.(agent.id));
    if (gone || lastSign < startedAt) {
      return shared(member, lastSign >= startedAt - recordWindowMs(agent) ? "departed" : undefined);
    }
    return {
      member,
      counted: "failed",
      failing: `no ack within ${input.stage.gates.ackTimeoutSeconds} s`,
    };
  }
  if (o.refusal === "untrusted") return { member, counted: o.status, untrusted: true };
  if (o.status === "rejected" || o.status === "failed") {
    return { member, counted: o.status, failing: `${o.status}: ${o.reason ?? "no reason given"}` };
  }
  return shared(member, o.status);
}

type Counted = NonNullable<MemberPart["counted"]>;

/** The parts of a live (or gone) member that carry no reason. */
function partsWithoutReason(member: boolean): Record<Counted | "none", MemberPart> {
  return {
    none: { member },
    applied: { member, counted: "applied" },
    rejected: { member, counted: "rejected" },
    failed: { member, counted: "failed" },
    verified: { member, counted: "verified" },
    pending: { member, counted: "pending" },
    departed: { member, counted: "departed" },
  };
}

/**
 * Made once and shared (parts are never changed): a whole pass over 100 000 members made as
 * many objects, and a collection was that step's largest item in a profile.
 */
const SHARED_PARTS = [partsWithoutReason(false), partsWithoutReason(true)];

function shared(member: boolean, counted?: Counted): MemberPart {
  return SHARED_PARTS[member ? 1 : 0]![counted ?? "none"];
}

/** A stage's counts as its members' parts are added and taken away. */
class Totals {
  readonly counts: StageCounts = {
    targeted: 0,
    applied: 0,
    rejected: 0,
    failed: 0,
    verified: 0,
    pending: 0,
    departed: 0,
  };
  members = 0;
  /** Reason by agent, in the order added. */
  readonly failing = new Map<string, string>();
  readonly untrusted = new Set<string>();

  add(agent: string, p: MemberPart, sign: 1 | -1 = 1): void {
    if (p.member) this.members += sign;
    if (p.counted === "departed") this.counts.departed += sign;
    else if (p.counted) {
      this.counts.targeted += sign;
      this.counts[p.counted] += sign;
    }
    if (sign < 0) {
      this.failing.delete(agent);
      this.untrusted.delete(agent);
      return;
    }
    if (p.failing) this.failing.set(agent, p.failing);
    if (p.untrusted) this.untrusted.add(agent);
  }
}

/** Whether the stage's ack timeout has passed, and whether it applies (judge.ts `acksCurrent`). */
function timeoutOf(input: Omit<StageInput, "agents">): { past: boolean; timedOut: boolean } {
  const past = input.now - input.startedAt > input.stage.gates.ackTimeoutSeconds * 1000;
  return { past, timedOut: past && input.acksCurrent !== false };
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
  const { timedOut } = timeoutOf(input);
  const inShare = shareTest(input.rollout.id, input.selector);
  const totals = new Totals();
  for (const agent of input.agents) {
    const part = memberPart(agent, input, inShare, timedOut);
    if (part) totals.add(agent.id, part);
  }
  return _verdict(input, totals);
}

/** How the records a {@linkcode StageTally} judges are read, and when they all may have changed. */
export interface TallyRecords {
  /** Every record of the region as the stage judges it (left out: none). */
  all(): Iterable<AgentRecord>;
  /** One agent's record as the stage judges it, if it has one. */
  of(agent: string): AgentRecord | undefined;
  /**
   * Changes whenever records may have changed without {@linkcode StageTally.changed}
   * being told (the records read again, the enrolments that judge them changed).
   */
  revision: string;
  /** Changes whenever the set `input.gone` holds does. */
  goneRevision: number;
  /** Changes whenever a record comes, goes, or changes which configs it manages. */
  membersRevision: number;
}

/** Agents waiting to be judged again before the tally is dropped instead. */
const TALLY_DIRTY_MAX = 100_000;

/**
 * {@linkcode judgeStage} kept between steps: each member's part is kept, and only the
 * agents whose record or ack changed ({@linkcode changed}) or who went or came back are
 * judged again. At 10 000 members a step's judgement walked every one (in a profile of
 * the main bench, its one-line functions were the largest step's top items); at 1 000 000
 * it would take a step whole.
 *
 * Invariant: {@linkcode judge} answers what `judgeStage` answers over `records.all()` at
 * that moment (the failing in another order). Everything is judged again when the stage,
 * its selector or its seq moved, the records' revision changed, the tally was forgotten,
 * or the ack timeout applies (time then decides who failed, so the whole stage is judged
 * each step until it ends).
 */
export class StageTally {
  /** What the kept parts hold for; undefined: judge every agent again. */
  #basis: { key: string; revision: string; goneRevision: number } | undefined;
  readonly #parts = new Map<string, MemberPart>();
  readonly #gone = new Set<string>();
  readonly #dirty = new Set<string>();
  #totals = new Totals();

  /** `agent`'s record or its ack for the config changed (or went). */
  changed(agent: string): void {
    if (!this.#basis) return; // the next answer judges every agent anyway
    this.#dirty.add(agent);
    if (this.#dirty.size > TALLY_DIRTY_MAX) this.forget();
  }

  /** Judges every agent again at the next answer. */
  forget(): void {
    this.#basis = undefined;
    this.#dirty.clear();
  }

  /** The stage's judgement over `records`; `input.gone` is required here. */
  judge(
    input: Omit<StageInput, "agents"> & { gone: ReadonlySet<string> },
    records: TallyRecords,
  ): StageJudgement {
    const { timedOut } = timeoutOf(input);
    if (timedOut) {
      this.forget();
      return judgeStage({ ...input, agents: records.all() });
    }
    const inShare = shareTest(input.rollout.id, input.selector);
    const key = JSON.stringify([
      input.region,
      input.rollout.id,
      input.rollout.config,
      input.rollout.version,
      input.rollout.stage,
      input.stageSeq,
      input.startedAt,
      input.selector,
    ]);
    const b = this.#basis;
    if (!b || b.key !== key || b.revision !== records.revision) {
      this.#parts.clear();
      this.#dirty.clear();
      this.#totals = new Totals();
      for (const agent of records.all()) {
        const part = memberPart(agent, input, inShare, false);
        if (!part) continue;
        this.#parts.set(agent.id, part);
        this.#totals.add(agent.id, part);
      }
      this.#gone.clear();
      for (const id of input.gone) this.#gone.add(id);
      this.#basis = { key, revision: records.revision, goneRevision: records.goneRevision };
      return _verdict(input, this.#totals);
    }
    if (b.goneRevision !== records.goneRevision) {
      // Who went or came back: the two sets' difference (gone agents are few).
      for (const id of this.#gone) if (!input.gone.has(id)) this.#dirty.add(id);
      for (const id of input.gone) if (!this.#gone.has(id)) this.#dirty.add(id);
      this.#gone.clear();
      for (const id of input.gone) this.#gone.add(id);
      b.goneRevision = records.goneRevision;
    }
    for (const id of this.#dirty) this.#judgeOne(id, records.of(id), input, inShare);
    this.#dirty.clear();
    return _verdict(input, this.#totals);
  }

  #judgeOne(
    id: string,
    agent: AgentRecord | undefined,
    input: Omit<StageInput, "agents">,
    inShare: (agent: string, labels?: Record<string, string>) => boolean,
  ): void {
    const before = this.#parts.get(id);
    if (before) {
      this.#totals.add(id, before, -1);
      this.#parts.delete(id);
    }
    const part = agent && memberPart(agent, input, inShare, false);
    if (!part) return;
    this.#parts.set(id, part);
    this.#totals.add(id, part);
  }
}

/** The verdict on a stage from its members' parts. */
function _verdict(input: Omit<StageInput, "agents">, totals: Totals): StageJudgement {
  const { rollout, stage } = input;
  const { past: pastTimeout, timedOut } = timeoutOf(input);
  const counts = { ...totals.counts };
  const members = totals.members;
  const failing = [...totals.failing].map(([agent, reason]) => ({ agent, reason }));
  const untrusted = [...totals.untrusted];
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
