/**
 * The agent's link to NATS: the connection, the notice subscription and the reconcile
 * timer.
 *
 * How it learns of changes (see DESIGN.md's measured costs): one core-NATS subscription
 * to `atlas.notify.<region>.>` (no JetStream consumer per agent), which also carries the
 * region beacon (core/beacon.ts), plus a reconcile that reads the stored pointers on
 * connect, after every reconnect, when a beacon shows a missed pointer, and on a slow
 * timer. Notices are only published for stored pointers, so acting on one is safe; a lost
 * notice is made up for by the next beacon's reconcile (or the timer's, without one).
 *
 * Invariants: `connect()` makes one connection, and none once stopped; every well-formed
 * notice reaches `onNotice`, a malformed one is logged and dropped; a reconcile asked for
 * by {@linkcode Connection.reconcileSoon} starts within `reconcileSplaySeconds`, and at
 * most one such is pending; after `stop()` no notice is delivered and no reconcile is
 * started by a timer.
 *
 * @module
 */
import {
  KeySetNotice,
  PointerNotice,
  reconcileSplayAfterReconnectMs,
  reconnectDelayMs,
  RegionBeacon,
  Subjects,
} from "@atlas/core";
import { type AtlasNats, connectAtlas, type Logger, traceParentOf } from "@atlas/store";
import type { Subscription } from "@nats-io/transport-node";
import type { AgentConfig } from "./config.ts";
import { type Every, every } from "./every.ts";

/** Options of {@linkcode Connection}. */
export interface ConnectionOptions {
  log: Logger;
  /** Counts the notices received (malformed ones too). */
  stats: { notices: number };
  /**
   * Each pointer notice of the region, with the `traceparent` its headers carried (only
   * when tracing is on).
   */
  onNotice: (notice: PointerNotice, traceParent: string | undefined) => void;
  /** Each key-set notice of the region (`atlas.notify.<region>._keys`). */
  onKeySet: (notice: KeySetNotice) => void;
  /** Each region beacon (`atlas.notify.<region>._beacon`). */
  onBeacon?: (beacon: RegionBeacon) => void;
  /**
   * Reads the stored pointers: soon after a reconnect (splayed) and every
   * `reconcileSeconds`.
   */
  reconcile: () => Promise<void>;
  /** Random numbers in [0, 1) for the splay (tests pin it). @default Math.random */
  random?: () => number;
}

/**
 * Connects the agent to NATS and listens for its region's pointer notices.
 *
 * @example
 * ```ts
 * const connection = new Connection(config, { log, stats, onNotice, reconcile });
 * const nats = await connection.connect();
 * connection.stop();
 * await connection.close();
 * ```
 */
export class Connection {
  readonly #config: AgentConfig;
  readonly #options: ConnectionOptions;
  #nats: AtlasNats | undefined;
  #sub: Subscription | undefined;
  #timer: Every | undefined;
  #soon: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** The reconnect window the region's last beacon stated (core/reconnect.ts). */
  #beaconSpreadMs: number | undefined;
  /**
   * This outage's wait between reconnect attempts: drawn once per outage, so the agents of
   * a region land uniformly over the window (nats.js asks before every attempt, and a new
   * draw each time would bunch them towards its end).
   */
  #outageDelayMs: number | undefined;

  constructor(config: AgentConfig, options: ConnectionOptions) {
    this.#config = config;
    this.#options = options;
  }

  /** The connection, once made. */
  get nats(): AtlasNats | undefined {
    return this.#nats;
  }

  /** True while connected to NATS. */
  get connected(): boolean {
    return !!this.#nats && !this.#nats.nc.isClosed() && this.#sub !== undefined;
  }

