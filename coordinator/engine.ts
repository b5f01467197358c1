/**
 * The regional coordinator's stage engine. The replica holding the region's lease moves
 * the region's pointer through the stages of every running rollout that names the region:
 * it sets the stage's candidate share on the pointer (signed, compare-and-set), counts how
 * the targeted agents did, judges the stage's gates, waits the bake time, and marks the
 * region done; the last region to finish a stage advances the rollout. A gate breach
 * moves the pointer back to the stable version at once, quarantines the failing agents,
 * ends the rollout as rolled back, and raises an alert; every step is audited.
 *
 * All state lives in JetStream (rollout records, pointers, quarantine, alerts): a replica
 * that takes over continues from the records, and every write is compare-and-set, so no
 * step is applied twice.
 *
 * Agent outcomes come from two sources, the newer winning: the region's acks, followed by
 * the leader with an ordered consumer that starts from the last ack of every agent (so a
 * new leader knows at once what the old one knew), and the agents' heartbeat records,
 * which also say which agents exist.
 *
 * @module
 */
import {
  AckRecord,
  agentIsStale,
  AgentRecord,
  AlertRecord,
  Buckets,
  type CandidateSelector,
  isFinal,
  judgeStage,
  managesConfig,
  parseQuarantineKey,
  type PointerRecord,
  quarantineKey,
  QuarantineRecord,
  type RegionUpdate,
  type RolloutEvent,
  RolloutRecord,
  shareCutoff,
  type Signer,
  Streams,
  Subjects,
  versionKey,
  VersionRecord,
} from "@atlas/core";
import {
  appendAudit,
  type AtlasNats,
  checkBlobCopy,
  type ComponentLogger,
  componentLogger,
  isCasConflict,
  type LineSink,
  listKeys,
  type Logger,
  readKv,
  readPointer,
  rebuildBlobCopy,
  releaseActiveRollout,
  resolveRolloutAlerts,
  RolloutContentionError,
  updateRollout,
  type UpdateRolloutResult,
  writePointer,
} from "@atlas/store";
import { type Clock, Lease, systemClock } from "./lease.ts";
import { SubjectFollow } from "./follow.ts";
import { scanFleet } from "./health.ts";

/** A follow of agent records silent this long (wall clock) is replaced. */
const FOLLOW_SILENCE_MS = 20_000;

/** How often the leader scans its fleet for drift and failure clusters. */
const SCAN_EVERY_MS = 10_000;

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
}

type Stored<T> = { value: T; revision: number };

/** A region's quarantine: agents fenced off every config, and per config. */
interface Quarantine {
  every: Set<string>;
  byConfig: Map<string, Set<string>>;
}

/** One replica of a region's coordinator. */
export class RegionCoordinator implements AsyncDisposable {
  readonly region: string;
  readonly replica: string;
  readonly lease: Lease;
  readonly #nats: AtlasNats;
  readonly #signer: Signer;
  readonly #clock: WallClock;
  readonly #logging: ComponentLogger;
  readonly #log: Logger;
  /** Newest ack per `<config>/<agent>` of this region, while leading. */
  readonly #acks = new Map<string, AckRecord>();
  readonly #acksFollow: SubjectFollow;
  /** Follows being set up and their loops: close() waits for them. */
  readonly #background = new Set<Promise<unknown>>();
  #closed = false;
  /** Wakes run()'s wait between steps, on close. */
  readonly #stopWaiting = new Set<() => void>();
  /** The region's agent records by id, kept current by following the agents bucket. */
  readonly #agentRecords = new Map<string, AgentRecord>();
  readonly #agentsFollow: SubjectFollow;
  #stepQuarantine: Promise<Quarantine> | undefined;
  /** Rollouts this region has nothing more to do for: ended and settled, or not its own. */
  readonly #settled = new Set<string>();
  /** The last blob copy check found the copy incomplete. */
  #copyIncomplete = false;
  #lastScan = -Infinity;
  /** Drift heals already raised as alerts (see scanFleet). */
  readonly #healsSeen = new Map<string, string>();

