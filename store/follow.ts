/**
 * Following the pointers of some configs in one region, as every reader of pointers
 * must: connect in the background (a reader starts while NATS is down and keeps serving
 * what it has), hold one core subscription to the notices, and make up for lost notices
 * with a reconcile (a direct get of each pointer) on connect, on every reconnect and on
 * a timer. What it finds is delivered per config one at a time and in `seq` order: a
 * pointer at or below the last one delivered is dropped, and while one is being
 * delivered a newer one waits (the older one's delivery is told to give up), so a slow
 * fetch of an older version can never land after a newer one.
 *
 * @example
 * ```ts
 * await using follower = new PointerFollower({
 *   servers: "nats://127.0.0.1:4222",
 *   region: "us-east",
 *   configs: ["web"],
 *   verify: (p) => verifyPointer(verifier, p),
 *   deliver: async (pointer, blobs, { nats }) => console.log(pointer.seq),
 *   onError: (e) => console.warn(e.message),
 * });
 * ```
 *
 * @module
 */
import type { Subscription } from "@nats-io/transport-node";
import { type AtlasNats, connectAtlas, type ConnectOptions } from "./connect.ts";
import { PointerNotice, type PointerRecord, Subjects } from "@atlas/core";
import { readPointer } from "./pointers.ts";
import { componentLogger } from "./log.ts";

/** How a pointer reached the follower: a notice, or a read of the stored pointer. */
export const PointerVia = { notice: "notice", read: "read" } as const;
export type PointerVia = typeof PointerVia[keyof typeof PointerVia];

/** What the follower was doing when an error happened. */
export const FollowStage = {
  /** Connecting the first time (reported once per run of failures). */
  connect: "connect",
  /** A notice that does not parse. */
  notice: "notice",
  /** Reading a stored pointer. */
  read: "read",
  /** The `verify` option refused a pointer (it is dropped). */
  verify: "verify",
  /** `deliver` threw (the pointer is tried again when it is found again). */
  deliver: "deliver",
} as const;
export type FollowStage = typeof FollowStage[keyof typeof FollowStage];

/** Where an error of the follower came from. */
export interface FollowErrorContext {
  stage: FollowStage;
  config?: string;
  pointer?: PointerRecord;
  via?: PointerVia;
}

/** Changes of the follower's connection. */
export const FollowStatus = {
  connected: "connected",
  disconnected: "disconnected",
  reconnected: "reconnected",
} as const;
export type FollowStatus = typeof FollowStatus[keyof typeof FollowStatus];

/** What {@linkcode PointerFollowerOptions.deliver} gets besides the pointer. */
export interface DeliveryContext {
  /** The connection (for blob reads). */
  nats: AtlasNats;
  /** Aborted when a newer pointer of the same config arrived, or the follower closes. */
  signal: AbortSignal;
  via: PointerVia;
}

/** Options of {@linkcode PointerFollower}. */
export interface PointerFollowerOptions {
  /** NATS servers. @default `$ATLAS_NATS_URL`, then nats://127.0.0.1:4222 */
  servers?: string | string[];
  region: string;
  /** The configs to follow. */
  configs: readonly string[];
  /**
   * Called with each new pointer of a config, one at a time per config and in `seq`
   * order. A pointer counts as delivered when this resolves; when it throws, the error
   * goes to `onError` and the pointer is taken again the next time it is found.
   */
  deliver: (
    pointer: PointerRecord,
    blobs: Record<string, string>,
    context: DeliveryContext,
  ) => Promise<void> | void;
  /**
   * Checks a pointer before its `seq` is trusted (`verifyPointer`); a pointer it throws
   * on is dropped and reported. @default none: `deliver` checks
   */
  verify?: (pointer: PointerRecord) => void;
  /**
   * Receives every error (connect, unreadable notice or pointer, refused pointer, failed
   * delivery). @default a line on stderr
   */
  onError?: (error: Error, context: FollowErrorContext) => void;
  /** Told when the connection is made, lost and made again. @default nothing */
  onStatus?: (status: FollowStatus, nats: AtlasNats) => void;
  /** The `seq` already held per config: lower or equal pointers are dropped. @default {} */
  delivered?: Readonly<Record<string, number>>;
  /** Milliseconds between reconciles (± 20 %, after each one ends). @default 30_000 */
  reconcileMs?: number;
  /** Milliseconds between attempts to connect the first time (± 20 %). @default 1_000 */
  retryMs?: number;
  /** Options of the connection (`waitOnFirstConnect` is the follower's business). */
  connect?: Omit<ConnectOptions, "waitOnFirstConnect">;
}