  /**
   * Connects (waiting for the first server to answer), subscribes to the notices and
   * starts the reconcile timer. Resolves to undefined when stopped meanwhile.
   */
  async connect(): Promise<AtlasNats | undefined> {
    const { log } = this.#options;
    const config = this.#config;
    log.info("connecting to NATS", { servers: config.nats });
    const nats = await connectAtlas(config.nats, {
      name: `atlas-agent ${config.region}/${config.id}`,
      ...(config.credentials ? { credentials: config.credentials } : {}),
      waitOnFirstConnect: true,
      // Skips building a stack trace per request: measurable with thousands of agents.
      noAsyncTraces: true,
      reconnectDelayMs: () =>
        this.#outageDelayMs ??= reconnectDelayMs({
          jitterMs: config.reconnectJitterMs,
          beaconSpreadMs: this.#beaconSpreadMs,
          random: (this.#options.random ?? Math.random)(),
        }),
      ...(config.tls ? { tls: config.tls } : {}),
    });
    if (this.#stopped) {
      await nats.close();
      return undefined;
    }
    this.#nats = nats;
    this.#outageDelayMs = undefined;
    const keysSubject = Subjects.keysNotice(config.region);
    const beaconSubject = Subjects.beacon(config.region);
    this.#sub = nats.nc.subscribe(Subjects.notifyRegion(config.region), {
      callback: (err, msg) => {
        if (err) return;
        this.#options.stats.notices++;
        if (msg.subject === beaconSubject) {
          // Anything on it can only start a reconcile (a read): see core/beacon.ts.
          const parsed = RegionBeacon.safeParse(msg.json());
          if (parsed.success && parsed.data.region === config.region) {
            this.#beaconSpreadMs = parsed.data.reconnectSpreadMs;
            this.#options.onBeacon?.(parsed.data);
          } else if (!parsed.success) {
            log.warn("ignored a malformed region beacon", { error: parsed.error.message });
          }
          return;
        }
        if (msg.subject === keysSubject) {
          const parsed = KeySetNotice.safeParse(msg.json());
          if (parsed.success) this.#options.onKeySet(parsed.data);
          else log.warn("ignored a malformed key-set notice", { error: parsed.error.message });
          return;
        }
        let notice: PointerNotice;
        try {
          notice = PointerNotice.parse(msg.json());
        } catch (e) {
          log.warn("ignored a malformed pointer notice", {
            subject: msg.subject,
            error: String(e),
          });
          return;
        }
        this.#options.onNotice(notice, traceParentOf(msg.headers));
      },
    });
    (async () => {
      for await (const s of nats.nc.status()) {
        if (s.type === "reconnect") {
          log.info("reconnected to NATS; reconciling soon");
          // Reconnects were spread over the region's window already: splay only beyond it.
          this.reconcileSoon(reconcileSplayAfterReconnectMs(
            config.reconcileSplaySeconds * 1000,
            this.#beaconSpreadMs ?? 0,
          ));
          this.#outageDelayMs = undefined;
        } else if (s.type === "disconnect") {
          log.warn("disconnected from NATS; serving last applied versions");
        }
      }
    })().catch(() => {});
    log.info("connected", { server: nats.nc.getServer() });
    this.#timer = every(config.reconcileSeconds * 1000, this.#options.reconcile);
    return nats;
  }

  /**
   * Reconciles after a random delay in [0, `splayMs`) (`reconcileSplaySeconds` by default),
   * unless one is pending already: what many agents do together (a reconnect, a beacon that
   * shows a missed pointer) is spread over that window instead of landing in the same
   * second.
   */
  reconcileSoon(splayMs: number = this.#config.reconcileSplaySeconds * 1000): void {
    if (this.#stopped || this.#soon !== undefined) return;
    const random = this.#options.random ?? Math.random;
    const delayMs = Math.floor(random() * splayMs);
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      if (!this.#stopped) this.#options.reconcile().catch(() => {});
    }, delayMs);
  }

  /** True while a {@linkcode reconcileSoon} waits for its turn. */
  get reconcilePending(): boolean {
    return this.#soon !== undefined;
  }

  /** Stops the reconcile timers and the notices; the connection stays open for goodbyes. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.close();
    clearTimeout(this.#soon);
    this.#soon = undefined;
    this.#sub?.unsubscribe();
  }

  /** Closes the connection (after {@linkcode stop}). */
  async close(): Promise<void> {
    this.stop();
    await this.#nats?.close();
  }
}
