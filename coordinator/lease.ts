/**
 * Leader election of a region's coordinator replicas through one KV key, by
 * compare-and-set. nats-server 2.9.10 ignores per-key TTL (bench/README.md, measured
 * facts), so expiry is measured by each replica's own monotonic clock, never by comparing
 * clocks across machines:
 *
 * - The holder renews by writing the key with CAS on the revision it last wrote. It
 *   counts itself leader only until `ttlMs` after the start of its last successful
 *   renewal (minus a margin); a failed or lost renewal ends that at once.
 * - A follower remembers when it first saw the current revision. If the revision has not
 *   changed for `ttlMs` by its own clock, the holder has stopped renewing, and the
 *   follower takes the key with CAS on that revision (one winner).
 *
 * The holder's window always closes before a follower may take over, because the
 * follower starts counting only after the write it observes.
 *
 * @module
 */
import type { KV } from "@nats-io/kv";

/** Milliseconds since some fixed point; injectable so tests control time. */
export interface Clock {
  now(): number;
}

/** The system's monotonic clock. */
export const systemClock: Clock = { now: () => performance.now() };

/** What is stored under the lease key. */
export interface LeaseRecord {
  holder: string;
  /** Grows at every change of holder. */
  term: number;
}

/** Options of {@linkcode Lease}. */
export interface LeaseOptions {
  /** How long an unrenewed lease lasts. @default 5_000 */
  ttlMs?: number;
  /** The holder stops counting itself leader this long before its lease ends. @default ttlMs / 5 */
  marginMs?: number;
  clock?: Clock;
}

/**
 * One replica's view of a lease. Call {@linkcode Lease.tick} often (every `ttlMs / 3` or
 * so); act only while {@linkcode Lease.isLeader} is true.
 *
 * @example
 * ```ts
 * const lease = new Lease(await nats.kv("atlas_leases"), "us-east", "coord-a");
 * setInterval(() => lease.tick(), 1_000);
 * if (lease.isLeader) await advanceRollouts();
 * ```
 */
export class Lease {
  readonly key: string;
  readonly holder: string;
  readonly #kv: KV;
  readonly #ttl: number;
  readonly #margin: number;
  readonly #clock: Clock;
  /** Revision we last wrote, while we hold the lease. */
  #ownRevision: number | undefined;
  #validUntil = -Infinity;
  #term = 0;
  /** Follower: the revision we are watching and when we first saw it. */
  #seen: { revision: number; since: number } | undefined;

  constructor(kv: KV, key: string, holder: string, options: LeaseOptions = {}) {
    this.#kv = kv;
    this.key = key;
    this.holder = holder;
    this.#ttl = options.ttlMs ?? 5_000;
    this.#margin = options.marginMs ?? this.#ttl / 5;
    this.#clock = options.clock ?? systemClock;
  }

  /** True while this replica holds a lease it has renewed recently enough. */
  get isLeader(): boolean {
    return this.#ownRevision !== undefined && this.#clock.now() < this.#validUntil;
  }

  /** The term of the lease as this replica last saw it. */
  get term(): number {
    return this.#term;
  }

  async #write(term: number, revision: number | undefined): Promise<boolean> {
    const started = this.#clock.now();
    const data = JSON.stringify({ holder: this.holder, term } satisfies LeaseRecord);
    try {
      this.#ownRevision = revision === undefined
        ? await this.#kv.create(this.key, data)
        : await this.#kv.update(this.key, data, revision);
    } catch {
      this.#ownRevision = undefined; // lost a race, or NATS is unreachable
      return false;
    }
    this.#term = term;
    this.#validUntil = started + this.#ttl - this.#margin;
    this.#seen = undefined;
    return true;
  }

  /** Renews (holder) or watches and possibly takes over (follower). Returns {@linkcode isLeader}. */
  async tick(): Promise<boolean> {
    if (this.#ownRevision !== undefined) {
      await this.#write(this.#term, this.#ownRevision);
      return this.isLeader;
    }
    let entry;
    try {
      entry = await this.#kv.get(this.key);
    } catch {
      return false;
    }
    if (!entry || entry.operation !== "PUT") {
      await this.#write(this.#term + 1, entry ? entry.revision : undefined);
      return this.isLeader;
    }
    const record = entry.json() as LeaseRecord;
    this.#term = record.term;
    if (record.holder === "") {
      await this.#write(record.term + 1, entry.revision); // released: free to take
      return this.isLeader;
    }
    if (record.holder === this.holder) {
      // Still ours: a renewal failed (NATS out of reach, or its reply lost) and nobody took
      // over since. This replica stopped leading when the renewal failed, so taking it back
      // at once (by compare-and-set, in a new term) is as safe as any takeover, and spares
      // the region a ttl without a leader after every short cut.
      await this.#write(record.term + 1, entry.revision);
      return this.isLeader;
    }
    const now = this.#clock.now();
    if (!this.#seen || this.#seen.revision !== entry.revision) {
      this.#seen = { revision: entry.revision, since: now };
      return false;
    }
    if (now - this.#seen.since >= this.#ttl) await this.#write(record.term + 1, entry.revision);
    return this.isLeader;
  }

  /**
   * Gives the lease up at once (graceful shutdown), so a replica can take over without
   * waiting for the ttl. The term is kept in the key, so the next holder's term is higher.
   */
  async release(): Promise<void> {
    const revision = this.#ownRevision;
    this.#ownRevision = undefined;
    if (revision === undefined) return;
    const data = JSON.stringify({ holder: "", term: this.#term } satisfies LeaseRecord);
    await this.#kv.update(this.key, data, revision).catch(() => {});
  }
}
