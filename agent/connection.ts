/**
 * The agent's link to NATS: the connection, the notice subscription and the reconcile
 * timer.
 *
 * How it learns of changes (see DESIGN.md's measured costs): one core-NATS subscription
 * to `atlas.notify.<region>.>` (no JetStream consumer per agent), plus a reconcile that
 * reads the stored pointers on connect, on every reconnect and on a timer. Notices are
 * only published for stored pointers, so acting on one is safe; a lost notice is made up
 * for by the next reconcile.
 *
 * Invariants: `connect()` makes one connection, and none once stopped; every well-formed
 * notice reaches `onNotice`, a malformed one is logged and dropped; after `stop()` no
 * notice is delivered and no reconcile is started by the timer.
 *
 * @module
 */
import { KeySetNotice, PointerNotice, Subjects } from "@atlas/core";
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
  /** Reads the stored pointers: after a reconnect and every `reconcileSeconds`. */
  reconcile: () => Promise<void>;
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
  #stopped = false;

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
      ...(config.tls ? { tls: config.tls } : {}),
    });
    if (this.#stopped) {
      await nats.close();
      return undefined;
    }
    this.#nats = nats;
    const keysSubject = Subjects.keysNotice(config.region);
    this.#sub = nats.nc.subscribe(Subjects.notifyRegion(config.region), {
      callback: (err, msg) => {
        if (err) return;
        this.#options.stats.notices++;
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
          log.info("reconnected to NATS; reconciling");
          this.#options.reconcile().catch(() => {});
        } else if (s.type === "disconnect") {
          log.warn("disconnected from NATS; serving last applied versions");
        }
      }
    })().catch(() => {});
    log.info("connected", { server: nats.nc.getServer() });
    this.#timer = every(config.reconcileSeconds * 1000, this.#options.reconcile);
    return nats;
  }

  /** Stops the reconcile timer and the notices; the connection stays open for goodbyes. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.close();
    this.#sub?.unsubscribe();
  }

  /** Closes the connection (after {@linkcode stop}). */
  async close(): Promise<void> {
    this.stop();
    await this.#nats?.close();
  }
}
