/**
 * One replica of a region's coordinator: it takes or renews the region's lease every step
 * and, while it leads, follows the region's acks and agent records (follow.ts), scans the
 * fleet for drift and failure clusters (health.ts), checks the region's blob copy, and
 * hands every rollout that names the region to the stage driver (stages.ts).
 *
 * Invariants: only the lease holder acts; nothing is kept outside JetStream but caches a
 * new leader rebuilds at once; the lease runs on the monotonic clock, records on the wall
 * clock; close() ends every follow and releases the lease.
 *
 * @module
 */
import {
  ackPrecheck,
  type AckRecord,
  AckRejection,
  type AckVerdict,
  ackVerdictSignedBy,
  agentIsStale,
  AgentRecord,
  type AliveSignal,
  Buckets,
  lastSignMs,
  type LivenessRecord,
  recordKeepAliveSeconds,
  type RecordSigner,
  RolloutRecord,
  Streams,
  Subjects,
  summaryKeepAliveSeconds,
  type TallyRecords,
  withAcks,
} from "@atlas/core";
import {
  appendAudit,
  type AtlasNats,
  type BlobCopyCheck,
  checkBlobCopy,
  type ComponentLogger,
  componentLogger,
  type CoordinatorMetrics,
  EnrolmentBook,
  type FleetView,
  isCasConflict,
  type LineSink,
  listEntries,
  listKeys,
  type Logger,
  rebuildBlobCopy,
  type StoredAck,
  storedAck,
} from "@atlas/store";
import { type Clock, Lease, systemClock } from "./lease.ts";
import { type FollowStats, SubjectFollow } from "./follow.ts";
import { StageDriver } from "./stages.ts";
import { type Gone, GoneAgents } from "./gone.ts";
import type { MetricSource } from "./prometheus_source.ts";
import { scanFleet } from "./health.ts";
import { Beacon } from "./beacon.ts";
import { AckChecks } from "./ack_checks.ts";

/** Ack check threads by default: the cores less one (the step's), at least 1, at most 4. */
function defaultAckCheckThreads(): number {
  return Math.max(1, Math.min(4, (navigator.hardwareConcurrency ?? 2) - 1));
}

/** A follow of agent records silent this long (wall clock) is replaced. */
const FOLLOW_SILENCE_MS = 20_000;

/** Most handles of one rollout in one step (judged done → advanced → pointer moved). */
const HANDLES_PER_STEP = 4;

/** How often the leader scans its fleet for drift and failure clusters. */
const SCAN_EVERY_MS = 10_000;
/**
 * Members a fleet scan brings up to their acks per step (the scan runs over as many steps
 * as it needs, then raises and resolves its alerts): at 10 000 agents, merging every
 * record with its acks in one step was 12-27 ms, and it fell on a rollout's steps.
 */
const SCAN_SLICE = 2_500;
/**
 * At most this many acks are held for an enrolment yet to arrive (#rejudgeUnenrolled): an
 * unenrolled connection picks its acks' config token, so without a bound it could fill
 * the leader's memory with one held ack per made-up config.
 */
export const HELD_UNENROLLED_ACKS_MAX = 10_000;
/**
 * An agent whose acks are held is looked up in the enrolments bucket at most this often,
 * and at most {@linkcode LOOKUPS_PER_STEP} agents a step (#lookUpUnenrolled).
 */
const LOOKUP_EVERY_MS = 10_000;
const LOOKUPS_PER_STEP = 16;
/** A region of this many enrolled agents gets its first ack check thread before any burst. */
const WARM_CHECKS_AT = 1_000;
/**
 * Records judged against the enrolments per step ahead of any rollout (#prejudge): at
 * 10 000 agents a leader's first rollout step judged them all, ~8 ms of its largest step.
 */
const PREJUDGE_SLICE = 5_000;

/** Wall-clock milliseconds (timestamps, bake times); injectable for tests. */
export interface WallClock {
  now(): number;
}

/** Options of {@linkcode RegionCoordinator}. */
export interface CoordinatorOptions {
  region: string;
  /** This replica's name. @default "<hostname>-<pid>" */
  replica?: string;
  /** Wall clock of records, bake times and ack timeouts. @default Date.now */
  clock?: WallClock;
  /**
   * Monotonic clock of the lease: never the wall clock, which an NTP step can move and
   * so let two leaders overlap. @default systemClock (performance.now)
   */
  leaseClock?: Clock;
  /** Lease ttl. @default 5_000 */
  leaseTtlMs?: number;
  /**
   * Where this replica's log lines go, formatted (tests keep them to print on failure).
   * @default the process log (see `configureLogging` in `@atlas/store`)
   */
  log?: LineSink;
  /** Where to count what it sees (`coordinatorMetrics()`); nothing is counted without. */
  metrics?: CoordinatorMetrics | undefined;
  /** Where metric gates are read (`PrometheusSource`); stages with one wait without. */
  metricSource?: MetricSource | undefined;
  /**
   * Members a fleet scan looks at per step; a larger region is scanned over several steps,
   * and its alerts written at the last. @default 2_500
   */
  scanSlice?: number;
  /**
   * Eligible members past which a rollout's share is first ranked between steps, this many
   * share hashes per turn of the event loop, instead of inside one step. @default 2_000
   */
  rankSlice?: number;
  /**
   * Quarantines written per step after a breach moved the pointer back; the rest in the
   * steps that follow at once. @default 256
   */
  quarantineSlice?: number;
  /**
   * Time the follows' work on each ack and agent record ({@linkcode RegionCoordinator.followStats}),
   * as benchmarks do; it costs two clock readings per message. @default false
   */
  timeFollows?: boolean;
  /**
   * Worker threads that check the signatures of bursts of acks (coordinator/ack_checks.ts);
   * 0 checks every ack on the JavaScript thread. @default the cores less one, 1 to 4
   */
  ackCheckThreads?: number;
  /** Seconds between the leader's region beacons (coordinator/beacon.ts). @default 30 */
  beaconSeconds?: number;
  /**
   * Agents of the region one server takes per second when they all reconnect at once; the
   * beacon tells agents to spread over `agents / rate` s (core/reconnect.ts). @default 500
   */
  reconnectRatePerSecond?: number;
}