interface _Entry {
  pointer: PointerRecord;
  blobs: Record<string, string>;
  via: PointerVia;
}

interface _Lane {
  delivered: number;
  pending?: _Entry | undefined;
  current?: { seq: number; abort: AbortController } | undefined;
  running?: Promise<void> | undefined;
}

/**
 * Follows the pointers of `configs` in `region`; see the module doc. Starts connecting
 * at once, in the background, and retries until it is closed.
 *
 * @example
 * ```ts
 * await using follower = new PointerFollower({ region: "us-east", configs: ["web"], deliver });
 * await follower.whenConnected();
 * ```
 */
export class PointerFollower implements AsyncDisposable {
  readonly #options: PointerFollowerOptions;
  readonly #configs: ReadonlySet<string>;
  readonly #lanes = new Map<string, _Lane>();
  readonly #stop = new AbortController();
  readonly #running: Promise<void>;
  #nats: AtlasNats | undefined;
  #sub: Subscription | undefined;
  #statusLoop: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Reconciles started by the timer or a reconnect, awaited by close. */
  readonly #reconciles = new Set<Promise<void>>();
  #connected!: () => void;
  readonly #whenConnected = new Promise<void>((r) => (this.#connected = r));

  constructor(options: PointerFollowerOptions) {
    if (options.configs.length === 0) {
      throw new TypeError("Cannot follow pointers: 'configs' is empty; name at least one");
    }
    // Checks the names before anything starts.
    for (const c of options.configs) Subjects.notify(options.region, c);
    this.#options = options;
    this.#configs = new Set(options.configs);
    for (const [config, seq] of Object.entries(options.delivered ?? {})) {
      this.#lane(config).delivered = seq;
    }
    this.#running = this.#run();
  }

  /** The connection, once made (undefined before, and after close). */
  get nats(): AtlasNats | undefined {
    return this.#nats;
  }

  /** True while connected to NATS. */
  get connected(): boolean {
    return !!this.#nats && !this.#nats.nc.isClosed() && this.#nats.disconnectedForMs === 0;
  }

  /** The `seq` last delivered of `config` (0 when none). */
  delivered(config: string): number {
    return this.#lanes.get(config)?.delivered ?? 0;
  }

  /** Resolves once connected and the first reconcile has run (or the follower closed). */
  whenConnected(): Promise<void> {
    return this.#whenConnected;
  }

