/**
 * How the leader of a region drives rollouts there: it puts each stage's candidate share
 * on the region's pointer (signed, compare-and-set), judges the stage (core/judge.ts),
 * waits the bake, marks the region done, and, as the last region of a stage, advances or
 * ends the rollout through the one state machine (`updateRollout`). A gate breach moves the
 * pointer back at once, quarantines the failing agents for that config (never on a
 * preflight, never for an untrusted signer), ends the rollout rolled back and raises an
 * alert; a success closes the config's rolled-back and stalled alerts. Every step is
 * audited. Metric gates (core/metric_gate.ts) are read from the coordinator's Prometheus
 * every step of a stage that installs something: the bake completes only while each
 * passes, and a breach rolls the region back quarantining nobody (the hosts did nothing
 * wrong one by one). How long a query has been out of bound is kept in memory: a replica
 * that takes over starts that count again (a breach comes up to `forSeconds` later).
 *
 * Once every stage is done, each region promotes its own pointer before the rollout may
 * succeed (`#complete`: committed, promoted, marked), so a rollout that reads `succeeded`
 * has its version active in every region.
 *
 * Invariants: all state lives in JetStream, every write is compare-and-set (a replica that
 * takes over continues from the records and no step is applied twice); a pointer is only
 * ever moved for the rollout's current stage, and promoted once, only while it carries the
 * rollout's candidate; a promoted version is never rolled back by the rollout.
 *
 * @module
 */
import {
  type AckRecord,
  type AgentRecord,
  AlertRecord,
  type AliveSignal,
  Buckets,
  type CandidateSelector,
  cutoffOfRanked,
  isFinal,
  judgeMetricGate,
  judgeStage,
  managesConfig,
  metricQuery,
  type MetricReading,
  parseQuarantineKey,
  type PointerRecord,
  quarantineKey,
  QuarantineRecord,
  rankShareHashes,
  type RecordSigner,
  type RegionUpdate,
  type RolloutEvent,
  type RolloutRecord,
  shareHash,
  StageTally,
  type TallyRecords,
  versionKey,
  VersionRecord,
} from "@atlas/core";
import {
  appendAudit,
  appendAuditOnce,
  type AtlasNats,
  audited,
  type CoordinatorMetrics,
  isCasConflict,
  listEntries,
  type Logger,
  readKv,
  readPointer,
  releaseActiveRollout,
  resolveRolloutAlerts,
  RolloutContentionError,
  traced,
  tracingOn,
  updateRollout,
  type UpdateRolloutResult,
  writePointer,
} from "@atlas/store";
import type { MetricSource } from "./prometheus_source.ts";

type Stored<T> = { value: T; revision: number };

/**
 * Time a step may spend on metric queries before it asks no more (each query is itself
 * bounded, 2 s by default): a step must stay well inside the 5 s lease.
 */
const METRIC_STEP_BUDGET_MS = 1_000;

/**
 * A running stage younger than this is audited again by a replica that first handles it
 * (the event keeps the stage's id): within the audit stream's 10 min duplicate window
 * (store/provision.ts), so the stream keeps one copy.
 */
const RESTAGE_AUDIT_MS = 9 * 60_000;

/**
 * Share hashes computed per turn of the event loop when a rollout's share is first ranked
 * in a larger region (#warm): SHA-256 of 10 000 ids is ~11 ms, and it landed whole in the
 * rollout's first step, the largest of the leader's steps.
 */
export const RANK_SLICE = 2_000;

/** Eligible lists kept between steps ({@linkcode StageDriver.#eligible}) before starting over. */
const KEPT_ELIGIBLE_MAX = 16;

/**
 * Quarantines a step writes at most, after a breach moved the pointer back; the rest in the
 * steps that follow, asked for at once. Each is three writes (intent, record, audit event):
 * written all in the breach's step, a breach at 10 000 members held the rollback for
 * seconds and one at 1 000 000 held the step for minutes, past the lease.
 */
export const QUARANTINE_SLICE = 256;
/** Quarantine writes in flight at once. */
const QUARANTINE_PARALLEL = 32;

/** The first `k` entries of `map`, in insertion order. */
function* take<K, V>(map: ReadonlyMap<K, V>, k: number): Generator<[K, V]> {
  if (k <= 0) return;
  for (const entry of map) {
    yield entry;
    if (--k === 0) return;
  }
}

/** A quarantine decided at a breach, not written yet. */
interface DueQuarantine {
  agent: string;
  config: string;
  reason: string;
  rolloutId: string;
}

/** What {@linkcode StageDriver.#cutoff} says while the share's hashes are computed. */
const RANKING = Symbol("ranking");

/** A region's quarantine: agents fenced off every config, and per config. */
interface Quarantine {
  every: Set<string>;
  byConfig: Map<string, Set<string>>;
}

