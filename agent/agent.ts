/**
 * The edge agent: keeps the files of its configs equal to what its region's pointers
 * say, verifying every byte before it touches disk.
 *
 * How it learns of changes (see DESIGN.md's measured costs): one core-NATS subscription
 * to `atlas.notify.<region>.>` (no JetStream consumer per agent), plus a reconcile that
 * reads the stored pointers by direct get on connect, on every reconnect and on a timer.
 * Notices are only published for stored pointers, so acting on one is safe; a lost
 * notice is made up for by the next reconcile. The result is at-least-once notification
 * and, through the persisted state, exactly-once application per version.
 *
 * @module
 */
import {
  type AckRecord,
  type PointerRecord,
  preflightOf,
  targetOf,
  type Verifier,
  verifyPointer,
  verifyTarget,
  type VersionRecord,
} from "@atlas/core";
import {
  type ComponentLogger,
  componentLogger,
  type LineSink,
  type Logger,
  readBlob,
  readPointer,
  removeStaleTemps,
} from "@atlas/store";
import type { AgentConfig } from "./config.ts";
import { BlobCache } from "./cache.ts";
import { AckOutbox } from "./outbox.ts";
import { ConfigWorkers } from "./config_worker.ts";
import { DiskDigests, DriftWatcher } from "./drift_watcher.ts";
import { Connection } from "./connection.ts";
import { Heartbeat } from "./heartbeat.ts";
import { type AgentState, type ConfigState, emptyConfigState, StateStore } from "./state.ts";
import {
  ApplyOutcome,
  type BlobSource,
  preflightCandidate,
  replaceFile,
  verifiedBytes,
} from "./apply.ts";

/** Counters an operator (or a test) can read. */
export interface AgentStats {
  notices: number;
  reconciles: number;
  applies: number;
  noops: number;
  rejects: number;
  failures: number;
  refusedReplays: number;
  inlineHits: number;
  cacheHits: number;
  /** Blobs read from the region's copy of the object store. */
  regionCopyHits: number;
  /** Blobs fetched from the primary object store (across a gateway in a supercluster). */
  fetches: number;
  driftHealed: number;
  /** Preflight candidates checked (fetched, verified, `verify` run) without installing. */
  preflights: number;
}

/** The counter each source of blob bytes adds to. */
const STAT_OF_SOURCE = {
  inline: "inlineHits",
  cache: "cacheHits",
  "region copy": "regionCopyHits",
  "object store": "fetches",
} as const satisfies Record<BlobSource, keyof AgentStats>;

/** Options of {@linkcode Agent.start}. */
export interface AgentOptions {
  /**
   * Where this agent's log lines go, formatted (tests keep them to print on failure).
   * @default the process log (see `configureLogging` in `@atlas/store`)
   */
  log?: LineSink;
  /** Trusted keys; read from `config.trustedKeys` when omitted. */
  verifier?: Verifier;
  /** Test hook: pause between chunks of a file write (see atomic.ts). @default 0 */
  writeChunkDelayMs?: number;
}

/** A running agent. */
export class Agent implements AsyncDisposable {
  readonly config: AgentConfig;
  readonly stats: AgentStats = {
    notices: 0,
    reconciles: 0,
    applies: 0,
    noops: 0,
    rejects: 0,
    failures: 0,
    refusedReplays: 0,
    inlineHits: 0,
    cacheHits: 0,
    regionCopyHits: 0,
    fetches: 0,
    driftHealed: 0,
    preflights: 0,
  };
  readonly #options: AgentOptions;
  readonly #logging: ComponentLogger;
  readonly #log: Logger;
  readonly #verifier: Verifier;
  readonly #cache: BlobCache;
  readonly #outbox: AckOutbox;
  readonly #store: StateStore;
  #state: AgentState;
  readonly #connection: Connection;
  #closed = false;
  #connecting: Promise<void> | undefined;
  readonly #digests: DiskDigests;
  #drift: DriftWatcher | undefined;
  readonly #workers: ConfigWorkers;
  readonly #heartbeat: Heartbeat;
  #ackRetry: ReturnType<typeof setTimeout> | undefined;
  /** The pointer last verified, by config: the same pointer again needs no second check. */
  readonly #verified = new Map<string, PointerRecord>();

