/**
 * The edge agent: keeps the files of its configs equal to what its region's pointers
 * say, verifying every byte before it touches disk. The result is at-least-once
 * notification and, through the persisted state, exactly-once application per version.
 *
 * `Agent` composes parts that each own their timers and resources:
 * - connection.ts: NATS, the notice subscription (pointer notices, key sets, the region
 *   beacon), the reconcile timers;
 * - config_worker.ts: per config, one pointer in flight, the latest waiting, retries;
 * - applier.ts (with outcome.ts): processing one pointer, recording its ack and state;
 * - disk_digests.ts: the digests of the files on disk, looked at on a timer for drift;
 * - heartbeat.ts: the agent's record on a timer, after changes, and the goodbye;
 * - alive.ts: the alive pings that tell the coordinators the host is up;
 * - outbox.ts: the acks waiting to be sent, and their retry.
 *
 * Invariant: the agent owns the persisted state; every part reads and changes it through
 * the accessors it is given, and `close()` stops every part before the last ack flush,
 * the goodbye and the disconnect.
 *
 * @module
 */
import {
  type AckIdentity,
  type AckRecord,
  configsBehind,
  type KeySetRecord,
  type PointerRecord,
  type RegionBeacon,
  sha256Hex,
  type TrustedKey,
  Verifier,
} from "@atlas/core";
import {
  type AgentCounters,
  type AgentMetrics,
  type ComponentLogger,
  componentLogger,
  type LineSink,
  loadTrustedKeys,
  type Logger,
  readPointer,
  removeStaleTemps,
} from "@atlas/store";
import { TrustedKeys } from "./trusted_keys.ts";
import { Applier } from "./applier.ts";
import { BlobCache } from "./cache.ts";
import type { AgentConfig } from "./config.ts";
import { ConfigWorkers } from "./config_worker.ts";
import { Connection } from "./connection.ts";
import { DiskDigests, type DriftDeps, settledDigest } from "./disk_digests.ts";
import { onTick } from "./ticker.ts";
import { Heartbeat } from "./heartbeat.ts";
import { AlivePings } from "./alive.ts";
import { localApi, type LocalApiSource, parseListen } from "./local_api.ts";
import { loadIdentity } from "./identity.ts";
import { AckOutbox } from "./outbox.ts";
import { type AgentState, type ConfigState, emptyConfigState, StateStore } from "./state.ts";
import { type AgentStats, emptyStats } from "./stats.ts";

export type { AgentStats } from "./stats.ts";

/** Options of {@linkcode Agent.start}. */
export interface AgentOptions {
  /**
   * Where this agent's log lines go, formatted (tests keep them to print on failure).
   * @default the process log (see `configureLogging` in `@atlas/store`)
   */
  log?: LineSink;
  /**
   * The verifier until a key set is taken; one of the trusted keys file's keys when
   * omitted. The file (when readable) is the root of trust for the first key set.
   */
  verifier?: Verifier;
  /**
   * The identity that signs acks; read from `config.credentials` when omitted (none there
   * either: acks go unsigned and do not count, with a warning at start).
   */
  identity?: AckIdentity;
  /** Test hook: pause between chunks of a file write (see atomic.ts). @default 0 */
  writeChunkDelayMs?: number;
  /** Where to count applies, propagation and reconnects (`agentMetrics()`), if anywhere. */
  metrics?: AgentMetrics | undefined;
  /** Test hook: random numbers in [0, 1) for splays and reconnect waits. @default Math.random */
  random?: () => number;
}