  constructor(nats: AtlasNats, signer: Signer, leases: Lease, options: CoordinatorOptions) {
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
    this.#acksFollow = new SubjectFollow(nats, {
      stream: Streams.acks,
      filter: `atlas.ack.${this.region}.>`,
      onMessage: (m) => {
        const ack = AckRecord.safeParse(m.json());
        if (!ack.success) return;
        const key = `${ack.data.config}/${ack.data.agent}`;
        const known = this.#acks.get(key);
        if (
          !known || known.seq < ack.data.seq ||
          (known.seq === ack.data.seq && known.at <= ack.data.at)
        ) {
          this.#acks.set(key, ack.data);
        }
      },
    });
    // The region's agent records (the last of each, then every change), so a step reads
    // them from memory: at 10 000 agents, one get per agent every 500 ms was 10 000 gets.
    const prefix = Subjects.kvKey(Buckets.agents, `${this.region}.`);
    this.#agentsFollow = new SubjectFollow(nats, {
      stream: `KV_${Buckets.agents}`,
      filter: `${prefix}*`,
      onReset: () => this.#agentRecords.clear(),
      isEmpty: async () =>
        (await listKeys(this.#nats, Buckets.agents, `${this.region}.*`)).length === 0,
      onMessage: (m) => {
        const id = m.subject.slice(prefix.length);
        const op = m.headers?.get("KV-Operation");
        if (op === "DEL" || op === "PURGE") this.#agentRecords.delete(id);
        else {
          const rec = AgentRecord.safeParse(m.json());
          if (rec.success) this.#agentRecords.set(id, rec.data);
        }
      },
    });
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
    signer: Signer,
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
        await new Promise<void>((resolve) => {
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
    })());
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
    await this.lease.release().catch(() => {});
    this.#logging[Symbol.dispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** One round: renew or take the lease; if leader, act on every rollout of the region. */
  async step(): Promise<void> {
    if (this.#closed) return;
    this.#stepQuarantine = undefined;
    const wasLeader = this.lease.isLeader;
    if (!(await this.lease.tick())) {
      if (wasLeader) this.#log.warn("lost the lease; standing by");
      return;
    }
    if (!wasLeader) this.#log.info("leading", { term: this.lease.term });
    // In the background: while the primary is out of reach, setting up a follow waits out
    // a request timeout, and a step must not (it would hold the lease back after a heal).
    this.#track(
      this.#acksFollow.start().catch((e) =>
        this.#log.warn("cannot follow acks yet; heartbeats only", { error: e })
      ),
    );
    this.#track(
      this.#agentsFollow.start().catch((e) =>
        this.#log.warn("cannot follow agent records yet; reading them", { error: e })
      ),
    );
    if (this.#clock.now() - this.#lastScan >= SCAN_EVERY_MS) {
      this.#lastScan = this.#clock.now();
      const now = this.#clock.now();
      const live = (await this.#agents()).filter((a) => !agentIsStale(a, now));
      await scanFleet(this.#nats, live, {
        region: this.region,
        now,
        healsSeen: this.#healsSeen,
      })
        .catch((e) => this.#log.warn("fleet scan failed", { error: e }));
      await this.#checkBlobCopy()
        .catch((e) => this.#log.warn("blob copy check failed", { error: e }));
    }
    const kv = await this.#nats.kv(Buckets.rollouts);
    // Rollout ids are one token; `*` leaves out the `active.<config>` keys.
    for (const key of await listKeys(this.#nats, Buckets.rollouts, "*")) {
      if (this.#settled.has(key)) continue;
      const e = await kv.get(key);
      if (!e || e.operation !== "PUT") continue;
      const rollout = RolloutRecord.parse(e.json());
      if (!rollout.stages.some((s) => s.regions.includes(this.region))) {
        this.#settled.add(key); // never ours: its stages do not change
        continue;
      }
      if (!this.lease.isLeader) return;
      try {
        await this.#handle({ value: rollout, revision: e.revision });
      } catch (err) {
        if (!isCasConflict(err)) throw err;
        // another writer moved the record or pointer first: next step re-reads
      }
    }
  }

  /**
   * Rebuilds the region's copy of the blobs when it lacks what the origin has, found so at
   * two fleet scans in a row (a rebuild copies every blob again: never on a glimpse).
   */
  async #checkBlobCopy(): Promise<void> {
    const check = await checkBlobCopy(this.#nats, this.region);
    const seenBefore = this.#copyIncomplete;
    this.#copyIncomplete = !check.complete;
    if (check.complete || !seenBefore) return;
    this.#copyIncomplete = false;
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

  async #handle(r: Stored<RolloutRecord>): Promise<void> {
    const rollout = r.value;
    const current = await readPointer(this.#nats, this.region, rollout.config);
    const ours = current?.pointer.candidate?.rolloutId === rollout.id;
    if (isFinal(rollout.state)) {
      if (ours) await this.#settle(rollout, current!.pointer);
      this.#settled.add(rollout.id); // ended and settled here: never read again
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
    const eligible = (await this.#agents())
      .filter((a) =>
        managesConfig(a, rollout.config) && !agentIsStale(a, now) && !quarantined.has(a.id)
      )
      .map((a) => a.id);
    const cutoff = shareCutoff(rollout.id, eligible, stage.percent);
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
      await this.#moveToStage(r, current.pointer, selector, preflight);
      return;
    }
    await this.#judge(r, selector);
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
      await this.#audit(rollout, "rollout.stage", {
        stage: rollout.stage,
        percent: selector.percent,
      });
    }
  }

  /** Judges the region's stage (judge.ts), then records it, rolls back, or raises a stall. */
  async #judge(r: Stored<RolloutRecord>, selector: CandidateSelector): Promise<void> {
    const rollout = r.value;
    const stage = rollout.stages[rollout.stage]!;
    const progress = rollout.regions[this.region]!;
    const now = this.#clock.now();
    const started = Date.parse(progress.stageStartedAt ?? new Date(now).toISOString());
    const j = judgeStage({
      region: this.region,
      rollout,
      stage,
      stageSeq: progress.seq,
      startedAt: started,
      selector,
      agents: await this.#agents(),
      ackOf: (agent) => this.#acks.get(`${rollout.config}/${agent}`),
      now,
    });
    const counts = j.counts;
    if (j.untrusted.length > 0) {
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
      // A preflight installs nothing: its refusals speak of the version, not the hosts.
      if (!stage.preflight) {
        for (const f of j.failing) {
          await this.#quarantine(f.agent, rollout.config, f.reason, rollout.id);
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
      return;
    }
    const healthySince = j.healthy
      ? (progress.healthySince ?? new Date(now).toISOString())
      : undefined;
    const baked = healthySince !== undefined &&
      (j.empty || now - Date.parse(healthySince) >= stage.bakeSeconds * 1000 ||
        rollout.skipBakeStage === rollout.stage);
    const note = healthySince && !baked
      ? `${j.note}; gates hold, baking until ${
        new Date(Date.parse(healthySince) + stage.bakeSeconds * 1000).toISOString()
      }`
      : j.note;
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
    // Decided again on a fresh record after a lost race: a pause that landed first
    // holds the rollout (succeed is illegal from paused); a gate breach still rolls back.
    const stored = await this.#update(
      r,
      (x) =>
        isFinal(x.state) ? null : to === "succeeded" ? { type: "succeed", reason } : {
          type: "rollBack",
          reason,
          region: this.region,
          ...(counts ? { update: counts } : {}),
        },
    );
    if (!stored) return;
    this.#log.info("rollout ended", { rolloutId: rollout.id, state: to, reason });
    await releaseActiveRollout(this.#nats, rollout.config, rollout.id).catch(() => {});
    await this.#audit(rollout, `rollout.${to}`, { reason });
    if (to === "rolled_back") {
      await this.#alert(`rollback-${rollout.id}`, "rolled_back", reason, rollout);
    }
    const current = await readPointer(this.#nats, this.region, rollout.config);
    if (current?.pointer.candidate?.rolloutId === rollout.id) {
      await this.#settle(stored.value, current.pointer);
    }
  }

  /**
   * After a rollout ended: promote its candidate (succeeded) or drop it (otherwise). A
   * success closes the config's rolled-back and stalled alerts in this region: their cause
   * is gone.
   */
  async #settle(rollout: RolloutRecord, pointer: PointerRecord): Promise<void> {
    const promote = rollout.state === "succeeded";
    if (promote) {
      await resolveRolloutAlerts(
        this.#nats,
        this.region,
        rollout.config,
        `rollout ${rollout.id} of ${rollout.config} v${rollout.version} succeeded`,
        { by: `coordinator/${this.region}` },
      ).catch((e) => this.#log.warn("cannot resolve alerts", { rolloutId: rollout.id, error: e }));
    }
    await writePointer(this.#nats, this.#signer, this.region, rollout.config, (cur) => {
      if (!cur || cur.seq !== pointer.seq || cur.candidate?.rolloutId !== rollout.id) return null;
      return promote
        ? {
          active: cur.candidate.version,
          history: [cur.active.version, ...cur.history].slice(0, 32),
          reason: `rollout ${rollout.id} succeeded`,
        }
        : {
          active: cur.active,
          history: cur.history,
          reason: `rollout ${rollout.id} ${rollout.state}`,
        };
    }, { issuedBy: `coordinator/${this.region}` });
    this.#log.info(promote ? "pointer promoted" : "pointer restored to the stable version", {
      rolloutId: rollout.id,
      config: rollout.config,
    });
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
   * Ends the agent records follow when it has delivered nothing for
   * {@linkcode FOLLOW_SILENCE_MS} while agents exist (they heartbeat more often than that):
   * after a stream leader was killed, an ordered consumer on 2.9.10 once stayed silent for
   * over a minute, and a rollout's gates waited on heartbeats that had arrived. The next
   * step follows again.
   */
  #dropSilentFollow(): void {
    const follow = this.#agentsFollow;
    if (!follow.following || this.#agentRecords.size === 0) return;
    if (follow.silentMs() <= FOLLOW_SILENCE_MS) return;
    this.#log.warn("the agent records follow went silent; reading them and following again");
    follow.stop();
  }

  /** Every agent record of the region, live or not (judge.ts and agentIsStale tell). */
  async #agents(): Promise<AgentRecord[]> {
    this.#dropSilentFollow();
    if (this.#agentsFollow.ready) return [...this.#agentRecords.values()];
    // Not following (yet): read them one by one.
    const kv = await this.#nats.kv(Buckets.agents);
    const out: AgentRecord[] = [];
    for (const key of await listKeys(this.#nats, Buckets.agents, `${this.region}.*`)) {
      const e = await kv.get(key);
      if (!e || e.operation !== "PUT") continue;
      const rec = AgentRecord.safeParse(e.json());
      if (rec.success) out.push(rec.data);
    }
    return out;
  }

  /**
   * The region's agents quarantined for `config`, the quarantine read once per step (every
   * rollout of it uses it). A record of before quarantine was per config (no config in its
   * key) fences the agent off every config.
   */
  async #quarantinedFor(config: string): Promise<Set<string>> {
    const q = await (this.#stepQuarantine ??= this.#readQuarantine());
    return new Set([...q.every, ...(q.byConfig.get(config) ?? [])]);
  }

  async #readQuarantine(): Promise<Quarantine> {
    const kv = await this.#nats.kv(Buckets.quarantine);
    const q: Quarantine = { every: new Set(), byConfig: new Map() };
    for (const key of await listKeys(this.#nats, Buckets.quarantine, `${this.region}.>`)) {
      const parsed = parseQuarantineKey(key);
      if (!parsed) continue;
      const e = await kv.get(key);
      if (!e || e.operation !== "PUT") continue;
      if (parsed.config === undefined) q.every.add(parsed.agent);
      else {q.byConfig.set(
          parsed.config,
          (q.byConfig.get(parsed.config) ?? new Set()).add(parsed.agent),
        );}
    }
    return q;
  }

  async #quarantine(
    agent: string,
    config: string,
    reason: string,
    rolloutId: string,
  ): Promise<void> {
    const kv = await this.#nats.kv(Buckets.quarantine);
    const rec = QuarantineRecord.parse({
      region: this.region,
      agent,
      config,
      reason,
      rolloutId,
      at: this.#iso(),
    });
    await kv.put(quarantineKey(this.region, agent, config), JSON.stringify(rec));
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
