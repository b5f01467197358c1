/**
 * Changes and their audit events, inseparable: the event is written down first, as an
 * intent (stream `atlas_intents`, subject `atlas.intent.<id>`), then the change is made,
 * then the event is appended to the audit stream under the intent's id (its
 * `Nats-Msg-Id`), then the intent is deleted by its sequence (a stream, not a KV bucket:
 * a deleted message leaves no marker behind, so the stream holds only open intents).
 *
 * Invariant: at every instant, each change either has its audit event in the stream or an
 * intent naming it. The intent is deleted only after its event is stored, so a change may
 * return before its event is appended (`eventInBackground`, the control plane's publish and
 * pointer moves: one round trip less on their path): until then its intent names it.
 *
 * Read-your-writes: an event appended in the background is in the stream once
 * {@linkcode eventsAppended} (or `nats.settled()`) resolves on the connection that made the
 * change; the control plane's audit reads wait for it, so an API client that changed
 * something reads its event right after. Another process may read the stream before the
 * event lands (a few hundred microseconds on one server); if the writer dies in between,
 * the event arrives by recovery, marked `recovered`. A crash anywhere leaves at most an intent, which
 * {@linkcode recoverIntents} (run at start-up, before serving) resolves: the change
 * happened (its resolver finds it) → the event is appended marked `recovered`; it never
 * happened → an `audit.abandoned` event with id `<id>-abandoned` (not the intent's own: were
 * its writer alive after all, its event still gets in). So every change gets exactly one
 * event, and every intent one outcome:
 * - within the audit stream's duplicate window (10 minutes) the stream drops a second
 *   append of the same id (a retry, a recovery racing the original writer);
 * - past the window, recovery first looks for the id in the stream itself (reading back
 *   from the newest event to the intent's time), so it never appends twice.
 *
 * @module
 */
import { AuditEvent, AuditIntent, Streams, Subjects } from "@atlas/core";
import type { AtlasNats } from "./connect.ts";
import { appendAudit, appendAuditOnce, type AuditInput, currentActorId } from "./audit.ts";
import { isTransient, retryTransient } from "./retry.ts";

/** What an intent's change turned out to be at recovery. */
export type IntentOutcome =
  /** It happened: the event to append (from the intent's, completed with what was found). */
  | { happened: true; event: AuditInput }
  /** It did not happen (and now cannot): an `audit.abandoned` event records the attempt. */
  | { happened: false; reason: string };

/**
 * Decides at recovery whether the change an intent announced happened. Runs after the
 * writer died, so it must look at the stored state only.
 */
export type IntentResolver = (intent: AuditIntent) => Promise<IntentOutcome>;

/** Options of {@linkcode audited}. */
export interface AuditedOptions<T> {
  /**
   * The event to append, from the change's result and the planned event (default: the
   * planned event). Null: the change turned out to change nothing, so no event and no
   * intent are left.
   */
  record?: (result: T, planned: AuditInput) => AuditInput | null;
  /** The intent's (and the event's) id. @default a random UUID */
  id?: string;
  /**
   * Return once the change is made, appending its event (then deleting the intent) in the
   * background: {@linkcode eventsAppended} waits for it. A failed append leaves the intent,
   * which recovery resolves to the event. @default false
   */
  eventInBackground?: boolean;
}

/** Event appends not waited for, per connection (see {@linkcode eventsAppended}). */
const _pending = new WeakMap<AtlasNats, Set<Promise<void>>>();

/**
 * Resolves once every event appended in the background on `nats` before this call is in
 * the stream (or has failed, leaving its intent for recovery). For a read of the audit
 * log that must see the changes this process made.
 *
 * @example
 * ```ts
 * await eventsAppended(nats);
 * const events = await readAudit(ctx, { config: "web" });
 * ```
 */
export async function eventsAppended(nats: AtlasNats): Promise<void> {
  const pending = _pending.get(nats);
  if (pending?.size) await Promise.all([...pending]);
}

/** How long the audit stream drops a second append of the same id (store/provision.ts). */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** Appends this close to the window's end read the stream instead of trusting the window. */
const WINDOW_MARGIN_MS = 60_000;
/** Clock difference tolerated between the intent's writer and the event's. */
const SKEW_MS = 60_000;