/** A running agent. */
export class Agent implements AsyncDisposable {
  readonly config: AgentConfig;
  readonly stats: AgentStats = emptyStats();
  readonly #logging: ComponentLogger;
  readonly #log: Logger;
  readonly #cache: BlobCache;
  readonly #outbox: AckOutbox;
  readonly #store: StateStore;
  readonly #state: AgentState;
  readonly #digests: DiskDigests;
  readonly #connection: Connection;
  readonly #heartbeat: Heartbeat;
  readonly #alive: AlivePings;
  readonly #applier: Applier;
  readonly #workers: ConfigWorkers;
  readonly #keys: TrustedKeys;
  /** What a drift check looks at: the files, what was applied, which apply runs. */
  readonly #driftDeps: DriftDeps;
  /** Stops the looks at the files ({@linkcode #watchFiles}). */
  #stopLooking: (() => void) | undefined;
  /** The reconcile a drift started, while it runs: a look meanwhile starts no other. */
  #healing: Promise<void> | undefined;
  /** Per config, the digest on disk that last started a reconcile, and when (ms). */
  readonly #driftTried = new Map<string, { digest: string | null; at: number }>();
  /** Per config, the highest pointer seq read from the store (see #onBeacon). */
  readonly #seenSeq = new Map<string, number>();
  #http: Deno.HttpServer<Deno.NetAddr> | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  readonly #startedAt = Date.now();
  readonly #metrics: AgentMetrics | undefined;
  /** What the metrics read at scrape time. */
  readonly #counters: AgentCounters;
  /** Dispatches `"change"` after every apply, refusal or failure (the local API waits on it). */
  readonly changes: EventTarget = new EventTarget();

