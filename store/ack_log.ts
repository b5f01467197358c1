/**
 * Reading the acks stream as a ledger: every ack of a config, in stored order, with the
 * store time the server gave it (evidence, core/evidence.ts).
 *
 * Direct gets walk the stream (`next_by_subj` with a subject filter), one message per
 * request: no consumer, so nothing can hang while agents keep acking (see keys.ts for
 * the hang measured with consumers on nats-server 2.9.10). The stream keeps acks 30 days
 * (or 1 GiB): evidence reaches back that far.
 *
 * @module
 */
import { Streams } from "@atlas/core";
import type { AtlasNats } from "./connect.ts";
import { type StoredAck, storedAck } from "./enrolments.ts";

/** Options of {@linkcode readAckLog}. */
export interface ReadAckLogOptions {
  /** Only acks of this region. @default every region */
  region?: string;
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
  const filter = `atlas.ack.${options.region ?? "*"}.${config}.*`;
  const until = options.until ?? Infinity;
  const max = options.max ?? 1_000_000;
  const out: AckLog = { acks: [], malformed: 0, truncated: false };
  for (let seq = 1;;) {
    const m = await nats.jsm.direct.getMessage(Streams.acks, { seq, next_by_subj: filter });
    if (!m || m.time.getTime() > until) return out;
    if (out.acks.length + out.malformed >= max) {
      out.truncated = true;
      return out;
    }
    const stored = storedAck(m);
    if (stored) out.acks.push(stored);
    else out.malformed++;
    seq = m.seq + 1;
  }
}