/** What the stage driver needs from the coordinator that leads the region. */
export interface StageDriverDeps {
  nats: AtlasNats;
  signer: RecordSigner;
  region: string;
  /** Wall-clock ms (records, bake times, ack timeouts). */
  clock: { now(): number };
  /** Where stage durations, gate results and rollbacks are counted, if anywhere. */
  metrics?: CoordinatorMetrics | undefined;
  log: Logger;
  /** Every agent record of the region, live or not. */
  agents: () => Promise<AgentRecord[]>;
  /** The newest ack of each agent of the region, by config then agent. */
  acks: ReadonlyMap<string, ReadonlyMap<string, AckRecord>>;
  /**
   * False while `acks` may be behind the stream (its follow restarting): the stage's ack
   * timeout then waits (judge.ts `acksCurrent`). @default always current
   */
  acksCurrent?: () => boolean;
  /** What the region's alive pings said of an agent (core/liveness.ts); none: records only. */
  aliveOf?: (agent: string) => AliveSignal | undefined;
  /** Ids of the region's agents gone at `now` (coordinator/gone.ts). */
  goneAt: (now: number) => ReadonlySet<string>;
  /**
   * The records as a kept judgement reads them, while the caller follows them and tells
   * {@linkcode StageDriver.changed} of each record and ack that changes; undefined while it
   * does not (each judgement then walks `agents()`).
   */
  records?: (now: number) => TallyRecords | undefined;
  /** Where metric gates are read; without, a stage with metric gates waits (and stalls). */
  metricSource?: MetricSource | undefined;
  /**
   * Eligible members up to which a rollout's share is first ranked inside the step; past
   * it the hashes are computed between steps, this many per turn. @default RANK_SLICE
   */
  rankSlice?: number | undefined;
  /**
   * Quarantines written per step after a breach ({@linkcode QUARANTINE_SLICE}).
   * @default QUARANTINE_SLICE
   */
  quarantineSlice?: number | undefined;
  /** Runs work begun between steps; the coordinator waits for it when it closes. */
  background: (work: Promise<unknown>) => void;
  /** Asks for the next step at once: work begun between steps has finished. */
  stepSoon: () => void;
}

/** Drives the rollouts of one region; see the module doc. */
export class StageDriver {
  readonly region: string;
  readonly #deps: StageDriverDeps;
  readonly #nats: AtlasNats;
  readonly #signer: RecordSigner;
  readonly #clock: { now(): number };
  readonly #log: Logger;
  /** Rollouts this region has nothing more to do for: ended and settled, or not its own. */
  readonly #settled = new Set<string>();
  /** `<rollout>/<stage>` whose start this replica audited (or found audited). */
  readonly #stagesAudited = new Set<string>();
  #stepQuarantine: Promise<Quarantine> | undefined;
  /** This step's eligible members, by config and quarantine ({@linkcode #eligible}). */
  readonly #stepEligible = new Map<string, string[]>();
  /** Per `<rollout>/<stage>/<gate index>`: since when its query is out of bound, ms. */
  readonly #outOfBound = new Map<string, number>();
  /**
   * The eligible agents of the last rollout judged, ranked by share hash (core/share.ts):
   * while they stay the same (same ids in the same order) the ranking does, and at 10 000
   * members ranking them again at each step was the stage's largest cost.
   */
  #ranked: { rolloutId: string; eligible: string[]; ranked: Float64Array } | undefined;
  /**
   * Rollouts whose share hashes were computed between steps ({@linkcode #warm}): false
   * while under way, true once done. Kept until the rollout is settled here.
   */
  readonly #warmed = new Map<string, boolean>();
  /** When the step began (monotonic ms): metric queries share a budget per step. */
  #stepStartedAt = performance.now();
  /** Eligible members by config and quarantine, with the records' revisions they hold for. */
  readonly #keptEligible = new Map<string, { basis: string; ids: string[] }>();
  /** Each running rollout's judgement, kept between steps (core/judge.ts `StageTally`). */
  readonly #tallies = new Map<string, StageTally>();
  /**
   * Quarantines decided at breaches and not written yet, by `<config>/<agent>`, oldest first:
   * they count as quarantined already ({@linkcode #quarantinedFor}). Written only while
   * this replica leads (a new leader does not know them: see {@linkcode close}).
   */
  readonly #dueQuarantines = new Map<string, DueQuarantine>();

  constructor(deps: StageDriverDeps) {
    this.#deps = deps;
    this.region = deps.region;
    this.#nats = deps.nats;
    this.#signer = deps.signer;
    this.#clock = deps.clock;
    this.#log = deps.log;
  }

  /** Starts a step: the quarantine is read again at most once in it. */
  beginStep(): void {
    this.#stepQuarantine = undefined;
    this.#stepEligible.clear();
    this.#stepStartedAt = performance.now();
  }