/** One replica of a region's coordinator. */
export class RegionCoordinator implements AsyncDisposable {
  readonly region: string;
  readonly replica: string;
  readonly lease: Lease;
  readonly #nats: AtlasNats;
  readonly #signer: RecordSigner;
  readonly #clock: WallClock;
  readonly #logging: ComponentLogger;
  readonly #log: Logger;
  /**
   * Newest ack per config, then agent, of this region, while leading: only acks that count
   * (signed by the agent's enrolled key, core/ack_signature.ts); a forged one never enters.
   * By config first: a stage looks up every member's ack of one config each step.
   */
  readonly #acks = new Map<string, Map<string, AckRecord>>();
  /** The region's enrolments, which decide which acks count. */
  readonly #enrolments: EnrolmentBook;
  /**
   * Each record as last judged ({@linkcode #asJudged}) and at which enrolments revision: a
   * step judges every member, and the book changes far less often than a step comes.
   */
  #judgedRecords = new WeakMap<AgentRecord, { enrolments: number; judged: AgentRecord | null }>();
  /** The pass of #prejudge under way (the records left, and the book's revision at its start). */
  #prejudging: { records: Iterator<AgentRecord>; revision: number } | undefined;
  /** The enrolments revision the last whole pass of #prejudge judged every record at. */
  #prejudgedAt = -1;
  /** Each record brought up to its acks ({@linkcode #current}), and the acks it took. */
  readonly #merged = new WeakMap<
    AgentRecord,
    { acks: (AckRecord | undefined)[]; merged: AgentRecord }
  >();
  /**
   * The newest ack per `<config>/<agent>` that did not count only because its agent was not
   * enrolled, and the book's revision they were last judged at (#rejudgeUnenrolled).
   */
  readonly #unenrolledAcks = new Map<string, StoredAck>();
  /** Where the acks' signatures are checked (off this thread for bursts). */
  readonly #ackChecks: AckChecks;
  /** Acks delivered before the acks follow was ready whose check is not answered yet. */
  #backlogChecks = 0;
  #unenrolledJudgedAt = -1;
  /** When each agent with held acks was last looked up in the enrolments bucket. */
  readonly #lookedUp = new Map<string, number>();
  /** Agents found not enrolled (warned about once). */
  readonly #unenrolledSeen = new Set<string>();
  /** Acks that did not count, by reason (logged, never judged). */
  readonly unverifiedAcks = new Map<string, number>();
  readonly #acksFollow: SubjectFollow;
  /** Follows being set up and their loops: close() waits for them. */
  readonly #background = new Set<Promise<unknown>>();
  #closed = false;
  /** Ends the wait between steps ({@linkcode untilNextStep}): on close, or asked for. */
  readonly #stopWaiting = new Set<() => void>();
  /** A step was asked for while none was awaited: the next wait ends at once. */
  #stepDue = false;
  /** The region's agent records by id, kept current by following the agents bucket. */
  readonly #agentRecords = new Map<string, AgentRecord>();
  readonly #agentsFollow: SubjectFollow;
  /** Grows with every change the records follow makes to {@linkcode #agentRecords}. */
  #recordChanges = 0;
  /** Grows each time the records follow starts again (its records dropped, read anew). */
  #recordsEpoch = 0;
  /** Grows when a followed record comes, goes, or changes which configs it manages. */
  #membersRevision = 0;
  #shortest: { records: number; seconds: number } | undefined;
  /**
   * The liveness summary's keep-alive over the followed records, kept as they change
   * ({@linkcode #keepAliveMoved}); undefined: to be found again.
   */
  #keepAlive: number | undefined;
  readonly #stages: StageDriver;
  /** The region's agent records as the stage driver judges them, this step. */
  #stepAgents: Promise<AgentRecord[]> | undefined;
  readonly #beacon: Beacon;
  /** The last check of the region's blob copy: a stall shows only against it. */
  #copyCheck: BlobCopyCheck | undefined;
  /** The copy was found incomplete at the last check too. */
  #copyIncomplete = false;
  #lastScan = -Infinity;
  /** Members per step of a fleet scan ({@linkcode CoordinatorOptions.scanSlice}). */
  readonly #scanSlice: number;
  /**
   * The fleet scan under way: the records it was begun with, how many it has looked at,
   * and the live ones among them brought up to their acks. Dropped when the lease is.
   */
  #scan: { records: AgentRecord[]; done: number; live: AgentRecord[] } | undefined;
  /** Drift heals already raised as alerts (see scanFleet). */
  readonly #healsSeen = new Map<string, string>();
  readonly #metrics: CoordinatorMetrics | undefined;
  /** Acks at or after this wall-clock time are new; older ones replay history. */
  readonly #since: number;
  /**
   * Wall-clock ms of each agent's newest alive ping (`atlas.alive.<region>.*`), heard by
   * every replica, leading or not, so a takeover knows at once who is alive.
   */
  readonly #lastAlive = new Map<string, number>();
  /** The region's gone agents, kept between steps (coordinator/gone.ts). */
  readonly #gone = new GoneAgents((agent) => this.#aliveOf(agent));
  /** The records the last step read when it did not follow them (see #agents). */
  #readRecords: ReadonlyMap<string, AgentRecord> = new Map();
  readonly #aliveSub: ReturnType<AtlasNats["nc"]["subscribe"]>;
  /** Since when pings have been heard without a break (start, or the last reconnect). */
  #listeningSinceMs: number;
  #reconnectsSeen: number;
  /** The connection was checked in this synchronous run (see #listeningSince). */
  #listeningChecked = false;
  /** The last liveness summary written: its silent agents and when. */
  #livenessWritten: { key: string; at: number } | undefined;
  /** Per config: the newest pointer seq acked, and its first and last applied ack. */
  readonly #skew = new Map<string, { seq: number; first: number; last: number }>();