/**
 * Makes `change` and its audit event inseparable: writes `planned` as an intent, runs
 * `change(id)`, appends the event (id = the intent's) and deletes the intent (in the
 * background: `nats.settled()` waits for it).
 *
 * `change` must either change nothing when it throws a non-transient error (a refusal,
 * a lost compare-and-set), or leave its effect findable by the action's resolver: a
 * transient error (a timeout, a leader election) keeps the intent for recovery, since the
 * change may have happened.
 *
 * @example
 * ```ts
 * const key = await audited(nats, { actor: "alice", action: "key.rotate", details: { keyId } },
 *   () => storeKey(nats, keyId));
 * ```
 */
export async function audited<T>(
  nats: AtlasNats,
  planned: AuditInput,
  change: (id: string) => Promise<T>,
  options: AuditedOptions<T> = {},
): Promise<T> {
  const id = options.id ?? crypto.randomUUID();
  const intent = AuditIntent.parse({
    id,
    at: new Date().toISOString(),
    // The token acting now, so a recovered event names it too (recovery runs outside the
    // request).
    event: { details: {}, ...currentActorId(), ...planned },
  });
  const { seq } = await retryTransient(
    () => nats.publisher.publish(Subjects.intent(id), JSON.stringify(intent), { msgID: id }),
    { what: `Writing audit intent ${id}` },
  );
  let result: T;
  try {
    result = await change(id);
  } catch (e) {
    // A refusal changed nothing; a transient error may have: recovery decides that one.
    if (!isTransient(e)) await _forget(nats, seq);
    throw e;
  }
  const event = options.record ? options.record(result, planned) : planned;
  if (event !== null && options.eventInBackground) {
    // The intent names the change until the event is stored: it is deleted only after.
    const appended = appendAudit(nats, { ...event, id }).then(() => {
      nats.background(_forgetLater(nats, seq));
    });
    const done: Promise<void> = appended.then(() => {}, () => {}).finally(() =>
      _pending.get(nats)?.delete(done)
    );
    if (!_pending.has(nats)) _pending.set(nats, new Set());
    _pending.get(nats)!.add(done);
    nats.background(appended);
    return result;
  }
  if (event !== null) await appendAudit(nats, { ...event, id });
  // Not waited for: the change has its event, and an intent left behind is resolved to
  // that event by recovery (its id is the event's). One round trip less per change.
  nats.background(_forget(nats, seq));
  return result;
}

/**
 * How long an intent whose event was appended in the background stays before it is
 * deleted: the delete (a write to the intents stream) then lands after the request, not on
 * the way of the next one, whose own intent goes to the same stream. An intent left longer
 * only means recovery finds its event.
 */
const FORGET_DELAY_MS = 20;

async function _forgetLater(nats: AtlasNats, seq: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, FORGET_DELAY_MS));
  await _forget(nats, seq);
}

async function _forget(nats: AtlasNats, seq: number): Promise<void> {
  // A delete that fails leaves the intent for recovery, which finds its event: harmless.
  await retryTransient(() => nats.jsm.streams.deleteMessage(Streams.intents, seq, false), {
    what: `Deleting audit intent ${seq}`,
  }).catch(() => {});
}

/** Every open intent with its stream sequence, oldest first. */
async function _openIntents(nats: AtlasNats): Promise<{ seq: number; intent: AuditIntent }[]> {
  const out: { seq: number; intent: AuditIntent }[] = [];
  const { state } = await retryTransient(() => nats.jsm.streams.info(Streams.intents), {
    what: "Reading the intents stream state",
  });
  let next = state.first_seq;
  while (state.messages > 0 && next <= state.last_seq) {
    const msg = await retryTransient(
      () =>
        nats.jsm.direct.getMessage(Streams.intents, {
          seq: next,
          next_by_subj: Subjects.allIntents,
        }),
      { what: `Reading audit intents from ${next}` },
    );
    if (!msg || msg.seq > state.last_seq) break;
    const parsed = AuditIntent.safeParse(_json(msg.data));
    // One that does not parse cannot be resolved: it stays, for an operator to read.
    if (parsed.success) out.push({ seq: msg.seq, intent: parsed.data });
    next = msg.seq + 1;
  }
  return out;
}

function _json(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return null;
  }
}

/** What {@linkcode recoverIntents} did. */
export interface RecoveryReport {
  /** Intents whose change happened: their event was appended, marked `recovered`. */
  recovered: AuditEvent[];
  /** Intents whose change never happened: an `audit.abandoned` event each. */
  abandoned: AuditEvent[];
  /** Intents whose event was in the stream already (the writer died before the delete). */
  recorded: number;
  /** Intents younger than `minAgeMs`, left to their writer. */
  skipped: number;
}