  /** `agent`'s record, or its ack for some config, changed: kept judgements look again. */
  changed(agent: string): void {
    for (const t of this.#tallies.values()) t.changed(agent);
  }

  /** True when the rollout needs nothing more from this region. */
  isSettled(id: string): boolean {
    return this.#settled.has(id);
  }

  /** Marks a rollout this region has nothing to do for (its stages never name it). */
  markSettled(id: string): void {
    this.#settled.add(id);
  }

  /**
   * Acts on one rollout of the region: settle it if it ended, hold it if paused, move the
   * pointer to the current stage, or judge the stage.
   */
  handle(r: Stored<RolloutRecord>): Promise<void> {
    return this.#handle(r);
  }

  #iso(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  async #handle(r: Stored<RolloutRecord>): Promise<void> {
    const rollout = r.value;
    const current = await readPointer(this.#nats, this.region, rollout.config);
    const ours = current?.pointer.candidate?.rolloutId === rollout.id;
    if (isFinal(rollout.state)) {
      if (ours) await this.#settle(rollout, current!.pointer, rollout.state === "succeeded");
      this.#settled.add(rollout.id); // ended and settled here: never read again
      for (const k of this.#outOfBound.keys()) {
        if (k.startsWith(`${rollout.id}/`)) this.#outOfBound.delete(k);
      }
      for (const k of this.#stagesAudited) {
        if (k.startsWith(`${rollout.id}/`)) this.#stagesAudited.delete(k);
      }
      this.#warmed.delete(rollout.id);
      this.#tallies.delete(rollout.id);
      return;
    }
    if (rollout.state !== "running") return; // paused or pending: hold
    const stage = rollout.stages[rollout.stage]!;
    const progress = rollout.regions[this.region];
    if (!stage.regions.includes(this.region) || !progress || progress.doneStage >= rollout.stage) {
      await this.#maybeAdvance(r);
      return;
    }
    if (!current) {
      await this.#end(
        r,
        "rolled_back",
        `nothing is active in ${this.region}: activate a version first`,
      );
      return;
    }
    const quarantined = await this.#quarantinedFor(rollout.config);
    const exclude = [...quarantined].sort();
    const selector: CandidateSelector = {
      percent: stage.percent,
      agents: stage.agents,
      exclude,
      ...(stage.labels && Object.keys(stage.labels).length ? { labels: stage.labels } : {}),
    };
    // Exact shares: ceil(percent × n) of the live members that are not quarantined, and
    // never fewer within a stage (an agent that took the candidate keeps it).
    const now = this.#clock.now();
    const eligible = await this.#eligible(rollout.config, quarantined, exclude, now);
    const cutoff = this.#cutoff(rollout.id, eligible, stage.percent);
    // Its hashes are computed between steps; the step that follows moves or judges.
    if (cutoff === RANKING) return;
    const held = ours && progress.stage === rollout.stage
      ? current.pointer.candidate!.selector.hashCutoff
      : undefined;
    const hashCutoff = cutoff === undefined ? held : Math.max(cutoff, held ?? 0);
    if (hashCutoff !== undefined && stage.percent > 0 && stage.percent < 100) {
      selector.hashCutoff = hashCutoff;
    }
    const preflight = stage.preflight === true;
    if (
      !ours || progress.stage !== rollout.stage ||
      !sameSelector(current.pointer.candidate!.selector, selector) ||
      (current.pointer.candidate!.preflight === true) !== preflight
    ) {
      const move = () => this.#moveToStage(r, current.pointer, selector, preflight);
      // A trace per stage move (pointer write, notice, agents' applies), linked to the
      // trace of the call that started the rollout.
      await (tracingOn
        ? traced("atlas.rollout.stage", move, {
          parent: null,
          links: [rollout.trace],
          attributes: {
            "atlas.rollout": rollout.id,
            "atlas.stage": rollout.stage + 1,
            "atlas.region": this.region,
            "atlas.config": rollout.config,
          },
        })
        : move());
      return;
    }
    // Started by this replica (audited) or by a leader that may have died before its
    // event: audited again within the stream's duplicate window, which keeps one.
    const startedAt = Date.parse(progress.stageStartedAt ?? "");
    if (now - startedAt < RESTAGE_AUDIT_MS) await this.#auditStage(rollout, selector.percent);
    await this.#judge(r, selector);
  }