  constructor(nats: AtlasNats, signer: RecordSigner, leases: Lease, options: CoordinatorOptions) {
    this.#nats = nats;
    this.#signer = signer;
    this.lease = leases;
    this.region = options.region;
    this.replica = options.replica ?? `${Deno.hostname()}-${Deno.pid}`;
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#logging = componentLogger(
      "coordinator",
      { region: this.region, replica: this.replica },
      { sink: options.log },
    );
    this.#log = this.#logging.logger;
    this.#metrics = options.metrics;
    this.#scanSlice = options.scanSlice ?? SCAN_SLICE;
    const slices = [
      [this.#scanSlice, "scan", "members per step"],
      [options.rankSlice, "rank", "share hashes per turn"],
      [options.quarantineSlice, "quarantine", "agents per step"],
    ] as const;
    for (const [n, verb, what] of slices) {
      if (n !== undefined && !(Number.isInteger(n) && n > 0)) {
        throw new RangeError(`Cannot ${verb} ${n} ${what}: give a positive whole number`);
      }
    }
    this.#since = this.#clock.now();
    this.#metrics?.trackFleet(() => this.#fleetView());
    this.#enrolments = new EnrolmentBook(nats, { region: this.region });
    this.#listeningSinceMs = this.#clock.now();
    this.#reconnectsSeen = nats.reconnects;
    const alivePrefix = Subjects.aliveOf(this.region).slice(0, -1);
    this.#aliveSub = nats.nc.subscribe(Subjects.aliveOf(this.region), {
      callback: (err, m) => {
        if (err) return;
        const agent = m.subject.slice(alivePrefix.length);
        this.#lastAlive.set(agent, this.#clock.now());
        this.#gone.heard(agent);
      },
    });
    this.#ackChecks = new AckChecks({
      threads: options.ackCheckThreads ?? defaultAckCheckThreads(),
      onThreadError: (e) =>
        this.#log.error("an ack check thread failed; checking its acks on this thread", {
          error: e,
        }),
    });
    this.#metrics?.trackAckChecks(() => {
      const c = this.#ackChecks;
      return {
        region: this.region,
        pending: c.waiting,
        threads: c.threads,
        cpuSeconds: c.cpuMicros / 1e6,
      };
    });
    this.#acksFollow = new SubjectFollow(nats, {
      stream: Streams.acks,
      filter: `atlas.ack.${this.region}.>`,
      timed: options.timeFollows === true,
      onMessage: (m) => {
        const stored = storedAck(m);
        if (!stored) return;
        const pre = ackPrecheck(
          stored.ack,
          stored.storage,
          this.#enrolments.get(stored.ack.region, stored.ack.agent),
        );
        if ("verdict" in pre) return this.#judged(stored, pre.verdict, m.subject);
        // Delivered before the follow was ready: `following` waits for its check too.
        const backlog = !this.#acksFollow.ready;
        if (backlog) this.#backlogChecks++;
        this.#ackChecks.submit(pre.check, (signer) => {
          if (backlog) this.#backlogChecks--;
          this.#judged(stored, ackVerdictSignedBy(pre.check, signer), m.subject);
        });
      },
    });
    // The region's agent records (the last of each, then every change), so a step reads
    // them from memory: at 10 000 agents, one get per agent every 500 ms was 10 000 gets.
    const prefix = Subjects.kvKey(Buckets.agents, `${this.region}.`);
    this.#agentsFollow = new SubjectFollow(nats, {
      stream: `KV_${Buckets.agents}`,
      filter: `${prefix}*`,
      timed: options.timeFollows === true,
      onReset: () => {
        this.#recordsEpoch++;
        this.#agentRecords.clear();
        this.#gone.forget();
        this.#recordChanges++;
        this.#keepAlive = undefined;
      },
      onMessage: (m) => {
        this.#recordChanges++;
        const id = m.subject.slice(prefix.length);
        this.#gone.changed(id);
        this.#stages.changed(id);
        const op = m.headers?.get("KV-Operation");
        const before = this.#agentRecords.get(id);
        if (op === "DEL" || op === "PURGE") {
          if (before) this.#membersRevision++;
          this.#agentRecords.delete(id);
          this.#lastAlive.delete(id); // a removed agent's pings are no longer asked about
          this.#keepAliveMoved(before, undefined);
        } else {
          const rec = AgentRecord.safeParse(m.json());
          if (rec.success) {
            if (!before || !sameConfigs(before, rec.data)) this.#membersRevision++;
            this.#agentRecords.set(id, rec.data);
            this.#keepAliveMoved(before, rec.data);
          }
        }
      },
    });
    this.#beacon = new Beacon(nats, {
      region: this.region,
      log: this.#log,
      ...(options.beaconSeconds === undefined ? {} : { everySeconds: options.beaconSeconds }),
      // Every agent with a record counts: a departed one does not reconnect, but a region's
      // count only moves by what leaves, and spreading a little wider costs nothing.
      agents: () => this.#agentRecords.size,
      ...(options.reconnectRatePerSecond === undefined
        ? {}
        : { reconnectRatePerSecond: options.reconnectRatePerSecond }),
    });
    this.#stages = new StageDriver({
      nats,
      signer,
      region: this.region,
      clock: this.#clock,
      log: this.#log,
      // Once per step: a step judges every member of the region, and at 10 000 agents each
      // pass over them (copy, enrolment lookup) cost ~10 ms; a rollout's handles in a step
      // made up to eight. Acks are read live (ackOf); records as of the step's first ask.
      agents: () =>
        this.#stepAgents ??= this.#agents().then((list) => {
          const out: AgentRecord[] = [];
          for (const a of list) {
            const judged = this.#asJudged(a);
            if (judged) out.push(judged);
          }
          return out;
        }),
      acks: this.#acks,
      // While its follow (re)starts or reads a burst, or acks wait for their signature check
      // (the backlog's among them), an ack not counted yet is not missing.
      acksCurrent: () => this.#acksFollow.current && this.#ackChecks.waiting === 0,
      aliveOf: (agent) => this.#aliveOf(agent),
      goneAt: (now) => this.#goneAt(now).ids,
      records: (now) => this.#tallyRecords(now),
      metrics: this.#metrics,
      metricSource: options.metricSource,
      rankSlice: options.rankSlice,
      quarantineSlice: options.quarantineSlice,
      background: (work) => this.#track(work),
      stepSoon: () => this.#stepSoon(),
    });
  }

  /**
   * True once this replica follows its region's acks and agent records, each delivered up
   * to where the stream stood when the follow began (and those acks' signatures checked, on
   * whichever thread): a step then judges from memory instead
   * of reading every record (a leader that just took over reads them until then).
   */
  get following(): boolean {
    return this.#acksFollow.ready && this.#backlogChecks === 0 && this.#agentsFollow.ready;
  }

  /** Acks held until their agent's enrolment arrives (at most {@linkcode HELD_UNENROLLED_ACKS_MAX}). */
  get heldUnenrolledAcks(): number {
    return this.#unenrolledAcks.size;
  }

  /** Keeps `ack` (verified) if it is the agent's newest for its config, and observes it. */
  /** Acts on the verdict on one ack of the follow: counted, held for its enrolment, or ignored. */
  #judged(stored: StoredAck, verdict: AckVerdict, subject: string): void {
    if (!verdict.counts && verdict.reason === AckRejection.unenrolled) {
      // Its enrolment may only not have reached this replica yet: judged again when
      // the book changes (#rejudgeUnenrolled), as status and evidence would judge it.
      const key = `${stored.ack.config}/${stored.ack.agent}`;
      const held = this.#unenrolledAcks.get(key);
      if (
        held ? held.ack.seq <= stored.ack.seq : this.#unenrolledAcks.size < HELD_UNENROLLED_ACKS_MAX
      ) {
        this.#unenrolledAcks.set(key, stored);
      }
    }
    if (!verdict.counts) {
      this.#metrics?.ignoredAcks.inc({ region: this.region, reason: verdict.reason });
      const seen = this.unverifiedAcks.get(verdict.reason) ?? 0;
      this.unverifiedAcks.set(verdict.reason, seen + 1);
      if (seen === 0) {
        this.#log.warn("an ack does not count: ignored", {
          reason: verdict.reason,
          subject,
        });
      }
      return;
    }
    this.#count(stored.ack);
  }

  #count(ack: AckRecord): void {
    let byAgent = this.#acks.get(ack.config);
    if (!byAgent) this.#acks.set(ack.config, byAgent = new Map());
    const known = byAgent.get(ack.agent);
    if (!known || known.seq < ack.seq || (known.seq === ack.seq && known.at <= ack.at)) {
      byAgent.set(ack.agent, ack);
      this.#stages.changed(ack.agent);
    }
    this.#observe(ack);
  }

  /**
   * Judges again the acks held because their agent was not enrolled, once the enrolments
   * changed: an agent enrolled and acked at once may be heard before its enrolment is.
   */
  #rejudgeUnenrolled(): void {
    const revision = this.#enrolments.revision;
    if (this.#unenrolledAcks.size === 0 || revision === this.#unenrolledJudgedAt) return;
    this.#unenrolledJudgedAt = revision;
    for (const [key, stored] of this.#unenrolledAcks) {
      const verdict = this.#enrolments.verdict(stored.ack, stored.storage);
      if (verdict.counts) this.#count(stored.ack);
      if (verdict.counts || verdict.reason !== AckRejection.unenrolled) {
        this.#unenrolledAcks.delete(key);
      }
    }
  }

  /**
   * Looks up, in the bucket, the enrolments of agents whose acks are held: the book's
   * follow may have missed them (a watch silent through a partition, seen in the gateway
   * fault test), and their acks would never count: a healthy stage rolled back for "no
   * ack". In the background; what is found is judged at the next step.
   */
  #lookUpUnenrolled(): void {
    const now = this.#clock.now();
    let asked = 0;
    for (const stored of this.#unenrolledAcks.values()) {
      const agent = stored.ack.agent;
      const at = this.#lookedUp.get(agent);
      if (at !== undefined && now - at < LOOKUP_EVERY_MS) continue;
      if (asked++ >= LOOKUPS_PER_STEP) break;
      if (this.#lookedUp.size >= HELD_UNENROLLED_ACKS_MAX) this.#lookedUp.clear();
      this.#lookedUp.set(agent, now);
      this.#track(
        this.#enrolments.lookUp(this.region, agent).then((found) => {
          if (found) this.#log.info("found an enrolment the book had missed", { agent });
        }, (e) => this.#log.warn("cannot look up an enrolment", { agent, error: e })),
      );
    }
  }

  /** Counts a new ack: propagation as the agent measured it, arrival here, ack skew. */
  #observe(ack: AckRecord): void {
    const m = this.#metrics;
    const at = Date.parse(ack.at);
    if (!m || !(at >= this.#since)) return;
    const now = this.#clock.now();
    m.acks.inc({ region: this.region, config: ack.config, status: ack.status });
    m.propagation.observe(
      { region: this.region, config: ack.config, status: ack.status },
      ack.latencyMs / 1000,
    );
    m.ackArrival.observe(
      { region: this.region, config: ack.config },
      Math.max(0, now - (at - ack.latencyMs)) / 1000,
    );
    if (ack.status !== "applied") return;
    const skew = this.#skew.get(ack.config);
    if (!skew || skew.seq < ack.seq) {
      this.#skew.set(ack.config, { seq: ack.seq, first: now, last: now });
    } else if (skew.seq === ack.seq) {
      skew.last = now;
    } else return;
    const s = this.#skew.get(ack.config)!;
    m.ackSkew.set({ region: this.region, config: ack.config }, (s.last - s.first) / 1000);
  }

  /**
   * What this replica heard of `agent`'s alive pings. Pings go unheard while disconnected,
   * so a reconnect starts the listening window again (silence before it proves nothing).
   */
  #aliveOf(agent: string): AliveSignal {
    return { lastSeenMs: this.#lastAlive.get(agent), listeningSinceMs: this.#listeningSince() };
  }

  #listeningSince(): number {
    // Asked for every member in a pass over the region: the connection's state changes
    // only between tasks, so it is read once per synchronous run.
    if (this.#listeningChecked) return this.#listeningSinceMs;
    this.#listeningChecked = true;
    queueMicrotask(() => this.#listeningChecked = false);
    const nats = this.#nats;
    if (nats.reconnects !== this.#reconnectsSeen || nats.disconnectedForMs > 0) {
      this.#reconnectsSeen = nats.reconnects;
      this.#listeningSinceMs = this.#clock.now();
    }
    return this.#listeningSinceMs;
  }

  /**
   * Writes the region's liveness summary (core/liveness.ts) for the control plane, which
   * hears no pings: when the set of agents judged gone without a goodbye changes, and every
   * `summaryKeepAliveSeconds` otherwise (core/liveness.ts). Leader only.
   */
  async #writeLiveness(): Promise<void> {
    const now = this.#clock.now();
    const listeningSinceMs = this.#listeningSince();
    const keepAliveSeconds = await this.#summaryKeepAlive();
    const silent = this.#goneAt(now).silent;
    const key = JSON.stringify([listeningSinceMs, [...silent.keys()].sort()]);
    const last = this.#livenessWritten;
    if (last?.key === key && now - last.at < keepAliveSeconds * 1000) return;
    // Marked first: a failed write is tried again at the next keep-alive, not every step.
    this.#livenessWritten = { key, at: now };
    const gone: Record<string, string> = {};
    for (const a of silent.values()) {
      gone[a.id] = new Date(lastSignMs(a, this.#aliveOf(a.id))).toISOString();
    }
    const record: LivenessRecord = {
      region: this.region,
      at: new Date(now).toISOString(),
      listeningSince: new Date(listeningSinceMs).toISOString(),
      keepAliveSeconds,
      gone,
    };
    await this.#nats.kvWrite(Buckets.liveness, this.region, JSON.stringify(record));
  }

  /**
   * The region's gone agents at `now` (coordinator/gone.ts): kept between steps while the
   * records are followed, judged afresh from the records last read while they are not.
   */
  #goneAt(now: number): Gone {
    const kept = this.#agentsFollow.ready;
    const records = kept ? this.#agentRecords : this.#readRecords;
    return this.#gone.at(now, this.#listeningSince(), records, kept);
  }

  /**
   * An agent's record brought up to its newest verified acks (core/agent_state.ts): agents
   * write no record after an apply, their signed ack says it.
   */
  #current(record: AgentRecord): AgentRecord {
    const ackOf = (config: string) => this.#acks.get(config)?.get(record.id);
    // Kept while the record and its acks are the same objects: the fleet scan and the
    // metrics' fleet view ask for every member, and a merge allocates a record.
    const known = this.#merged.get(record);
    if (known) {
      let i = 0;
      let same = true;
      for (const config in record.configs) {
        if (ackOf(config) !== known.acks[i++]) {
          same = false;
          break;
        }
      }
      if (same) return known.merged;
    }
    const acks: (AckRecord | undefined)[] = [];
    for (const config in record.configs) acks.push(ackOf(config));
    const merged = withAcks(record, ackOf);
    this.#merged.set(record, { acks, merged });
    return merged;
  }

  /** Live agents per config and applied version, for the metrics. */
  #fleetView(): FleetView {
    const now = this.#clock.now();
    const counts = new Map<string, { config: string; version: string; count: number }>();
    const gone = this.#goneAt(now).ids;
    for (const record of this.#agentRecords.values()) {
      if (gone.has(record.id)) continue;
      for (const [config, st] of Object.entries(this.#current(record).configs)) {
        const version = st.applied ? `${st.applied.version}` : "none";
        const key = `${config}@${version}`;
        const c = counts.get(key) ?? { config, version, count: 0 };
        c.count++;
        counts.set(key, c);
      }
    }
    return { region: this.region, agents: [...counts.values()] };
  }

  /**
   * Creates a replica of the coordinator of `options.region`.
   *
   * @example
   * ```ts
   * const c = await RegionCoordinator.create(nats, signer, { region: "us-east" });
   * setInterval(() => c.step(), 500);
   * ```
   */
  static async create(
    nats: AtlasNats,
    signer: RecordSigner,
    options: CoordinatorOptions,
  ): Promise<RegionCoordinator> {
    const replica = options.replica ?? `${Deno.hostname()}-${Deno.pid}`;
    const clock = options.clock ?? { now: () => Date.now() };
    const ttlMs = options.leaseTtlMs ?? 5_000;
    // A lease request slower than a quarter of the ttl is of no use: fail it early, so a
    // step stuck on an unreachable primary ends soon after the primary is back. Not direct
    // gets: a replica that lags (one just restarted) answers them with an old lease, and
    // in the leader-kill fault test that kept the rollout's region leaderless for a minute.
    const leases = await nats.kv(Buckets.leases, { timeoutMs: Math.max(250, ttlMs / 4) });
    const lease = new Lease(leases, options.region, replica, {
      ttlMs,
      clock: options.leaseClock ?? systemClock,
    });
    return new RegionCoordinator(nats, signer, lease, { ...options, replica, clock });
  }

  #iso(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  /**
   * What the follows of acks and of agent records have cost inside their `onMessage` since
   * this replica started (each ack's parse and signature check, each record's parse): the
   * CPU that runs while a step waits on NATS but belongs to no step. Their time is 0 unless
   * the replica was created with `timeFollows`.
   */
  followStats(): { acks: FollowStats; agents: FollowStats } {
    return { acks: { ...this.#acksFollow.stats }, agents: { ...this.#agentsFollow.stats } };
  }

  /**
   * The acks' signature checks so far: how many, on how many threads now, and the CPU those
   * threads used (µs, Linux): work of no step, done beside them.
   */
  ackCheckStats(): { submitted: number; answered: number; threads: number; cpuMicros: number } {
    const c = this.#ackChecks;
    return {
      submitted: c.submitted,
      answered: c.answered,
      threads: c.threads,
      cpuMicros: c.cpuMicros,
    };
  }

  /**
   * Steps every `tickMs` (after each step ends) until {@linkcode close}; a failed step is
   * logged and the next one tries again.
   *
   * @example
   * ```ts
   * await using c = await RegionCoordinator.create(nats, signer, { region: "us-east" });
   * c.run(500);
   * ```
   */
  run(tickMs = 500): void {
    if (!(tickMs > 0)) {
      throw new RangeError(`Cannot step every ${tickMs} ms: give a positive number`);
    }
    this.#track((async () => {
      while (!this.#closed) {
        await this.step().catch((e) => this.#log.error("step failed", { error: e }));
        await this.untilNextStep(tickMs);
      }
    })());
  }

  /**
   * Resolves when the next step is due: `tickMs` from now, or sooner when work begun
   * between steps asks for one (a rollout's share ranked in a large region:
   * coordinator/stages.ts), or when the replica closes. What {@linkcode run} waits between
   * steps; a caller that steps by itself (a benchmark) waits the same way.
   */
  untilNextStep(tickMs: number): Promise<void> {
    if (this.#stepDue || this.#closed) {
      this.#stepDue = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, tickMs);
      const stop = this.#stopWaiting;
      stop.add(done);
      function done() {
        clearTimeout(timer);
        stop.delete(done);
        resolve();
      }
    });
  }

  /** Ends the wait for the next step, or the next wait when none is under way. */
  #stepSoon(): void {
    if (this.#stopWaiting.size === 0) this.#stepDue = true;
    for (const wake of [...this.#stopWaiting]) wake();
  }

  #track(p: Promise<unknown>): void {
    this.#background.add(p);
    p.finally(() => this.#background.delete(p)).catch(() => {});
  }

  /**
   * Stops this replica: no further step acts, the follows of acks and agent records end,
   * and the lease is released (so another replica leads at once, without the ttl).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of [...this.#stopWaiting]) wake();
    await Promise.allSettled([...this.#background]);
    await Promise.all([this.#acksFollow.close(), this.#agentsFollow.close()]);
    this.#ackChecks.close();
    if (!this.#nats.nc.isClosed()) this.#aliveSub.unsubscribe();
    this.#enrolments.close();
    this.#stages.close();
    await this.lease.release().catch(() => {});
    this.#logging[Symbol.dispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** One round: renew or take the lease; if leader, act on every rollout of the region. */
  async step(): Promise<void> {
    if (this.#closed) return;
    this.#stages.beginStep();
    this.#stepAgents = undefined;
    const wasLeader = this.lease.isLeader;
    const leads = await this.lease.tick();
    this.#metrics?.leader.set({ region: this.region }, leads ? 1 : 0);
    this.#metrics?.following.set({ region: this.region }, leads && this.following ? 1 : 0);
    if (!leads) {
      if (wasLeader) this.#log.warn("lost the lease; standing by");
      this.#scan = undefined; // a later term scans afresh
      return;
    }
    if (!wasLeader) {
      this.#log.info("leading", { term: this.lease.term });
      this.#livenessWritten = undefined; // the new leader states liveness at once
    }
    // In the background: while the primary is out of reach, setting up a follow waits out
    // a request timeout, and a step must not (it would hold the lease back after a heal).
    // The enrolments first: an ack judged before they are known would not count.
    this.#track(
      this.#enrolments.ready().then(() => this.#acksFollow.start()).catch((e) =>
        this.#log.warn("cannot follow acks yet; heartbeats only", { error: e })
      ),
    );
    this.#track(
      this.#agentsFollow.start().catch((e) =>
        this.#log.warn("cannot follow agent records yet; reading them", { error: e })
      ),
    );
    // In the background, like the follows: its read must not hold a step back.
    this.#track(this.#beacon.tick());
    if (!this.#scan && this.#clock.now() - this.#lastScan >= SCAN_EVERY_MS) {
      this.#lastScan = this.#clock.now();
      this.#scan = { records: await this.#agents(), done: 0, live: [] };
    }
    if (this.#scan) await this.#scanStep(this.#scan);
    await this.#writeLiveness()
      .catch((e) => this.#log.warn("cannot write the liveness summary", { error: e }));
    // Which agents and acks count: known before any stage is judged.
    await this.#enrolments.ready();
    if (this.#enrolments.size >= WARM_CHECKS_AT) this.#ackChecks.warm();
    this.#rejudgeUnenrolled();
    this.#lookUpUnenrolled();
    this.#prejudge();
    // A breach's quarantines past the first slice: before any rollout, which counts them.
    await this.#stages.writeQuarantines();
    const kv = await this.#nats.kv(Buckets.rollouts);
    // Rollout ids are one token; `*` leaves out the `active.<config>` keys.
    for (const key of await listKeys(this.#nats, Buckets.rollouts, "*")) {
      if (this.#stages.isSettled(key)) continue;
      const e = await kv.get(key);
      if (!e || e.operation !== "PUT") continue;
      const rollout = RolloutRecord.parse(e.json());
      if (!rollout.stages.some((s) => s.regions.includes(this.region))) {
        this.#stages.markSettled(key); // never ours: its stages do not change
        continue;
      }
      let stored = { value: rollout, revision: e.revision };
      // A handle that moves the rollout on (its stage done here, the next stage begun, the
      // rollout ended) is followed at once by the next one, so that with no bake one step
      // takes a stage from its gates met to the next stage's pointer (it took three, a tick
      // apart). Bounded; a write of counts or of the pointer alone does not repeat.
      for (let i = 0; i < HANDLES_PER_STEP; i++) {
        if (!this.lease.isLeader) return;
        const before = stored.value; // handle() puts what it writes into `stored`
        try {
          await this.#stages.handle(stored);
        } catch (err) {
          if (!isCasConflict(err)) throw err;
          break; // another writer moved the record or pointer first: next step re-reads
        }
        if (this.#stages.isSettled(key)) break;
        const next = await kv.get(key);
        if (!next || next.operation !== "PUT") break;
        const value = RolloutRecord.parse(next.json());
        if (!this.#movedOn(before, value)) break;
        stored = { value, revision: next.revision };
      }
    }
  }

  /**
   * Takes the fleet scan `scan` one slice further: the next members (at most
   * {@linkcode #scanSlice}), the live ones brought up to their acks; after the last slice,
   * the alerts of the whole region (scanFleet) and the blob copy check.
   */
  async #scanStep(
    scan: { records: AgentRecord[]; done: number; live: AgentRecord[] },
  ): Promise<void> {
    const now = this.#clock.now();
    const end = Math.min(scan.records.length, scan.done + this.#scanSlice);
    const gone = this.#goneAt(now).ids;
    for (let i = scan.done; i < end; i++) {
      const a = scan.records[i]!;
      if (!gone.has(a.id)) scan.live.push(this.#current(a));
    }
    scan.done = end;
    if (end < scan.records.length) return;
    this.#scan = undefined;
    await scanFleet(this.#nats, scan.live, { region: this.region, now, healsSeen: this.#healsSeen })
      .catch((e) => this.#log.warn("fleet scan failed", { error: e }));
    await this.#checkBlobCopy()
      .catch((e) => this.#log.warn("blob copy check failed", { error: e }));
  }

  /**
   * True when `after` has a further state or stage than `before`, or this region completed
   * a stage that is not the last: what the next handle acts on at once. Not when only this
   * region's pointer moved (no ack for it can have come yet: its first judgement waits for
   * the next step) or its counts changed; and a rollout's end is written by the step after
   * the one that found its last stage done, so that a pause sent meanwhile holds it
   * (tests/rollout_race_test.ts).
   */
  #movedOn(before: RolloutRecord, after: RolloutRecord): boolean {
    const last = after.stage + 1 >= after.stages.length;
    return before.state !== after.state || before.stage !== after.stage ||
      (!last &&
        before.regions[this.region]?.doneStage !== after.regions[this.region]?.doneStage);
  }

  /**
   * Rebuilds the region's copy of the blobs when it lacks what the origin has or stopped
   * copying, found so at two fleet scans in a row (a rebuild copies every blob again: never
   * on a glimpse). A stall itself shows over two scans, so it is rebuilt at the third.
   */
  async #checkBlobCopy(): Promise<void> {
    const check = await checkBlobCopy(this.#nats, this.region, this.#copyCheck);
    this.#copyCheck = check;
    const seenBefore = this.#copyIncomplete;
    this.#copyIncomplete = !check.complete;
    if (check.complete || !seenBefore) return;
    this.#copyIncomplete = false;
    this.#copyCheck = undefined;
    this.#log.warn("the region's blob copy is incomplete; rebuilding it", {
      detail: check.detail,
    });
    await rebuildBlobCopy(this.#nats, this.region);
    await appendAudit(this.#nats, {
      actor: `coordinator/${this.region}`,
      action: "blobs.copy.rebuilt",
      region: this.region,
      details: { reason: check.detail },
    });
  }

  /**
   * Ends the agent records follow when it has delivered nothing for longer than any live
   * agent may stay silent ({@linkcode FOLLOW_SILENCE_MS}, or the shortest keep-alive among
   * the records, jitter and a slow write included, when that is longer): after a stream
   * leader was killed, an ordered consumer on 2.9.10 once stayed silent for over a minute,
   * and a rollout's gates waited on heartbeats that had arrived. The next step follows
   * again.
   */
  #dropSilentFollow(): void {
    const follow = this.#agentsFollow;
    if (!follow.following || this.#agentRecords.size === 0) return;
    // The limit is never below FOLLOW_SILENCE_MS, nor below what the shortest keep-alive
    // of all records (live or not) gives: until then, no pass judging each record.
    const silentMs = follow.silentMs();
    if (silentMs <= FOLLOW_SILENCE_MS) return;
    if (silentMs <= this.#silenceLimitMs(this.#shortestKeepAlive())) return;
    const now = this.#clock.now();
    let shortest = Infinity;
    for (const a of this.#agentRecords.values()) {
      if (!agentIsStale(a, now, this.#aliveOf(a.id))) {
        shortest = Math.min(shortest, a.heartbeatSeconds);
      }
    }
    if (shortest === Infinity) return; // every agent gone: silence is expected
    if (silentMs <= this.#silenceLimitMs(shortest)) return;
    this.#log.warn("the agent records follow went silent; reading them and following again");
    follow.stop();
  }

  /** How long the records follow may stay silent when the shortest keep-alive is this. */
  #silenceLimitMs(shortestSeconds: number): number {
    return Math.max(FOLLOW_SILENCE_MS, shortestSeconds * 1000 * 1.2 + 5_000);
  }

  /**
   * {@linkcode summaryKeepAliveSeconds} of the region's records. While they are followed it
   * is kept as records change instead of found each step: a copy and walk of every record,
   * 27–45 ms of each idle step at 1 000 000 agents (measured), though only the records that
   * changed can move it.
   */
  async #summaryKeepAlive(): Promise<number> {
    this.#dropSilentFollow(); // as #agents() does: a silent follow is read again
    if (!this.#agentsFollow.ready) return summaryKeepAliveSeconds(await this.#agents());
    return this.#keepAlive ??= summaryKeepAliveSeconds(this.#agentRecords.values());
  }

  /**
   * Keeps {@linkcode #keepAlive} as a followed record goes from `before` to `after` (either
   * absent): a shorter pace lowers it at once; the record that set it asking less means
   * finding it again, among all records.
   */
  #keepAliveMoved(before: AgentRecord | undefined, after: AgentRecord | undefined): void {
    const kept = this.#keepAlive;
    if (kept === undefined) return;
    const was = before ? recordKeepAliveSeconds(before) : Infinity;
    const now = after ? recordKeepAliveSeconds(after) : Infinity;
    if (now < kept) this.#keepAlive = now;
    else if (was <= kept && now > was) this.#keepAlive = undefined;
  }

  /** The shortest `heartbeatSeconds` of all records, kept until the records change. */
  #shortestKeepAlive(): number {
    const known = this.#shortest;
    if (known?.records === this.#recordChanges) return known.seconds;
    let seconds = Infinity;
    for (const a of this.#agentRecords.values()) seconds = Math.min(seconds, a.heartbeatSeconds);
    this.#shortest = { records: this.#recordChanges, seconds };
    return seconds;
  }

  /**
   * An agent record as the stage driver may judge it: a revoked agent is out of the fleet
   * (left out); an agent that is not enrolled stays a member, but what its heartbeat says
   * it applied or acked does not count (only signed acks could), so it stays pending. Null:
   * left out. Kept per record until the enrolments change.
   */
  #asJudged(agent: AgentRecord): AgentRecord | null {
    const revision = this.#enrolments.revision;
    const known = this.#judgedRecords.get(agent);
    if (known?.enrolments === revision) return known.judged;
    const judged = this.#judge(agent);
    this.#judgedRecords.set(agent, { enrolments: revision, judged });
    return judged;
  }

  /**
   * Judges the followed records ({@linkcode #asJudged}) a slice a step until all are judged
   * at the enrolments' revision, so that a leader's first rollout finds them judged (it
   * judged all 10 000 in one step); again after the enrolments change. A record that
   * changes later is a new object, judged when a stage first reads it.
   */
  #prejudge(): void {
    if (!this.#agentsFollow.ready) return;
    const revision = this.#enrolments.revision;
    if (!this.#prejudging) {
      if (revision === this.#prejudgedAt) return;
      this.#prejudging = { records: this.#agentRecords.values(), revision };
    }
    const pass = this.#prejudging;
    for (let i = 0; i < PREJUDGE_SLICE; i++) {
      const next = pass.records.next();
      if (next.done) {
        this.#prejudging = undefined;
        this.#prejudgedAt = pass.revision;
        return;
      }
      this.#asJudged(next.value);
    }
  }

  /**
   * The followed records as a kept stage judgement reads them ({@linkcode #asJudged}), or
   * undefined while they are not followed: then nobody tells the stages of each change.
   */
  #tallyRecords(now: number): TallyRecords | undefined {
    if (!this.#agentsFollow.ready) return undefined;
    const records = this.#agentRecords;
    return {
      all: () => this.#allJudged(),
      of: (id) => {
        const r = records.get(id);
        return (r && this.#asJudged(r)) ?? undefined;
      },
      revision: `${this.#recordsEpoch}/${this.#enrolments.revision}`,
      goneRevision: this.#goneAt(now).revision,
      membersRevision: this.#membersRevision,
    };
  }

  *#allJudged(): Iterable<AgentRecord> {
    for (const r of this.#agentRecords.values()) {
      const judged = this.#asJudged(r);
      if (judged) yield judged;
    }
  }

  #judge(agent: AgentRecord): AgentRecord | null {
    const enrolment = this.#enrolments.get(this.region, agent.id);
    if (enrolment?.revokedAt !== undefined) return null;
    if (enrolment) return agent;
    if (!this.#unenrolledSeen.has(agent.id)) {
      this.#unenrolledSeen.add(agent.id);
      this.#log.warn("an agent is not enrolled: its heartbeat and acks do not count", {
        agent: agent.id,
      });
    }
    const configs = Object.fromEntries(
      Object.entries(agent.configs).map(([name, st]) => [name, {
        ...st,
        applied: null,
        lastAck: null,
      }]),
    );
    return { ...agent, configs };
  }

  /** Every agent record of the region, live or not (judge.ts and agentIsStale tell). */
  async #agents(): Promise<AgentRecord[]> {
    this.#dropSilentFollow();
    if (this.#agentsFollow.ready) return [...this.#agentRecords.values()];
    // Not following (yet): read them.
    const out: AgentRecord[] = [];
    for (const e of await listEntries(this.#nats, Buckets.agents, `${this.region}.*`)) {
      if (e.operation !== "PUT") continue;
      const rec = AgentRecord.safeParse(e.json());
      if (rec.success) out.push(rec.data);
    }
    this.#readRecords = new Map(out.map((a) => [a.id, a]));
    return out;
  }
}

/** True when `a` and `b` manage the same configs. */
function sameConfigs(a: AgentRecord, b: AgentRecord): boolean {
  const ka = Object.keys(a.configs);
  const kb = Object.keys(b.configs);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b.configs, k));
}