/** Options of {@linkcode recoverIntents}. */
export interface RecoverOptions {
  /** Only intents at least this old (a live writer may still finish younger ones). @default 0 */
  minAgeMs?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

/**
 * Resolves every intent left behind (see the module doc): for each, the resolver of its
 * action decides whether the change happened. An action without a resolver is recorded
 * as happened, with `details.unverified: true` (whether it took effect was not checked).
 *
 * @example
 * ```ts
 * const report = await recoverIntents(nats, { "version.publish": resolvePublish });
 * ```
 */
export async function recoverIntents(
  nats: AtlasNats,
  resolvers: Readonly<Record<string, IntentResolver>>,
  options: RecoverOptions = {},
): Promise<RecoveryReport> {
  const now = options.now ?? Date.now;
  const report: RecoveryReport = { recovered: [], abandoned: [], recorded: 0, skipped: 0 };
  const intents = await _openIntents(nats);
  for (const { seq, intent } of intents) {
    const age = now() - Date.parse(intent.at);
    if (age < (options.minAgeMs ?? 0)) {
      report.skipped++;
      continue;
    }
    if (
      age > DUPLICATE_WINDOW_MS - WINDOW_MARGIN_MS &&
      await findAuditEvent(nats, (e) => e.id === intent.id || e.id === _abandonedId(intent.id), {
        config: intent.event.config,
        since: intent.at,
      })
    ) {
      report.recorded++;
    } else {
      const resolver = resolvers[intent.event.action];
      const outcome: IntentOutcome = resolver ? await resolver(intent) : {
        happened: true,
        event: { ...intent.event, details: { ...intent.event.details, unverified: true } },
      };
      const event: AuditInput = outcome.happened ? outcome.event : {
        actor: intent.event.actor,
        action: "audit.abandoned",
        ...(intent.event.config !== undefined ? { config: intent.event.config } : {}),
        ...(intent.event.region !== undefined ? { region: intent.event.region } : {}),
        details: {
          action: intent.event.action,
          reason: outcome.reason,
          intentId: intent.id,
          planned: intent.event,
        },
      };
      const appended = await appendAuditOnce(nats, {
        ...event,
        ...(outcome.happened
          ? { id: intent.id, recovered: true }
          : { id: _abandonedId(intent.id) }),
      });
      if (appended.duplicate) report.recorded++;
      else (outcome.happened ? report.recovered : report.abandoned).push(appended.event);
    }
    await _forget(nats, seq);
  }
  return report;
}

function _abandonedId(id: string): string {
  return `${id}-abandoned`;
}

/** Options of {@linkcode findAuditEvent}. */
export interface FindAuditOptions {
  /** The config the event is about (its subject); none: `_system`. */
  config?: string | undefined;
  /** Look no further back than this time (less a minute for clock differences). */
  since: string;
}

/**
 * The newest audit event on the subject of `options.config` that `match` accepts, reading
 * back from the newest event to `options.since`; null when there is none. For a resolver
 * that must tell its change from one another intent already recorded.
 *
 * @example
 * ```ts
 * const e = await findAuditEvent(nats, (e) => e.details.rolloutId === id, {
 *   config: "web",
 *   since: intent.at,
 * });
 * ```
 */
export async function findAuditEvent(
  nats: AtlasNats,
  match: (event: AuditEvent) => boolean,
  options: FindAuditOptions,
): Promise<AuditEvent | null> {
  const subject = Subjects.audit(options.config);
  const since = Date.parse(options.since) - SKEW_MS;
  const { state } = await retryTransient(() => nats.jsm.streams.info(Streams.audit), {
    what: "Reading the audit stream state",
  });
  for (let seq = state.last_seq; seq >= state.first_seq && state.messages > 0; seq--) {
    const msg = await retryTransient(
      () => nats.jsm.direct.getMessage(Streams.audit, { seq }),
      { what: `Reading audit event ${seq}` },
    ).catch(() => null);
    if (!msg) continue;
    const parsed = AuditEvent.safeParse(_json(msg.data));
    if (!parsed.success) continue;
    if (msg.subject === subject && match(parsed.data)) return parsed.data;
    if (Date.parse(parsed.data.at) < since) return null;
  }
  return null;
}