  /**
   * The ids of the live members that manage `config` and are not `quarantined`: found once
   * per step for a config and quarantine (a step's handles of one rollout, judged then moved
   * to its next stage, ask twice; at 10 000 members each pass was ~10 ms), and kept between
   * steps while the followed records say no member came, went or changed its configs (the
   * same array then, so the share's ranking is not compared member by member either).
   */
  async #eligible(
    config: string,
    quarantined: ReadonlySet<string>,
    exclude: readonly string[],
    now: number,
  ): Promise<string[]> {
    const key = JSON.stringify([config, exclude]);
    const known = this.#stepEligible.get(key);
    if (known) return known;
    const records = this.#deps.records?.(now);
    const basis = records &&
      `${records.revision}/${records.goneRevision}/${records.membersRevision}`;
    const kept = this.#keptEligible.get(key);
    if (basis !== undefined && kept?.basis === basis) {
      this.#stepEligible.set(key, kept.ids);
      return kept.ids;
    }
    const gone = this.#deps.goneAt(now);
    const eligible: string[] = [];
    for (const a of records ? records.all() : await this.#deps.agents()) {
      if (managesConfig(a, config) && !quarantined.has(a.id) && !gone.has(a.id)) {
        eligible.push(a.id);
      }
    }
    this.#stepEligible.set(key, eligible);
    if (basis !== undefined) {
      // One entry per config and quarantine asked lately: a quarantine that moved leaves one.
      if (this.#keptEligible.size >= KEPT_ELIGIBLE_MAX) this.#keptEligible.clear();
      this.#keptEligible.set(key, { basis, ids: eligible });
    }
    return eligible;
  }

  /**
   * `shareCutoff(rolloutId, eligible, percent)`, ranked again only when they changed; or
   * {@linkcode RANKING} while the hashes of a rollout's first ranking in a region of more
   * than {@linkcode StageDriverDeps.rankSlice} members are computed between steps.
   */
  #cutoff(
    rolloutId: string,
    eligible: string[],
    percent: number,
  ): number | undefined | typeof RANKING {
    if (percent <= 0 || percent >= 100 || eligible.length === 0) return undefined;
    const last = this.#ranked;
    if (
      last?.rolloutId === rolloutId && (last.eligible === eligible ||
        last.eligible.length === eligible.length &&
          last.eligible.every((a, i) => a === eligible[i]))
    ) return cutoffOfRanked(last.ranked, percent);
    const warmed = this.#warmed.get(rolloutId);
    if (warmed === false) return RANKING;
    if (
      warmed === undefined && last?.rolloutId !== rolloutId &&
      eligible.length > (this.#deps.rankSlice ?? RANK_SLICE)
    ) {
      this.#warm(rolloutId, eligible);
      return RANKING;
    }
    // Warm: only members that came since are hashed here.
    const ranked = rankShareHashes(rolloutId, eligible);
    this.#ranked = { rolloutId, eligible, ranked };
    return cutoffOfRanked(ranked, percent);
  }

  /**
   * Computes the share hashes of `eligible` in `rolloutId` (core/share.ts keeps them) a
   * slice per turn of the event loop, so that no step holds the loop for all of them; then
   * asks for a step, which ranks them from the cache (~1 ms at 10 000).
   */
  #warm(rolloutId: string, eligible: readonly string[]): void {
    const slice = this.#deps.rankSlice ?? RANK_SLICE;
    this.#warmed.set(rolloutId, false);
    this.#deps.background((async () => {
      for (let from = 0; from < eligible.length; from += slice) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        const to = Math.min(eligible.length, from + slice);
        for (let i = from; i < to; i++) shareHash(rolloutId, eligible[i]!);
      }
      // Settled meanwhile: nothing more to do for it.
      if (this.#warmed.has(rolloutId)) this.#warmed.set(rolloutId, true);
      this.#deps.stepSoon();
    })());
  }

  /** Puts the stage's candidate share on the pointer and restarts the stage's clock. */
  async #moveToStage(
    r: Stored<RolloutRecord>,
    pointer: PointerRecord,
    selector: CandidateSelector,
    preflight: boolean,
  ): Promise<void> {
    const rollout = r.value;
    const version = await this.#version(rollout.config, rollout.version);
    const newStage = rollout.regions[this.region]!.stage !== rollout.stage;
    let wrote = false;
    const stored = await writePointer(
      this.#nats,
      this.#signer,
      this.region,
      rollout.config,
      (cur) => {
        wrote = cur?.seq === pointer.seq;
        if (!cur || !wrote) return null; // moved meanwhile: the next step sees it
        return {
          active: cur.active,
          history: cur.history,
          candidate: {
            version,
            rolloutId: rollout.id,
            selector,
            ...(preflight ? { preflight: true as const } : {}),
          },
          reason: `rollout ${rollout.id} stage ${rollout.stage + 1}/${rollout.stages.length}: ` +
            (preflight ? `preflight of ${this.region}` : `${selector.percent}% of ${this.region}`),
        };
      },
      { issuedBy: `coordinator/${this.region}` },
    );
    if (!stored || !wrote) return;
    // Also while paused meanwhile: the pointer moved, and acks count from its seq. The
    // stage is the one the pointer was moved for, even if the rollout moved on since.
    await this.#update(r, () => ({
      type: "progress",
      region: this.region,
      update: newStage
        ? {
          seq: stored.seq,
          stage: rollout.stage,
          stageStartedAt: this.#iso(),
          healthySince: null,
          note: `stage ${rollout.stage + 1} started: waiting for the first acks`,
        }
        : { seq: stored.seq },
    }));
    if (newStage) {
      this.#log.info("stage started", {
        rolloutId: rollout.id,
        stage: rollout.stage + 1,
        percent: selector.percent,
      });
      await this.#auditStage(rollout, selector.percent);
    }
  }

  /**
   * Audits the start of the rollout's current stage in this region, once: the event's id
   * is the stage's own, so the audit stream's duplicate window drops a second copy. A
   * leader killed between the stage's record update and its event leaves the event to
   * the replica that takes over, which audits each running stage it first handles
   * (coordinator/process_test.ts kills a leader there).
   */
  async #auditStage(rollout: RolloutRecord, percent: number): Promise<void> {
    const key = `${rollout.id}/${rollout.stage}`;
    if (this.#stagesAudited.has(key)) return;
    await appendAuditOnce(this.#nats, {
      id: `${rollout.id}-stage-${this.region}-${rollout.stage}`,
      actor: `coordinator/${this.region}`,
      action: "rollout.stage",
      config: rollout.config,
      region: this.region,
      version: rollout.version,
      details: { rolloutId: rollout.id, stage: rollout.stage, percent },
    });
    this.#stagesAudited.add(key);
  }

  /** Judges the region's stage (judge.ts), then records it, rolls back, or raises a stall. */
  async #judge(r: Stored<RolloutRecord>, selector: CandidateSelector): Promise<void> {
    const rollout = r.value;
    const stage = rollout.stages[rollout.stage]!;
    const progress = rollout.regions[this.region]!;
    const now = this.#clock.now();
    const started = Date.parse(progress.stageStartedAt ?? new Date(now).toISOString());
    const acks = this.#deps.acks.get(rollout.config);
    const input = {
      region: this.region,
      rollout,
      stage,
      stageSeq: progress.seq,
      startedAt: started,
      selector,
      ackOf: (agent: string) => acks?.get(agent),
      now,
      ...(this.#deps.aliveOf ? { aliveOf: this.#deps.aliveOf } : {}),
      gone: this.#deps.goneAt(now),
      acksCurrent: this.#deps.acksCurrent?.() ?? true,
    };
    const records = this.#deps.records?.(now);
    let tally = this.#tallies.get(rollout.id);
    if (!records) tally?.forget(); // not told of changes meanwhile
    else if (!tally) this.#tallies.set(rollout.id, tally = new StageTally());
    const j = records && tally
      ? tally.judge(input, records)
      : judgeStage({ ...input, agents: await this.#deps.agents() });
    const counts = j.counts;
    const m = this.#deps.metrics;
    const region = this.region;
    const ended = (result: "done" | "rolled_back", gate: string) => {
      m?.stageDuration.observe({ region, result }, Math.max(0, now - started) / 1000);
      m?.gateResults.inc({ region, gate, result: result === "done" ? "pass" : "breach" });
      if (result === "rolled_back") m?.rollbacks.inc({ region, config: rollout.config });
    };
    if (j.untrusted.length > 0) {
      ended("rolled_back", "signature");
      // The signer is at fault, not the hosts: nobody is quarantined.
      await this.#end(
        r,
        "rolled_back",
        `${j.untrusted.length} of ${counts.targeted} agents in ${this.region} refused the ` +
          `pointer: its signature does not verify with the keys they trust (this coordinator ` +
          `signs with key ${this.#signer.keyId}); no agent was quarantined. Run the coordinator ` +
          `with the control plane's signing key, then activate the stable version again to ` +
          `re-sign the pointer (first: ${j.untrusted[0]})`,
        counts,
      );
      return;
    }
    if (j.failureRatio > stage.gates.maxFailureRatio) {
      ended("rolled_back", "failure_ratio");
      // A preflight installs nothing: its refusals speak of the version, not the hosts.
      // Decided now, written once the pointer is back (the rollback comes first) and a
      // slice per step; until written they count as quarantined.
      if (!stage.preflight) {
        for (const f of j.failing) {
          this.#dueQuarantines.set(`${rollout.config}/${f.agent}`, {
            agent: f.agent,
            config: rollout.config,
            reason: f.reason,
            rolloutId: rollout.id,
          });
        }
      }
      const bad = counts.rejected + counts.failed;
      await this.#end(
        r,
        "rolled_back",
        `gate breached in ${this.region} at stage ${rollout.stage + 1}: ${bad} of ` +
          `${counts.targeted} agents failed (ratio ${j.failureRatio.toFixed(2)} > ` +
          `${stage.gates.maxFailureRatio}); first: ${j.failing[0]?.agent} ${j.failing[0]?.reason}`,
        counts,
      );
      await this.writeQuarantines();
      return;
    }
    const metric = await this.#metricGates(rollout, j.empty, now);
    if (metric.breach) {
      ended("rolled_back", "metrics");
      // What the service saw, not what one host did: nobody is quarantined.
      await this.#end(
        r,
        "rolled_back",
        `metric gate breached in ${this.region} at stage ${rollout.stage + 1}: ` +
          `${metric.breach}; no agent was quarantined`,
        counts,
      );
      return;
    }
    const healthy = j.healthy && metric.waiting === undefined;
    const healthySince = healthy
      ? (progress.healthySince ?? new Date(now).toISOString())
      : undefined;
    const baked = healthySince !== undefined &&
      (j.empty || now - Date.parse(healthySince) >= stage.bakeSeconds * 1000 ||
        rollout.skipBakeStage === rollout.stage);
    const note = healthySince && !baked
      ? `${j.note}; gates hold, baking until ${
        new Date(Date.parse(healthySince) + stage.bakeSeconds * 1000).toISOString()
      }`
      : j.note + (metric.waiting ? `; waiting on ${metric.waiting}` : "");
    // Written only when something changed: this runs every step (500 ms) in every region
    // of the stage, and a write of the same values only makes the others lose their CAS.
    const changed = baked || healthySince !== progress.healthySince || note !== progress.note ||
      (Object.keys(counts) as (keyof typeof counts)[]).some((k) => progress[k] !== counts[k]);
    if (changed) {
      await this.#update(r, (x) => ({
        type: "progress",
        region: this.region,
        update: {
          ...counts,
          note,
          healthySince: healthySince ?? null,
          // Only the stage judged completes, and not once an operator has paused it.
          ...(baked && x.state === "running" && x.stage === rollout.stage
            ? { doneStage: x.stage }
            : {}),
        },
      }));
    }
    if (baked) {
      ended("done", "failure_ratio");
      if (metric.judged) m?.gateResults.inc({ region, gate: "metrics", result: "pass" });
      this.#log.info("stage done", { rolloutId: rollout.id, stage: rollout.stage + 1, note });
    } else if (now - started > (stage.gates.ackTimeoutSeconds + stage.bakeSeconds) * 2000) {
      await this.#alert(
        `stalled-${rollout.id}-${this.region}-${rollout.stage}`,
        "stalled",
        `rollout ${rollout.id} stage ${rollout.stage + 1} in ${this.region} has not completed: ` +
          note,
        rollout,
      );
    }
  }

  /**
   * Reads and judges the current stage's metric gates (none on a preflight or an empty
   * stage): the first breach, else what the first gate that does not pass says.
   */
  async #metricGates(
    rollout: RolloutRecord,
    empty: boolean,
    now: number,
  ): Promise<{ breach?: string; waiting?: string; judged: boolean }> {
    const stage = rollout.stages[rollout.stage]!;
    const gates = stage.gates.metrics;
    if (stage.preflight || empty || gates.length === 0) return { judged: false };
    const queries = gates.map((g) =>
      metricQuery(g, { region: this.region, config: rollout.config })
    );
    const source = this.#deps.metricSource;
    // A slow Prometheus must not hold the step past the lease: the gates of one rollout
    // are asked together, and none once the step has spent its budget on them.
    const spent = performance.now() - this.#stepStartedAt;
    const readings: MetricReading[] = !source
      ? queries.map(() => ({
        ok: false,
        error: "this coordinator has no Prometheus: start it with --prometheus-url",
      }))
      : spent > METRIC_STEP_BUDGET_MS
      ? queries.map(() => ({
        ok: false,
        error: `not asked this step: Prometheus queries took over ${METRIC_STEP_BUDGET_MS} ms`,
      }))
      : await Promise.all(queries.map((q) => source.read(q)));
    let waiting: string | undefined;
    for (const [i, gate] of gates.entries()) {
      const query = queries[i]!;
      const reading = readings[i]!;
      const key = `${rollout.id}/${rollout.stage}/${i}`;
      const v = judgeMetricGate(gate, query, reading, {
        now,
        outOfBoundSince: this.#outOfBound.get(key),
      });
      if (v.outOfBoundSince === undefined) this.#outOfBound.delete(key);
      else this.#outOfBound.set(key, v.outOfBoundSince);
      if (v.status === "breach") return { breach: v.note, judged: true };
      if (v.status !== "pass") waiting ??= v.note;
    }
    return { ...(waiting ? { waiting } : {}), judged: true };
  }

  /** Advances the rollout when every region of its current stage is done. */
  async #maybeAdvance(r: Stored<RolloutRecord>): Promise<void> {
    const rollout = r.value;
    const stage = rollout.stages[rollout.stage]!;
    if (!stage.regions.every((reg) => (rollout.regions[reg]?.doneStage ?? -1) >= rollout.stage)) {
      return;
    }
    if (rollout.stage + 1 < rollout.stages.length) {
      const advanced = await this.#update(
        r,
        (x) => (x.stage === rollout.stage ? { type: "advance", from: rollout.stage } : null),
      );
      if (advanced) {
        this.#log.info("on to the next stage", { rolloutId: rollout.id, stage: rollout.stage + 2 });
      }
    } else {
      await this.#complete(r);
    }
  }

  /**
   * The end of a rollout whose every stage is done, in three compare-and-set writes that
   * each step takes up where the last left off (a replica that takes over, too): mark the
   * region `promoting` (the rollout is committed: no pause or roll back now), promote the
   * region's pointer if it still carries the candidate (exactly once: the write checks it
   * does), mark the region `promoted`; then, once every region is, succeed. So a rollout
   * reads `succeeded` only when each region's pointer names its version active.
   */
  async #complete(r: Stored<RolloutRecord>): Promise<void> {
    const region = this.region;
    const settle = r.value.regions[region]?.settle;
    if (r.value.regions[region] && settle !== "promoted") {
      if (settle === undefined) {
        const committed = await this.#update(
          r,
          (x) =>
            x.state === "running" && x.regions[region]?.settle === undefined
              ? {
                type: "progress",
                region,
                update: { settle: "promoting" },
              }
              : null,
        );
        if (!committed) return; // paused, aborted or moved meanwhile: the next step sees it
      }
      const rollout = r.value;
      const current = await readPointer(this.#nats, region, rollout.config);
      if (current?.pointer.candidate?.rolloutId === rollout.id) {
        // Not promoted (the pointer moved meanwhile): the next step tries again.
        if (!await this.#settle(rollout, current.pointer, true)) return;
      } else {
        // Promoted by a step that died before its mark, or moved by an operator since: no
        // write (a second promotion would push the version into its own history).
        this.#log.info("nothing to promote: the pointer no longer carries the candidate", {
          rolloutId: rollout.id,
          activeVersion: current?.pointer.active.version,
        });
      }
      const marked = await this.#update(
        r,
        (x) =>
          x.state === "running" && x.regions[region]?.settle === "promoting"
            ? {
              type: "progress",
              region,
              update: { settle: "promoted" },
            }
            : null,
      );
      if (!marked) return;
    }
    if (Object.values(r.value.regions).every((p) => p.settle === "promoted")) {
      await this.#end(r, "succeeded", `every stage completed`);
    }
  }

  /** Ends the rollout (CAS), releases the config, audits, and raises an alert for a rollback. */
  async #end(
    r: Stored<RolloutRecord>,
    to: "succeeded" | "rolled_back",
    reason: string,
    counts?: RegionUpdate,
  ): Promise<void> {
    const rollout = r.value;
    // The end and its audit event are one (store/journal.ts): the control plane's recovery
    // records an end whose coordinator died before the event.
    const planned = {
      actor: `coordinator/${this.region}`,
      action: `rollout.${to}`,
      config: rollout.config,
      region: this.region,
      version: rollout.version,
      details: { rolloutId: rollout.id, after: rollout.transitions.length, reason },
    };
    const stored = await audited(this.#nats, planned, async () => {
      // Decided again on a fresh record after a lost race: a pause that landed first
      // holds the rollout (succeed is illegal from paused); a gate breach still rolls back.
      const ended = await this.#update(
        r,
        (x) =>
          isFinal(x.state) ? null : to === "succeeded" ? { type: "succeed", reason } : {
            type: "rollBack",
            reason,
            region: this.region,
            ...(counts ? { update: counts } : {}),
          },
      );
      if (ended) await releaseActiveRollout(this.#nats, rollout.config, rollout.id).catch(() => {});
      return ended;
    }, {
      record: (ended) =>
        ended && {
          ...planned,
          // Its place in `transitions`: what tells this end from another at recovery.
          details: {
            rolloutId: rollout.id,
            reason,
            transition: ended.value.transitions.length - 1,
          },
        },
    });
    if (!stored) return;
    this.#log.info("rollout ended", { rolloutId: rollout.id, state: to, reason });
    if (to === "rolled_back") {
      await this.#alert(`rollback-${rollout.id}`, "rolled_back", reason, rollout);
    }
    // A success promoted the pointer before (#complete); a roll back drops the candidate.
    const current = await readPointer(this.#nats, this.region, rollout.config);
    if (current?.pointer.candidate?.rolloutId === rollout.id) {
      await this.#settle(stored.value, current.pointer, to === "succeeded");
    }
  }

  /**
   * Promotes the rollout's candidate on the region's pointer (`promote`: every stage done,
   * or a record that reads succeeded with the candidate still on: written so by a
   * coordinator of before #complete) or drops it (an abort or a roll back). Only the
   * pointer read as `pointer` is changed, and only while it carries the candidate: never
   * twice. A promotion closes the config's rolled-back and stalled alerts in this region:
   * their cause is gone. True when the pointer no longer carries the candidate.
   */
  async #settle(
    rollout: RolloutRecord,
    pointer: PointerRecord,
    promote: boolean,
  ): Promise<boolean> {
    if (promote) {
      await resolveRolloutAlerts(
        this.#nats,
        this.region,
        rollout.config,
        `rollout ${rollout.id} of ${rollout.config} v${rollout.version} succeeded`,
        { by: `coordinator/${this.region}` },
      ).catch((e) => this.#log.warn("cannot resolve alerts", { rolloutId: rollout.id, error: e }));
    }
    let wrote = false;
    const after = await writePointer(
      this.#nats,
      this.#signer,
      this.region,
      rollout.config,
      (cur) => {
        wrote = false;
        if (!cur || cur.seq !== pointer.seq || cur.candidate?.rolloutId !== rollout.id) return null;
        wrote = true;
        return promote
          ? {
            active: cur.candidate.version,
            history: [cur.active.version, ...cur.history].slice(0, 32),
            reason: `rollout ${rollout.id} completed: v${cur.candidate.version.version} active`,
          }
          : {
            active: cur.active,
            history: cur.history,
            reason: `rollout ${rollout.id} ${rollout.state}`,
          };
      },
      { issuedBy: `coordinator/${this.region}` },
    );
    if (wrote) {
      this.#log.info(promote ? "pointer promoted" : "pointer restored to the stable version", {
        rolloutId: rollout.id,
        config: rollout.config,
      });
    }
    return after?.candidate?.rolloutId !== rollout.id;
  }

  /**
   * Writes the event `decide` picks from the rollout (`updateRollout`: compare-and-set on
   * `r`'s revision, deciding again from the fresh record after a lost race) and keeps `r`
   * current. Null when nothing was written: `decide` declined, its event is illegal in the
   * fresh record's state, the rollout is gone, or it kept changing.
   */
  async #update(
    r: Stored<RolloutRecord>,
    decide: (x: RolloutRecord) => RolloutEvent | null,
  ): Promise<Stored<RolloutRecord> | null> {
    let result: UpdateRolloutResult;
    try {
      result = await updateRollout(this.#nats, r.value.id, decide, {
        by: `coordinator/${this.region}`,
        known: { value: r.value, revision: r.revision },
        now: () => this.#iso(),
        maxAttempts: 10,
        retry: false, // the next step retries; a step must not wait out an election
      });
    } catch (e) {
      if (!(e instanceof RolloutContentionError)) throw e;
      this.#log.warn("rollout not written", { rolloutId: r.value.id, error: e });
      return null;
    }
    if ("skipped" in result) {
      if (result.skipped === "illegal") {
        this.#log.warn("rollout not written", { rolloutId: r.value.id, error: result.error });
      }
      return null;
    }
    r.value = result.stored.value;
    r.revision = result.stored.revision;
    return result.stored;
  }

  async #version(config: string, version: number): Promise<VersionRecord> {
    const kv = await this.#nats.kv(Buckets.versions);
    const found = await readKv(kv, versionKey(config, version), VersionRecord);
    if (!found) throw new Error(`Version ${config} v${version} does not exist`);
    return found.value;
  }

  /**
   * The region's agents quarantined for `config`, the quarantine read once per step (every
   * rollout of it uses it). A record of before quarantine was per config (no config in its
   * key) fences the agent off every config.
   */
  async #quarantinedFor(config: string): Promise<Set<string>> {
    const q = await (this.#stepQuarantine ??= this.#readQuarantine());
    const out = new Set([...q.every, ...(q.byConfig.get(config) ?? [])]);
    for (const due of this.#dueQuarantines.values()) {
      if (due.config === config) out.add(due.agent);
    }
    return out;
  }

  async #readQuarantine(): Promise<Quarantine> {
    const q: Quarantine = { every: new Set(), byConfig: new Map() };
    for (const e of await listEntries(this.#nats, Buckets.quarantine, `${this.region}.>`)) {
      const parsed = parseQuarantineKey(e.key);
      if (!parsed || e.operation !== "PUT") continue;
      if (parsed.config === undefined) q.every.add(parsed.agent);
      else {q.byConfig.set(
          parsed.config,
          (q.byConfig.get(parsed.config) ?? new Set()).add(parsed.agent),
        );}
    }
    return q;
  }

  /**
   * Writes the next slice of the quarantines decided at breaches, some at a time; asks for
   * the next step at once while more wait and this slice wrote any. A write that fails
   * stays due (the next step tries it again).
   */
  async writeQuarantines(): Promise<void> {
    if (this.#dueQuarantines.size === 0) return;
    const slice = [...take(this.#dueQuarantines, this.#deps.quarantineSlice ?? QUARANTINE_SLICE)];
    let written = 0;
    let failed: unknown;
    for (let i = 0; i < slice.length; i += QUARANTINE_PARALLEL) {
      await Promise.all(
        slice.slice(i, i + QUARANTINE_PARALLEL).map(async ([key, q]) => {
          try {
            await this.#quarantine(q);
            this.#dueQuarantines.delete(key);
            written++;
          } catch (e) {
            failed ??= e;
          }
        }),
      );
    }
    if (failed !== undefined) {
      this.#log.warn("cannot write quarantines yet; trying again at the next step", {
        due: this.#dueQuarantines.size,
        error: failed,
      });
    }
    if (written > 0 && this.#dueQuarantines.size > 0) this.#deps.stepSoon();
  }

  /**
   * The coordinator closes: the quarantines it decided and did not write are dropped, with
   * a warning naming how many (their rollouts are rolled back already: the region is safe,
   * and a host that fails again is quarantined at that breach). A replica that loses the
   * lease keeps them, and writes them if it leads again.
   */
  close(): void {
    if (this.#dueQuarantines.size === 0) return;
    this.#log.warn("closing: quarantines decided and not written are dropped", {
      dropped: this.#dueQuarantines.size,
      first: this.#dueQuarantines.values().next().value?.agent,
    });
    this.#dueQuarantines.clear();
  }

  async #quarantine({ agent, config, reason, rolloutId }: DueQuarantine): Promise<void> {
    const kv = await this.#nats.kv(Buckets.quarantine);
    const rec = QuarantineRecord.parse({
      region: this.region,
      agent,
      config,
      reason,
      rolloutId,
      at: this.#iso(),
    });
    await audited(this.#nats, {
      actor: `coordinator/${this.region}`,
      action: "agent.quarantine",
      config,
      region: this.region,
      details: { agent, reason, rolloutId },
    }, () => kv.put(quarantineKey(this.region, agent, config), JSON.stringify(rec)));
    this.#log.warn("quarantined", { agent, config, reason });
  }

  async #alert(
    id: string,
    kind: AlertRecord["kind"],
    message: string,
    rollout: RolloutRecord,
  ): Promise<void> {
    const kv = await this.#nats.kv(Buckets.alerts);
    const rec = AlertRecord.parse({
      id,
      kind,
      region: this.region,
      config: rollout.config,
      rolloutId: rollout.id,
      message,
      at: this.#iso(),
    });
    await kv.create(id, JSON.stringify(rec)).catch((e) => {
      if (!isCasConflict(e)) throw e; // raised already
    });
  }

  async #audit(
    rollout: RolloutRecord,
    action: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await appendAudit(this.#nats, {
      actor: `coordinator/${this.region}`,
      action,
      config: rollout.config,
      region: this.region,
      version: rollout.version,
      details: { rolloutId: rollout.id, ...details },
    });
  }
}

function sameSelector(a: CandidateSelector, b: CandidateSelector): boolean {
  return a.percent === b.percent && a.agents.join() === b.agents.join() &&
    a.exclude.join() === b.exclude.join() && a.hashCutoff === b.hashCutoff &&
    JSON.stringify(a.labels ?? {}) === JSON.stringify(b.labels ?? {});
}