  /**
   * Reads the stored pointer of every config (direct get) and delivers what is new;
   * resolves when that is done. Runs on connect, reconnect and a timer; call it to
   * force one. Does nothing while not connected.
   */
  async reconcile(): Promise<void> {
    const nats = this.#nats;
    if (!nats || this.#stop.signal.aborted) return;
    await Promise.all([...this.#configs].map(async (config) => {
      try {
        const stored = await readPointer(nats, this.#options.region, config);
        if (stored) this.#intake(stored.pointer, {}, PointerVia.read);
      } catch (e) {
        this.#error(e, { stage: FollowStage.read, config });
      }
    }));
    await this.idle();
  }

  /** Resolves when no pointer is waiting or being delivered. */
  async idle(): Promise<void> {
    while (true) {
      const running = [...this.#lanes.values()].flatMap((l) => (l.running ? [l.running] : []));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Stops following: gives up deliveries in flight, waits for them, disconnects. */
  async close(): Promise<void> {
    if (this.#stop.signal.aborted) return this.#running;
    this.#stop.abort();
    clearTimeout(this.#timer);
    this.#sub?.unsubscribe();
    for (const lane of this.#lanes.values()) {
      lane.pending = undefined;
      lane.current?.abort.abort();
    }
    await this.#running;
    await Promise.all(this.#reconciles);
    await this.idle();
    await this.#nats?.close();
    await this.#statusLoop;
    this.#nats = undefined;
    this.#connected();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #lane(config: string): _Lane {
    let lane = this.#lanes.get(config);
    if (!lane) this.#lanes.set(config, lane = { delivered: 0 });
    return lane;
  }

  #error(e: unknown, context: FollowErrorContext): void {
    if (this.#stop.signal.aborted) return; // what fails while closing is no news
    const error = e instanceof Error ? e : new Error(String(e));
    if (this.#options.onError) {
      try {
        this.#options.onError(error, context);
      } catch {
        // a failing error handler must not stop the follower
      }
      return;
    }
    componentLogger("follow").logger.error("cannot follow pointers", {
      region: this.#options.region,
      stage: context.stage,
      ...(context.config ? { config: context.config } : {}),
      error,
    });
  }

  /** Connects (retrying until closed), subscribes, reconciles, then keeps reconciling. */
  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let failures = 0;
    let nats: AtlasNats | undefined;
    while (!signal.aborted && !nats) {
      try {
        nats = await connectAtlas(this.#options.servers, {
          name: "atlas pointer follower",
          ...this.#options.connect,
          waitOnFirstConnect: false,
        });
      } catch (e) {
        // One report per run of failures: NATS being down is one condition, not one a second.
        if (failures++ === 0) this.#error(e, { stage: FollowStage.connect });
        await _sleep(_jitter(this.#options.retryMs ?? 1_000), signal);
      }
    }
    if (!nats) return;
    if (signal.aborted) return void await nats.close();
    this.#nats = nats;
    const configs = [...this.#configs];
    const subject = configs.length === 1
      ? Subjects.notify(this.#options.region, configs[0]!)
      : Subjects.notifyRegion(this.#options.region);
    this.#sub = nats.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        let notice: PointerNotice;
        try {
          notice = PointerNotice.parse(msg.json());
        } catch (e) {
          this.#error(
            new TypeError(`Malformed pointer notice on ${msg.subject} ignored`, {
              cause: e,
            }),
            { stage: FollowStage.notice },
          );
          return;
        }
        this.#intake(notice.pointer, notice.blobs, PointerVia.notice);
      },
    });
    this.#statusLoop = (async () => {
      for await (const s of nats.nc.status()) {
        if (s.type === "reconnect") {
          this.#options.onStatus?.(FollowStatus.reconnected, nats);
          this.#background();
        } else if (s.type === "disconnect") {
          this.#options.onStatus?.(FollowStatus.disconnected, nats);
        }
      }
    })().catch(() => {});
    this.#options.onStatus?.(FollowStatus.connected, nats);
    await this.reconcile();
    this.#schedule();
    this.#connected();
  }

  #schedule(): void {
    if (this.#stop.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#background().finally(() => this.#schedule());
    }, _jitter(this.#options.reconcileMs ?? 30_000));
  }

  /** A reconcile nobody awaits but close. */
  #background(): Promise<void> {
    const run = this.reconcile().catch((e) => this.#error(e, { stage: FollowStage.read }));
    this.#reconciles.add(run);
    run.finally(() => this.#reconciles.delete(run));
    return run;
  }

  #intake(pointer: PointerRecord, blobs: Record<string, string>, via: PointerVia): void {
    const config = pointer.config;
    if (
      this.#stop.signal.aborted || pointer.region !== this.#options.region ||
      !this.#configs.has(config)
    ) return;
    try {
      this.#options.verify?.(pointer);
    } catch (e) {
      return this.#error(e, { stage: FollowStage.verify, config, pointer, via });
    }
    const lane = this.#lane(config);
    if (pointer.seq <= lane.delivered || pointer.seq <= (lane.current?.seq ?? 0)) return;
    const queued = lane.pending;
    if (queued && queued.pointer.seq > pointer.seq) return;
    const merged = queued && queued.pointer.seq === pointer.seq
      ? { ...queued.blobs, ...blobs }
      : blobs;
    lane.pending = { pointer, blobs: merged, via };
    // What is in flight is older than what now waits: it may stop where it is.
    lane.current?.abort.abort();
    // (finally runs after the assignment even when #drain returns at once)
    lane.running ??= this.#drain(config, lane).finally(() => (lane.running = undefined));
  }

  async #drain(config: string, lane: _Lane): Promise<void> {
    for (let next = lane.pending; next; next = lane.pending) {
      lane.pending = undefined;
      const nats = this.#nats;
      if (!nats || this.#stop.signal.aborted) return;
      const abort = new AbortController();
      lane.current = { seq: next.pointer.seq, abort };
      try {
        await this.#options.deliver(next.pointer, next.blobs, {
          nats,
          signal: abort.signal,
          via: next.via,
        });
        if (!abort.signal.aborted) lane.delivered = Math.max(lane.delivered, next.pointer.seq);
      } catch (e) {
        if (!abort.signal.aborted) {
          const { pointer, via } = next;
          this.#error(e, { stage: FollowStage.deliver, config, pointer, via });
        }
      } finally {
        lane.current = undefined;
      }
    }
  }
}

function _jitter(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function _sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