  private constructor(
    config: AgentConfig,
    store: StateStore,
    state: AgentState,
    trust: { bootstrap: TrustedKey[]; verifier: Verifier; keySet: KeySetRecord | null },
    options: AgentOptions,
    identity: AckIdentity | undefined,
  ) {
    this.config = config;
    this.#store = store;
    this.#state = state;
    this.#logging = componentLogger("agent", { agent: config.id, region: config.region }, {
      sink: options.log,
    });
    this.#log = this.#logging.logger;
    const keys = new TrustedKeys({
      bootstrap: trust.bootstrap,
      verifier: trust.verifier,
      stateDir: config.stateDir,
      log: this.#log,
    }, trust.keySet);
    this.#keys = keys;
    this.#cache = new BlobCache(`${config.stateDir}/blobs`, config.cacheEntries);
    this.#outbox = new AckOutbox(state.outbox, identity);
    if (!identity) {
      this.#log.warn(
        "no credentials: acks are sent unsigned and do not count in gates or status; set " +
          '"credentials" in agent.json to the .creds file of `atlas agents enroll`',
      );
    }
    this.#digests = new DiskDigests(
      Object.fromEntries(Object.entries(config.configs).map(([name, c]) => [name, c.path])),
    );
    this.#driftDeps = {
      digests: this.#digests,
      appliedDigest: (name) => this.#stateOf(name).applied?.digest,
      busy: (name) => this.#workers.busy(name),
    };
    this.#connection = new Connection(config, {
      log: this.#log,
      stats: this.stats,
      onNotice: (notice, trace) => this.#enqueue(notice.pointer, notice.blobs, trace),
      onBeacon: (beacon) => this.#onBeacon(beacon),
      onKeySet: (notice) => {
        this.#keys.offer(notice.keySet).catch((e) =>
          this.#log.error("cannot keep the key set", { error: String(e) })
        );
      },
      reconcile: () => this.reconcile(),
      ...(options.random ? { random: options.random } : {}),
    });
    this.#alive = new AlivePings(config, () => this.#connection.nats);
    this.#heartbeat = new Heartbeat(config, {
      nats: () => this.#connection.nats,
      stateOf: (name) => this.#stateOf(name),
      digests: this.#digests,
      signedAcks: identity !== undefined,
    });
    this.#applier = new Applier(config, {
      keys,
      refreshKeys: (keyId) => {
        const nats = this.#connection.nats;
        return nats ? this.#keys.fetchFor(nats, keyId) : Promise.resolve();
      },
      cache: this.#cache,
      outbox: this.#outbox,
      stats: this.stats,
      log: this.#log,
      digests: this.#digests,
      stateOf: (name) => this.#stateOf(name),
      appliedDigests: () =>
        Object.values(this.#state.configs).flatMap((c) => (c.applied ? [c.applied.digest] : [])),
      nats: () => this.#connection.nats,
      save: () => this.#save(),
      acked: () => {
        this.#flushAcks();
        // The signed ack says what was applied or refused; a record only where it cannot.
        this.#heartbeat.afterAck();
        this.changes.dispatchEvent(new Event("change"));
      },
      writeChunkDelayMs: options.writeChunkDelayMs,
      observe: options.metrics && this.#observer(options.metrics),
    });
    this.#metrics = options.metrics;
    this.#counters = {
      id: config.id,
      stats: this.stats,
      reconnects: () => this.#connection.nats?.reconnects ?? 0,
      pendingAcks: () => this.#outbox.size,
      appliedVersions: () =>
        Object.fromEntries(
          Object.keys(config.configs).map((c) => [c, this.#stateOf(c).applied?.version ?? null]),
        ),
    };
    this.#metrics?.track(this.#counters);
    this.#workers = new ConfigWorkers({
      process: ({ pointer, blobs, trace }) => this.#applier.process(pointer, blobs, trace),
      superseded: ({ pointer }) => this.#stateOf(pointer.config).maxSeq >= pointer.seq,
      maxRetryMs: Math.min(config.reconcileSeconds, 30) * 1000,
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
    let bootstrap: TrustedKey[] = [];
    try {
      bootstrap = await loadTrustedKeys(config.trustedKeys);
    } catch (e) {
      if (!options.verifier) throw e;
      // A verifier handed in without a file (tests, the bench): its keys are the root of
      // trust for the first key set.
      bootstrap = [...options.verifier.trustedKeys];
    }
    const identity = options.identity ??
      (config.credentials === undefined ? undefined : await loadIdentity(config.credentials));
    await Deno.mkdir(`${config.stateDir}/blobs`, { recursive: true });
    const keys = {
      bootstrap,
      verifier: options.verifier ?? new Verifier(bootstrap),
      keySet: await TrustedKeys.readSet(config.stateDir),
    };
    const { store, state } = StateStore.open(config.stateDir);
    const agent = new Agent(config, store, state, keys, options, identity);
    await agent.#cache.load();
    for (const [name, c] of Object.entries(config.configs)) {
      const removed = await removeStaleTemps(c.path);
      if (removed) {
        agent.#log.info("removed temp files of an interrupted write", { config: name, removed });
      }
      const st = agent.#stateOf(name);
      st.diskDigest = agent.#digests.of(name);
      if (st.applied) {
        agent.#log.info("serving last applied version", {
          config: name,
          version: st.applied.version,
        });
      }
    }
    agent.#watchFiles();
    if (config.http) agent.#serveLocalApi(config.http);
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
    return this.#connection.connected && this.#connection.nats?.disconnectedForMs === 0;
  }

  /** Milliseconds since NATS was last reachable: 0 while connected, since start before. */
  get disconnectedForMs(): number {
    const nats = this.#connection.nats;
    if (!nats) return Date.now() - this.#startedAt;
    return Math.min(nats.disconnectedForMs, Date.now() - this.#startedAt);
  }

  /** The local API's address (`agent.json` `http`), once listening. */
  get localApiAddr(): Deno.NetAddr | undefined {
    return this.#http?.addr;
  }

  /**
   * The bytes of the version of `config` that is applied: from the blob cache, else from
   * the file when it still holds exactly them; null when nothing is applied or neither has
   * them (a hand edit the agent has not restored yet, with the blob evicted).
   */
  async appliedBytes(config: string): Promise<Uint8Array | null> {
    const applied = this.#stateOf(config).applied;
    const path = this.config.configs[config]?.path;
    if (!applied || !path) return null;
    const cached = await this.#cache.get(applied.digest).catch(() => null);
    if (cached) return cached;
    const onDisk = await Deno.readFile(path).catch(() => null);
    return onDisk && sha256Hex(onDisk) === applied.digest ? onDisk : null;
  }

  /** Observes each ack for the metrics: propagation, apply time (applied versions only). */
  #observer(metrics: AgentMetrics): (ack: AckRecord, elapsedMs: number) => void {
    const agent = this.config.id;
    return (ack, elapsedMs) => {
      metrics.propagation.observe(
        { agent, config: ack.config, status: ack.status },
        ack.latencyMs / 1000,
      );
      if (ack.status === "applied") {
        metrics.apply.observe({ agent, config: ack.config }, elapsedMs / 1000);
      }
    };
  }

  /** What the local API reads. */
  #localSource(): LocalApiSource {
    // deno-lint-ignore no-this-alias
    const agent = this;
    return {
      id: this.config.id,
      region: this.config.region,
      configs: Object.keys(this.config.configs),
      stateOf: (config) => this.stateOf(config),
      appliedBytes: (config) => this.appliedBytes(config),
      get connected() {
        return agent.connected;
      },
      get disconnectedForMs() {
        return agent.disconnectedForMs;
      },
      changes: this.changes,
    };
  }

  #serveLocalApi(listen: string): void {
    const { hostname, port } = parseListen(listen);
    const app = localApi(this.#localSource());
    this.#http = Deno.serve({
      hostname,
      port,
      onListen: (addr) =>
        this.#log.info("local API listening", { addr: `${addr.hostname}:${addr.port}` }),
    }, app.fetch);
  }

  /** Resolves once the first connection is made and the first reconcile has run. */
  async whenConnected(): Promise<void> {
    await this.#connecting;
  }

  /** A copy of the persisted state of `config`. */
  stateOf(config: string): ConfigState {
    return structuredClone(this.#stateOf(config));
  }

  /** The key set this agent took (null before its first). */
  get keySet(): KeySetRecord | null {
    return this.#keys.keySet;
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
    this.#alive.start();
    // Membership first: the heartbeat states every managed config before any apply, so a
    // rollout counts this agent from the start.
    await this.#heartbeat.send().catch((e) =>
      this.#log.warn("heartbeat failed", { error: String(e) })
    );
    await this.reconcile();
  }

  /**
   * Looks at the managed files on a timer, so a hand edit is found within
   * `watchIntervalMs` with `watchFiles` on (else `driftCheckSeconds`): drift starts a
   * reconcile, which restores the applied version. A poll of each file's stamp, not
   * inotify: the events of the agent's own writes cost more than the poll (agent/config.ts).
   * The agents of a process share the timer (agent/ticker.ts).
   */
  #watchFiles(): void {
    const ms = this.config.watchFiles
      ? Math.min(this.config.watchIntervalMs, this.config.driftCheckSeconds * 1000)
      : this.config.driftCheckSeconds * 1000;
    this.#stopLooking = onTick(
      ms,
      () => this.#lookAtFiles(),
      (e) => this.#log.warn("cannot look at the managed files", { error: String(e) }),
    );
  }

  /**
   * A region beacon: when it names a newer pointer than this agent has read for a config
   * it manages (a notice was lost), reconcile soon (splayed); otherwise nothing. A beacon
   * can only cause this read: what is applied still comes from the signed stored pointer.
   */
  #onBeacon(beacon: RegionBeacon): void {
    if (this.#closed) return;
    const behind = configsBehind(
      beacon,
      Object.keys(this.config.configs),
      (c) => Math.max(this.#stateOf(c).maxSeq, this.#seenSeq.get(c) ?? 0),
    );
    if (behind.length === 0) return;
    this.stats.beaconsBehind++;
    this.#log.info("the region beacon names a newer pointer; reconciling soon", {
      configs: behind,
    });
    this.#connection.reconcileSoon();
  }

  /**
   * Hashes the managed files whose stamp moved (no network) and, when one differs from its
   * applied version, starts a reconcile: while connected, when none started this way still
   * runs, and for the same bytes on disk at most once per `driftCheckSeconds` (a drift the
   * reconcile cannot heal, such as a refused apply, would otherwise read the pointer every
   * second).
   */
  #lookAtFiles(): void {
    const now = Date.now();
    const drifted: string[] = [];
    for (const name of Object.keys(this.config.configs)) {
      const seen = settledDigest(name, this.#driftDeps);
      if (!seen) continue; // being written: its digest is the applier's
      this.#stateOf(name).diskDigest = seen.digest;
      if (seen.applied === undefined || seen.digest === seen.applied) continue;
      const tried = this.#driftTried.get(name);
      const again = tried?.digest === seen.digest &&
        now - tried.at < this.config.driftCheckSeconds * 1000;
      if (!again) drifted.push(name);
    }
    if (drifted.length === 0 || this.#closed || this.#healing || !this.connected) return;
    for (const name of drifted) {
      this.#driftTried.set(name, { digest: this.#stateOf(name).diskDigest, at: now });
    }
    this.#log.warn("a managed file differs from its applied version; reconciling", {
      configs: drifted,
    });
    this.#healing = this.reconcile().catch(() => {}).finally(() => this.#healing = undefined);
  }

  /**
   * Reads the stored pointer of every managed config (direct get) and applies what
   * differs. Runs on connect, soon after a reconnect, when a beacon shows a missed
   * pointer, on drift and on a slow timer; call it to force one.
   */
  async reconcile(): Promise<void> {
    const nats = this.#connection.nats;
    if (!nats || this.#closed) return;
    this.stats.reconciles++;
    // A key-set notice lost while connected is made up for here, like a pointer notice. Not
    // awaited: the key set lives in the primary, and a region cut off from it still applies
    // its own moves (a pointer by a key not known yet waits for this read in trusted_keys.ts).
    this.#keys.fetch(nats).catch((e) =>
      this.#log.warn("cannot read the key set; will retry", { error: (e as Error).message })
    );
    for (const config of Object.keys(this.config.configs)) {
      try {
        const stored = await readPointer(nats, this.config.region, config);
        if (stored) this.#enqueue(stored.pointer, {});
        if (stored) this.#noteSeen(stored.pointer);
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

  /** Sends the acks waiting in the outbox, retrying while that fails. */
  #flushAcks(): void {
    const nats = this.#connection.nats;
    if (nats && !this.#closed) this.#outbox.send(nats);
  }

  #enqueue(pointer: PointerRecord, blobs: Record<string, string>, trace?: string): void {
    if (pointer.region !== this.config.region || !(pointer.config in this.config.configs)) return;
    this.#workers.push(pointer, blobs, trace);
  }

  /**
   * Records that a stored pointer's seq was read, applied or not: the workers retry what
   * failed, so a beacon naming it is no reason to read it again (a refused pointer would
   * otherwise cost a read at every beacon). Notices do not count: one that fails to verify
   * is caught up by the read the next beacon causes.
   */
  #noteSeen(pointer: PointerRecord): void {
    if (pointer.region !== this.config.region) return;
    const seen = this.#seenSeq.get(pointer.config) ?? 0;
    if (pointer.seq > seen) this.#seenSeq.set(pointer.config, pointer.seq);
  }

  /** Stops watching, finishes what is in flight, sends what acks it can, disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.stop();
    this.#stopLooking?.();
    this.#heartbeat.stop();
    this.#alive.stop();
    this.#outbox.close();
    this.#workers.close();
    this.#metrics?.untrack(this.#counters);
    await this.#http?.shutdown();
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
    await this.#keys.idle();
    this.#store.close();
    this.#logging[Symbol.dispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
