/**
 * The region beacon's sender (the message and its rule are in core/beacon.ts): while this
 * replica leads, every `everySeconds` it publishes the newest pointer seq of each config
 * of the region on `atlas.notify.<region>._beacon`. Agents that are behind reconcile;
 * the others do nothing, so an idle region costs one message per beacon, not a read per
 * agent.
 *
 * Invariants: only the leader sends (the engine calls {@linkcode Beacon.tick} after the
 * lease is renewed); the seqs come from the stored pointers (re-read only when the
 * pointer stream's last sequence moved), never from memory a failed read left stale; a
 * beacon that cannot be built is skipped (agents fall back to their slow reconcile timer).
 *
 * @module
 */
import { pointerBucket, reconnectSpreadMs, type RegionBeacon, Subjects } from "@atlas/core";
import { type AtlasNats, type Logger, readPointer } from "@atlas/store";

/** Seconds between beacons by default. */
export const BEACON_EVERY_SECONDS = 30;

/** Options of {@linkcode Beacon}. */
export interface BeaconOptions {
  region: string;
  log: Logger;
  /**
   * Seconds between beacons: a lost notice is caught up within this plus the agents' splay
   * (the old 30 s reconcile timer's bound), at one delivery per agent per beacon (~12 µs of
   * server CPU each, measured: a socket write per agent). @default 30
   */
  everySeconds?: number;
  /** Wall clock (ms). @default Date.now */
  now?: () => number;
  /** How many agents the region has (its records), for the reconnect window. */
  agents?: () => number;
  /** Agents per second a server takes reconnecting (core/reconnect.ts). @default 500 */
  reconnectRatePerSecond?: number;
}

/**
 * Sends the region's beacon while the caller leads.
 *
 * @example
 * ```ts
 * const beacon = new Beacon(nats, { region: "us-east", log });
 * await beacon.tick(); // in each step of the leader
 * ```
 */
export class Beacon {
  readonly #nats: AtlasNats;
  readonly #region: string;
  readonly #log: Logger;
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #agents: (() => number) | undefined;
  readonly #rate: number | undefined;
  #lastSentAt = -Infinity;
  #sending = false;
  /** The stream's last sequence when {@linkcode #seqs} was read. */
  #readAtSeq = -1;
  #seqs: Record<string, number> = {};
  /** Beacons sent (tests and logs). */
  sent = 0;

  constructor(nats: AtlasNats, options: BeaconOptions) {
    const every = options.everySeconds ?? BEACON_EVERY_SECONDS;
    if (!(every > 0)) {
      throw new RangeError(`Cannot send a beacon every ${every} s: give a positive number`);
    }
    this.#nats = nats;
    this.#region = options.region;
    this.#log = options.log;
    this.#everyMs = every * 1000;
    this.#now = options.now ?? (() => Date.now());
    this.#agents = options.agents;
    this.#rate = options.reconnectRatePerSecond;
    if (this.#agents) reconnectSpreadMs(0, this.#rate); // a bad rate fails here, not later
  }

  /** Sends a beacon when one is due; a failure is logged and tried again next tick. */
  async tick(): Promise<void> {
    const now = this.#now();
    if (this.#sending || now - this.#lastSentAt < this.#everyMs) return;
    this.#lastSentAt = now;
    this.#sending = true;
    try {
      await this.send();
    } catch (e) {
      this.#log.warn("cannot send the region beacon; agents reconcile on their timer", {
        error: (e as Error).message,
      });
    } finally {
      this.#sending = false;
    }
  }

  /** Builds and publishes one beacon now. */
  async send(): Promise<void> {
    const beacon: RegionBeacon = {
      region: this.#region,
      at: new Date(this.#now()).toISOString(),
      everySeconds: this.#everyMs / 1000,
      configs: await this.#pointerSeqs(),
      ...(this.#agents ? { reconnectSpreadMs: reconnectSpreadMs(this.#agents(), this.#rate) } : {}),
    };
    this.#nats.nc.publish(Subjects.beacon(this.#region), JSON.stringify(beacon));
    this.sent++;
  }

  /** The seq of every stored pointer of the region; read again only after a change. */
  async #pointerSeqs(): Promise<Record<string, number>> {
    const bucket = pointerBucket(this.#region);
    const prefix = Subjects.kvKey(bucket, "");
    // One request: the keys and the stream's last sequence, which moves on any write.
    const info = await this.#nats.jsm.streams.info(`KV_${bucket}`, {
      subjects_filter: `${prefix}>`,
    });
    if (info.state.last_seq === this.#readAtSeq) return this.#seqs;
    const seqs: Record<string, number> = {};
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const config = subject.slice(prefix.length);
      const stored = await readPointer(this.#nats, this.#region, config);
      if (stored) seqs[config] = stored.pointer.seq;
    }
    this.#seqs = seqs;
    this.#readAtSeq = info.state.last_seq;
    return seqs;
  }
}
