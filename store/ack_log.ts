/**
 * Reading the acks stream as a ledger: every ack of a config, in stored order, with the
 * store time the server gave it (evidence, core/evidence.ts).
 *
 * An ordered consumer reads it in batches of 1 000 (10 000 acks, measured: 0.2–0.3 s, where
 * one direct get per ack took 3.5 s). A batch that comes back empty while more is
 * pending (the stall measured with consumers on nats-server 2.9.10, see keys.ts) hands
 * over to direct gets (`next_by_subj`) from where it stopped, so the read always ends and
 * misses nothing. The stream keeps acks 30 days (or 1 GiB): evidence reaches back that far.
 *
 * @module
 */
import { DeliverPolicy } from "@nats-io/jetstream";
import { Streams } from "@atlas/core";
import type { AtlasNats } from "./connect.ts";
import { type StoredAck, storedAck } from "./enrolments.ts";

/** Options of {@linkcode readAckLog}. */
export interface ReadAckLogOptions {
  /** Only acks of this region. @default every region */
  region?: string;
  /** Only acks of this agent. @default every agent */
  agent?: string;
  /** Stop at the first ack stored after this (ms). @default no end */
  until?: number;
  /** Read at most this many acks (then `truncated`). @default 1_000_000 */
  max?: number;
}

/** What {@linkcode readAckLog} read. */
export interface AckLog {
  acks: StoredAck[];
  /** Messages on the config's ack subjects that were not acks (malformed). */
  malformed: number;
  /** True when `max` stopped the read before `until` or the end. */
  truncated: boolean;
}

/**
 * Reads the acks of `config` in stored order, up to `options.until`.
 *
 * @example
 * ```ts
 * const log = await readAckLog(nats, "web", { until: Date.parse("2026-01-01T12:00:00Z") });
 * ```
 */
export async function readAckLog(
  nats: AtlasNats,
  config: string,
  options: ReadAckLogOptions = {},
): Promise<AckLog> {
  const filter = `atlas.ack.${options.region ?? "*"}.${options.agent ?? "*"}.${config}`;
  const until = options.until ?? Infinity;
  const max = options.max ?? 1_000_000;
  const out: AckLog = { acks: [], malformed: 0, truncated: false };
  /** Takes one message; false once the read is over. */
  const take = (m: { seq: number; subject: string; time: Date; json<T>(): T }): boolean => {
    if (m.time.getTime() > until) return false;
    if (out.acks.length + out.malformed >= max) {
      out.truncated = true;
      return false;
    }
    const stored = storedAck(m);
    if (stored) out.acks.push(stored);
    else out.malformed++;
    return true;
  };
  const info = await nats.jsm.streams.info(Streams.acks, { subjects_filter: filter });
  if (Object.keys(info.state.subjects ?? {}).length === 0) return out;
  let next = 1;
  const consumer = await nats.js.consumers.get(Streams.acks, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.All,
  });
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
    let got = 0;
    // Leaving the loop stops the batch (no wait for its expiry).
    for await (const m of batch) {
      got++;
      if (!take(m) || m.info.pending === 0) return out;
      next = m.seq + 1;
    }
    if (got === 0) break; // stalled: direct gets from here
  }
  for (;;) {
    const m = await nats.jsm.direct.getMessage(Streams.acks, { seq: next, next_by_subj: filter });
    if (!m || !take(m)) return out;
    next = m.seq + 1;
  }
}
