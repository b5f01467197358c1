/**
 * Reading the audit log newest first.
 *
 * The audit stream is read with direct gets (`{seq, next_by_subj}`), which need no
 * consumer and exist on nats-server 2.9 (multiple filter subjects and batched direct
 * gets do not). The stream is scanned backwards in windows that grow fourfold, each
 * window read forwards with `next_by_subj`, so a request costs about one round trip per
 * event returned, however long the log is.
 *
 * @module
 */
import { AuditEvent, Streams, Subjects } from "@atlas/core";
import { eventsAppended, retryTransient } from "@atlas/store";
import { checkConfigName, type ControlContext } from "./context.ts";

/** Options of {@linkcode readAudit}. */
export interface ReadAuditOptions {
  /** Only events about this config. */
  config?: string | undefined;
  /** At most this many events. @default 100 */
  limit?: number | undefined;
}

/**
 * The newest audit events (of one config, or of all), newest first. Events that do not
 * parse are skipped.
 *
 * @example
 * ```ts
 * const events = await readAudit(ctx, { config: "web", limit: 20 });
 * ```
 */
export async function readAudit(
  ctx: ControlContext,
  options: ReadAuditOptions = {},
): Promise<AuditEvent[]> {
  return (await readAuditPage(ctx, options)).events;
}

/** One page of the audit log: its events, and where the next (older) page starts. */
export interface AuditPage {
  /** Newest first. */
  events: AuditEvent[];
  /** Stream sequence of the oldest event returned (0 when none). */
  oldestSeq: number;
  /** Whether older events of the subject may exist before `oldestSeq`. */
  more: boolean;
}

/**
 * Like {@linkcode readAudit}, with paging: the newest `limit` events whose stream
 * sequence is below `beforeSeq` (the `oldestSeq` of the page before).
 *
 * @example
 * ```ts
 * const first = await readAuditPage(ctx, { limit: 50 });
 * const second = await readAuditPage(ctx, { limit: 50, beforeSeq: first.oldestSeq });
 * ```
 */
export async function readAuditPage(
  ctx: ControlContext,
  options: ReadAuditOptions & { beforeSeq?: number | undefined } = {},
): Promise<AuditPage> {
  const limit = options.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`Cannot read the audit log as 'limit' must be positive: it is ${limit}`);
  }
  const subject = options.config === undefined
    ? Subjects.allAudit
    : Subjects.audit(checkConfigName(options.config));
  // Events of this process's changes appended in the background (store/journal.ts) first:
  // a client reads the events of what it just changed.
  await eventsAppended(ctx.nats);
  const { state } = await retryTransient(() => ctx.nats.jsm.streams.info(Streams.audit), {
    what: "Reading the audit stream state",
  });
  const newestFirst: { seq: number; event: AuditEvent }[] = [];
  let to = Math.min(state.last_seq, (options.beforeSeq ?? Infinity) - 1);
  let window = limit;
  while (state.messages > 0 && to >= state.first_seq && newestFirst.length < limit) {
    const from = Math.max(state.first_seq, to - window + 1);
    const chunk = await _readRange(ctx, subject, from, to, limit - newestFirst.length);
    newestFirst.push(...chunk.reverse());
    to = from - 1;
    window *= 4;
  }
  const oldestSeq = newestFirst.at(-1)?.seq ?? 0;
  return {
    events: newestFirst.map((e) => e.event),
    oldestSeq,
    more: newestFirst.length === limit && oldestSeq > state.first_seq,
  };
}

/** The last `keep` events on `subject` with sequence in [from, to], oldest first. */
async function _readRange(
  ctx: ControlContext,
  subject: string,
  from: number,
  to: number,
  keep: number,
): Promise<{ seq: number; event: AuditEvent }[]> {
  const out: { seq: number; event: AuditEvent }[] = [];
  for (let seq = from; seq <= to;) {
    const next = seq;
    const msg = await retryTransient(
      () => ctx.nats.jsm.direct.getMessage(Streams.audit, { seq: next, next_by_subj: subject }),
      { what: "Reading the audit log" },
    );
    if (!msg || msg.seq > to) break;
    const parsed = AuditEvent.safeParse(msg.json());
    if (parsed.success) {
      out.push({ seq: msg.seq, event: parsed.data });
      if (out.length > keep) out.shift();
    }
    seq = msg.seq + 1;
  }
  return out;
}