  private constructor(
    config: AgentConfig,
    store: StateStore,
    state: AgentState,
    verifier: Verifier,
    options: AgentOptions,
  ) {
    this.config = config;
    this.#store = store;
    this.#state = state;
    this.#verifier = verifier;
    this.#options = options;
    this.#logging = componentLogger("agent", { agent: config.id, region: config.region }, {
      sink: options.log,
    });
    this.#log = this.#logging.logger;
    this.#cache = new BlobCache(`${config.stateDir}/blobs`, config.cacheEntries);
    this.#outbox = new AckOutbox(state.outbox);
    this.#digests = new DiskDigests(
      Object.fromEntries(Object.entries(config.configs).map(([name, c]) => [name, c.path])),
    );
    this.#connection = new Connection(config, {
      log: this.#log,
      stats: this.stats,
      onNotice: (notice) => this.#enqueue(notice.pointer, notice.blobs),
      reconcile: () => this.reconcile(),
    });
    this.#heartbeat = new Heartbeat(config, {
      nats: () => this.#connection.nats,
      stateOf: (name) => this.#stateOf(name),
      digests: this.#digests,
    });
    this.#workers = new ConfigWorkers({
      process: ({ pointer, blobs }) => this.#process(pointer, blobs),
      superseded: ({ pointer }) => this.#stateOf(pointer.config).maxSeq >= pointer.seq,
      maxRetryMs: config.reconcileSeconds * 1000,
      onFailure: ({ pointer }, error, inMs) =>
        this.#log.error("apply attempt failed; will retry", {
          config: pointer.config,
          inMs,
          error: error.message,
        }),
    });
  }

  /**
   * Loads the persisted state and starts the agent. Resolves at once, without waiting
   * for NATS: until it connects, the agent keeps serving the files it last applied.
   *
   * @example
   * ```ts
   * await using agent = await Agent.start(await loadAgentConfig("agent.json"));
   * await agent.whenConnected();
   * ```
   */
  static async start(config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const { loadVerifier } = await import("@atlas/store");
    const verifier = options.verifier ?? (await loadVerifier(config.trustedKeys));
    await Deno.mkdir(`${config.stateDir}/blobs`, { recursive: true });
    const { store, state } = StateStore.open(config.stateDir);
    const agent = new Agent(config, store, state, verifier, options);
    await agent.#cache.load();
    for (const [name, c] of Object.entries(config.configs)) {
      const removed = await removeStaleTemps(c.path);
      if (removed) {
        agent.#log.info("removed temp files of an interrupted write", { config: name, removed });
      }
      const st = agent.#stateOf(name);
      st.diskDigest = await agent.#digests.of(name);
      if (st.applied) {
        agent.#log.info("serving last applied version", {
          config: name,
          version: st.applied.version,
        });
      }
    }
    agent.#watchFiles();
    agent.#connecting = agent.#connect();
    return agent;
  }

  /** Saves the state, with the acks still waiting. */
  #save(): void {
    this.#state.outbox = this.#outbox.pending();
    this.#store.save(this.#state);
  }

  /** True while connected to NATS. */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /** Resolves once the first connection is made and the first reconcile has run. */
  async whenConnected(): Promise<void> {
    await this.#connecting;
  }

  /** A copy of the persisted state of `config`. */
  stateOf(config: string): ConfigState {
    return structuredClone(this.#stateOf(config));
  }

  /** Number of acks still waiting in the outbox. */
  pendingAcks(): Promise<number> {
    return Promise.resolve(this.#outbox.size);
  }

  /** Resolves when no pointer is waiting or being applied. */
  idle(): Promise<void> {
    return this.#workers.idle();
  }

  #stateOf(config: string): ConfigState {
    return (this.#state.configs[config] ??= emptyConfigState());
  }

  async #connect(): Promise<void> {
    if (!(await this.#connection.connect())) return;
    this.#heartbeat.start();
    // Membership first: the heartbeat states every managed config before any apply, so a
    // rollout counts this agent from the start.
    await this.#heartbeat.send().catch((e) =>
      this.#log.warn("heartbeat failed", { error: String(e) })
    );
    await this.reconcile();
  }

  /**
   * Watches the managed files, so a hand edit is found at once rather than at the next
   * reconcile: drift starts a reconcile, which restores the applied version.
   */
  #watchFiles(): void {
    if (!this.config.watchFiles) return;
    this.#drift = DriftWatcher.watch(this.#digests.paths, {
      digests: this.#digests,
      appliedDigest: (config) => this.#stateOf(config).applied?.digest,
      busy: (config) => this.#workers.busy(config),
      onDrift: (config) => {
        if (this.#closed) return;
        this.#log.warn("managed file changed on disk; reconciling", { config });
        this.reconcile().catch(() => {});
      },
      log: this.#log,
    });
  }

  /**
   * Reads the stored pointer of every managed config (direct get) and applies what
   * differs. Runs on connect, reconnect and a timer; call it to force one.
   */
  async reconcile(): Promise<void> {
    const nats = this.#connection.nats;
    if (!nats || this.#closed) return;
    this.stats.reconciles++;
    for (const config of Object.keys(this.config.configs)) {
      try {
        const stored = await readPointer(nats, this.config.region, config);
        if (stored) this.#enqueue(stored.pointer, {});
      } catch (e) {
        this.#log.warn("cannot read pointer; will retry", {
          config,
          error: (e as Error).message,
        });
      }
    }
    this.#flushAcks();
    await this.idle();
  }

  /**
   * Sends the acks waiting in the outbox. When that fails (the acks stream unreachable),
   * tries again every 2 s until they are sent; nothing runs while none waits (a timer per
   * agent every 2 s was a tenth of an idle bench agent's CPU).
   */
  #flushAcks(): void {
    const nats = this.#connection.nats;
    if (!nats || this.#closed) return;
    this.#outbox.flush(nats).catch(() => {
      if (this.#ackRetry !== undefined || this.#closed) return;
      this.#ackRetry = setTimeout(() => {
        this.#ackRetry = undefined;
        this.#flushAcks();
      }, 2_000);
    });
  }

  #enqueue(pointer: PointerRecord, blobs: Record<string, string>): void {
    if (pointer.region !== this.config.region || !(pointer.config in this.config.configs)) return;
    this.#workers.push(pointer, blobs);
  }

  async #process(pointer: PointerRecord, blobs: Record<string, string>): Promise<void> {
    const config = pointer.config;
    const st = this.#stateOf(config);
    try {
      // Every reconcile reads the pointer already applied: identical content under an
      // identical signature verifies as it did before (the check was a sixth of idle CPU).
      const last = this.#verified.get(config);
      if (
        !last || last.signature !== pointer.signature ||
        JSON.stringify(last) !== JSON.stringify(pointer)
      ) {
        verifyPointer(this.#verifier, pointer);
        this.#verified.set(config, pointer);
      }
    } catch (e) {
      // Reported against the version it would have meant for this agent, so a rollout's
      // gate sees the refusal (as untrusted: the signer's fault, not this host's).
      const meant = preflightOf(pointer, this.config.id, this.config.labels) ??
        targetOf(pointer, this.config.id, this.config.labels);
      return this.#finish(
        pointer,
        meant,
        new ApplyOutcome("rejected", (e as Error).message, false),
      );
    }
    if (pointer.seq < st.maxSeq) {
      this.stats.refusedReplays++;
      this.#log.warn("refused a replayed pointer", {
        config,
        seq: pointer.seq,
        seen: st.maxSeq,
      });
      return;
    }
    const check = preflightOf(pointer, this.config.id, this.config.labels);
    if (check) await this.#preflight(pointer, check, blobs);
    const target = targetOf(pointer, this.config.id, this.config.labels);
    const last = st.lastAck;
    if (
      pointer.seq === st.maxSeq && last && last.seq === pointer.seq &&
      last.version === target.version &&
      last.status !== "applied"
    ) return; // this exact pointer was already judged; a new seq is needed to try again
    try {
      verifyTarget(this.#verifier, pointer, target);
    } catch (e) {
      return this.#finish(
        pointer,
        target,
        new ApplyOutcome("rejected", (e as Error).message),
      );
    }
    const path = this.config.configs[config]!.path;
    if (st.applied?.version === target.version && st.applied.digest === target.digest) {
      const advanced = pointer.seq > st.maxSeq;
      st.maxSeq = Math.max(st.maxSeq, pointer.seq);
      st.applied.seq = st.maxSeq;
      st.diskDigest = await this.#digests.of(config);
      if (st.diskDigest === target.digest) {
        this.stats.noops++;
        // Reconcile lands here every 30 s per config: write the state only on news.
        if (advanced) this.#save();
        return;
      }
      this.#log.warn("file differs from the applied version (drift); restoring it", {
        config,
        path,
        found: st.diskDigest,
      });
      this.stats.driftHealed++;
      // An event, not a state: the heal takes milliseconds, so no heartbeat would ever
      // carry the drift itself. The coordinator raises the drift alert from this.
      st.lastDriftHealed = {
        at: new Date().toISOString(),
        found: st.diskDigest,
        version: target.version,
      };
    }
    const started = performance.now();
    let outcome: ApplyOutcome | undefined;
    let toCache: Uint8Array | undefined;
    try {
      const nats = this.#connection.nats;
      const { bytes, source } = await verifiedBytes(target, {
        inline: blobs,
        cache: this.#cache,
        fetch: nats ? (digest) => readBlob(nats, this.config.region, digest) : undefined,
      });
      this.stats[STAT_OF_SOURCE[source]]++;
      if (source !== "cache") toCache = bytes;
      await replaceFile(this.config.configs[config]!, bytes, {
        env: this.#commandEnv(config, target),
        timeoutMs: this.config.commandTimeoutSeconds * 1000,
        chunkDelayMs: this.#options.writeChunkDelayMs ?? 0,
      });
    } catch (e) {
      if (!(e instanceof ApplyOutcome)) throw e;
      outcome = e;
    }
    this.#finish(pointer, target, outcome, performance.now() - started);
    // The cache only spares a later rollback a fetch: written 0.5–1.5 s after the ack, with
    // the heartbeat (served from memory until then), and failing to fill it fails nothing.
    if (toCache) {
      this.#cache.putSoon(
        target.digest,
        toCache,
        () => this.#appliedDigests(),
        500 + Math.random() * 1_000,
        (e) => this.#log.warn("cannot cache the applied content", { error: e.message }),
      );
    }
  }

  /**
   * A preflight: fetches and verifies `version` and runs its `verify` command on a staged
   * copy, then acks `verified` (or why not) without installing it. Once per pointer.
   */
  async #preflight(
    pointer: PointerRecord,
    version: VersionRecord,
    blobs: Record<string, string>,
  ): Promise<void> {
    const config = pointer.config;
    const last = this.#stateOf(config).lastAck;
    if (last && last.seq === pointer.seq && last.version === version.version) return;
    const started = performance.now();
    let outcome: ApplyOutcome | undefined;
    let toCache: Uint8Array | undefined;
    try {
      try {
        verifyTarget(this.#verifier, pointer, version);
      } catch (e) {
        throw new ApplyOutcome("rejected", (e as Error).message);
      }
      const nats = this.#connection.nats;
      const { bytes, source } = await verifiedBytes(version, {
        inline: blobs,
        cache: this.#cache,
        fetch: nats ? (digest) => readBlob(nats, this.config.region, digest) : undefined,
      });
      this.stats[STAT_OF_SOURCE[source]]++;
      if (source !== "cache") toCache = bytes;
      await preflightCandidate(this.config.configs[config]!, bytes, {
        env: this.#commandEnv(config, version),
        timeoutMs: this.config.commandTimeoutSeconds * 1000,
      });
    } catch (e) {
      if (!(e instanceof ApplyOutcome)) throw e;
      outcome = e;
    }
    this.stats.preflights++;
    this.#finish(pointer, version, outcome, performance.now() - started, { preflight: true });
    // The installing stage that follows takes these bytes from the cache.
    if (toCache && !outcome) {
      this.#cache.putSoon(
        version.digest,
        toCache,
        () => [...this.#appliedDigests(), version.digest],
        500 + Math.random() * 1_000,
        (e) => this.#log.warn("cannot cache the verified content", { error: e.message }),
      );
    }
  }

  /** Environment of the commands run for `version` of `config`. */
  #commandEnv(config: string, version: VersionRecord): Record<string, string> {
    return {
      ATLAS_CONFIG: config,
      ATLAS_VERSION: String(version.version),
      ATLAS_FILE: this.config.configs[config]!.path,
      ATLAS_AGENT: this.config.id,
      ATLAS_REGION: this.config.region,
    };
  }

  #appliedDigests(): string[] {
    return Object.values(this.#state.configs).flatMap((c) => (c.applied ? [c.applied.digest] : []));
  }

  /** Records the outcome: the ack and the state in one atomic write, then sends the ack. */
  #finish(
    pointer: PointerRecord,
    target: VersionRecord,
    outcome: ApplyOutcome | undefined,
    elapsedMs = 0,
    options: { preflight?: boolean } = {},
  ): void {
    const config = pointer.config;
    const st = this.#stateOf(config);
    const status = outcome?.status ?? (options.preflight ? "verified" : "applied");
    const at = new Date().toISOString();
    const ack: AckRecord = {
      agent: this.config.id,
      region: this.config.region,
      config,
      version: target.version,
      digest: target.digest,
      seq: pointer.seq,
      status,
      ...(outcome ? { reason: outcome.message } : {}),
      ...(outcome && !outcome.pointerVerified ? { refusal: "untrusted" as const } : {}),
      ...(pointer.candidate && target === pointer.candidate.version
        ? { rolloutId: pointer.candidate.rolloutId }
        : {}),
      latencyMs: Math.max(0, Date.now() - Date.parse(pointer.issuedAt)),
      at,
    };
    if (
      st.lastAck && st.lastAck.seq === ack.seq && st.lastAck.version === ack.version &&
      st.lastAck.status === status && status !== "applied"
    ) return;
    this.#outbox.add(ack);
    if (outcome?.pointerVerified ?? true) st.maxSeq = Math.max(st.maxSeq, pointer.seq);
    st.lastAck = {
      version: ack.version,
      seq: ack.seq,
      status,
      ...(outcome ? { reason: outcome.message } : {}),
      ...(ack.refusal ? { refusal: ack.refusal } : {}),
      at,
    };
    if (options.preflight && !outcome) {
      this.#log.info("verified a preflight candidate (not installed)", {
        config,
        version: target.version,
        seq: pointer.seq,
        ms: elapsedMs.toFixed(1),
      });
    } else if (!outcome) {
      st.applied = {
        version: target.version,
        digest: target.digest,
        seq: pointer.seq,
        appliedAt: at,
      };
      st.diskDigest = target.digest;
      this.stats.applies++;
      // One line per apply: thousands of agents in a bench worker, so the fields are only
      // built for a record that is written.
      this.#log.info("applied", () => ({
        config,
        version: target.version,
        seq: pointer.seq,
        ms: elapsedMs.toFixed(1),
      }));
    } else {
      if (status === "rejected") this.stats.rejects++;
      else this.stats.failures++;
      this.#log.warn(`${status}; keeping the last good file`, {
        config,
        version: target.version,
        reason: outcome.message,
      });
    }
    this.#save();
    this.#flushAcks();
    this.#heartbeat.soon();
  }

  /** Stops watching, finishes what is in flight, sends what acks it can, disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.stop();
    this.#heartbeat.stop();
    clearTimeout(this.#ackRetry);
    this.#workers.close();
    this.#drift?.close();
    await this.idle();
    await this.#cache.flush().catch(() => {});
    const nats = this.#connection.nats;
    if (nats) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([
          this.#outbox.flush(nats).catch(() => {}),
          // Goodbye: a host that stops cleanly is gone, not failing a rollout.
          this.#heartbeat.send({ rehash: false, leaving: true }).catch(() => {}),
        ]),
        new Promise((r) => (timer = setTimeout(r, 2_000))),
      ]);
      clearTimeout(timer);
      // What was sent leaves the state file now, so a restart has nothing to check.
      try {
        this.#save();
      } catch {
        // the acks stay listed; a restart checks them against the acks stream
      }
      await this.#connection.close();
    }
    this.#store.close();
    this.#logging[Symbol.dispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
