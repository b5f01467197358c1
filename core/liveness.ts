/**
 * Whether an agent is alive: the one rule every judge uses (the coordinator's stages,
 * scans and metrics, the control plane's agent list and config status).
 *
 * An agent shows it is alive two ways: its record in the agents bucket (written on change,
 * and as a long keep-alive every `heartbeatSeconds`, 600 s by default), and its alive pings
 * (core NATS on `atlas.alive.<region>.<agent>` every `aliveSeconds`, nothing stored), which
 * only the region's coordinators hear. The control plane learns what they heard from the
 * leader's {@linkcode LivenessRecord}.
 *
 * Invariants: a goodbye (`leftAt`) is gone at once. An agent that pings is gone once neither
 * its record nor a ping was seen for {@linkcode MISSED_HEARTBEATS} × `aliveSeconds` + 5 s
 * (or × `heartbeatSeconds`, when its record is written more often than it pings),
 * but only when the listener has heard pings for that long (a coordinator that just started
 * or reconnected has heard none yet): until then, and for agents that do not ping (older
 * versions), only the record's age counts, against three of its own keep-alives + 5 s.
 *
 * @module
 */
import { z } from "zod";
import { type AgentRecord, SimpleName, Timestamp } from "./schemas.ts";

/** Keep-alives (records or pings) an agent may miss before it counts as gone. */
export const MISSED_HEARTBEATS = 3;

/** Slack on top of the missed keep-alives: a slow write, a late ping. */
const SLACK_MS = 5_000;

/** What a listener of a region's alive pings heard of one agent. */
export interface AliveSignal {
  /** Wall-clock ms of the newest ping heard from the agent (undefined: none yet). */
  lastSeenMs: number | undefined;
  /**
   * Wall-clock ms since when the listener has heard pings without a break (its start, or
   * its last reconnect): silence counts only once this is a full window old.
   */
  listeningSinceMs: number;
}

/**
 * Milliseconds of silence after which an agent that pings every `aliveSeconds` is gone:
 * three missed pings plus 5 s.
 *
 * @example
 * ```ts
 * aliveWindowMs(30); // 95_000
 * ```
 */
export function aliveWindowMs(aliveSeconds: number): number {
  return aliveSeconds * 1000 * MISSED_HEARTBEATS + SLACK_MS;
}

/** Milliseconds a record may age before its agent is gone by the record alone. */
export function recordWindowMs(agent: AgentRecord): number {
  return agent.heartbeatSeconds * 1000 * MISSED_HEARTBEATS + SLACK_MS;
}

/**
 * Wall-clock ms of the last sign of life of `agent`: its goodbye, or the newer of its
 * record and its last ping heard.
 */
export function lastSignMs(agent: AgentRecord, alive?: AliveSignal): number {
  if (agent.leftAt !== undefined) return Date.parse(agent.leftAt);
  return Math.max(_heartbeatMs(agent), alive?.lastSeenMs ?? -Infinity);
}

/**
 * True when `agent` is gone: it said goodbye, or fell silent (see the module doc). Gone
 * agents are not counted by shares, gates or status. Without `alive` (nobody heard pings,
 * or the agent does not send them) the record's age alone decides.
 *
 * @example
 * ```ts
 * agentIsStale(record, Date.now()); // by the record's age
 * agentIsStale(record, Date.now(), { lastSeenMs, listeningSinceMs }); // pings too
 * ```
 */
export function agentIsStale(agent: AgentRecord, now: number, alive?: AliveSignal): boolean {
  if (agent.leftAt !== undefined) return true;
  const recordGone = now - _heartbeatMs(agent) > recordWindowMs(agent);
  if (agent.aliveSeconds === undefined || alive === undefined) return recordGone;
  // The agent promised a sign (ping or record) at least this often: an agent that writes
  // its record more often than it pings (tests, `heartbeatSeconds: 1`) is held to that.
  const windowMs = aliveWindowMs(Math.min(agent.aliveSeconds, agent.heartbeatSeconds));
  if (now - lastSignMs(agent, alive) <= windowMs) return false;
  // Silent for a window: believe it only when the listener heard pings for that long.
  if (now - alive.listeningSinceMs < windowMs) return recordGone;
  return true;
}

/**
 * Wall-clock ms before which `agent`, not gone at `now` ({@linkcode agentIsStale}), stays
 * so without a new sign of life (a ping or a record) and with the same listener: a judge
 * may keep its answer until then. A later ping only moves it later. Conservative: at this
 * time the agent may still be alive, never already gone before it.
 *
 * @example
 * ```ts
 * if (!agentIsStale(agent, now, alive)) recheckAt = staleFrom(agent, now, alive);
 * ```
 */
export function staleFrom(agent: AgentRecord, now: number, alive?: AliveSignal): number {
  // Gone by the record alone once now - heartbeat > window.
  const recordGoneAt = _heartbeatMs(agent) + recordWindowMs(agent);
  if (agent.aliveSeconds === undefined || alive === undefined) return recordGoneAt;
  const windowMs = aliveWindowMs(Math.min(agent.aliveSeconds, agent.heartbeatSeconds));
  // Alive while now - last sign <= window, whatever the listener heard.
  const signedUntil = lastSignMs(agent, alive) + windowMs;
  if (now <= signedUntil) return signedUntil;
  // Silent for a window, alive only because the listener is new: gone by the record's
  // age, or once the listener has heard a full window.
  return Math.min(recordGoneAt, alive.listeningSinceMs + windowMs);
}

/**
 * `Date.parse(agent.heartbeatAt)`, kept per record: a coordinator asks for every member
 * of its region several times a step (10 000 parses were ~10 ms each time).
 */
function _heartbeatMs(agent: AgentRecord): number {
  const known = _parsedHeartbeats.get(agent);
  if (known?.at === agent.heartbeatAt) return known.ms;
  const ms = Date.parse(agent.heartbeatAt);
  _parsedHeartbeats.set(agent, { at: agent.heartbeatAt, ms });
  return ms;
}
const _parsedHeartbeats = new WeakMap<AgentRecord, { at: string; ms: number }>();

/** The most seconds between a region leader's liveness summaries when nothing changes. */
export const SUMMARY_KEEPALIVE_SECONDS = 30;

/**
 * The fewest seconds between them, whatever a record asks: an agent's record is its own
 * host's word, and a compromised host asking a ping every millisecond would otherwise have
 * the leader rewrite the summary every step. Safe for any pace: a reader judges an agent
 * gone after three missed pings plus 5 s, and a summary this often is never that old.
 */
export const SUMMARY_KEEPALIVE_MIN_SECONDS = 1;

/**
 * Seconds between the leader's liveness summaries when nothing changes: a summary says
 * every agent it does not list was alive at its `at` ({@linkcode aliveFromSummary}), so it
 * is rewritten at least as often as the most frequent signer promises a sign (its ping or
 * record period), else a reader would judge that agent gone from the summary's age alone.
 *
 * @example
 * ```ts
 * summaryKeepAliveSeconds([{ aliveSeconds: 5, heartbeatSeconds: 600 }]); // 5
 * ```
 */
export function summaryKeepAliveSeconds(
  agents: Iterable<Pick<AgentRecord, "aliveSeconds" | "heartbeatSeconds" | "leftAt">>,
): number {
  let seconds = SUMMARY_KEEPALIVE_SECONDS;
  for (const a of agents) seconds = Math.min(seconds, recordKeepAliveSeconds(a));
  return seconds;
}

/**
 * The pace one record asks of the summary ({@linkcode summaryKeepAliveSeconds} is the
 * smallest, at most its default): its ping or record period, whichever is shorter, but no
 * less than {@linkcode SUMMARY_KEEPALIVE_MIN_SECONDS}; none (Infinity) for an agent that
 * does not ping or has left.
 */
export function recordKeepAliveSeconds(
  a: Pick<AgentRecord, "aliveSeconds" | "heartbeatSeconds" | "leftAt">,
): number {
  if (a.aliveSeconds === undefined || a.leftAt !== undefined) return Infinity;
  return Math.max(SUMMARY_KEEPALIVE_MIN_SECONDS, Math.min(a.aliveSeconds, a.heartbeatSeconds));
}

/**
 * The region leader's liveness summary, in the liveness bucket under `<region>`: what the
 * control plane, which hears no pings, judges by. Written when the set of silent agents
 * changes, and as a keep-alive every `keepAliveSeconds`; trusted while it is no older than
 * {@linkcode MISSED_HEARTBEATS} keep-alives + 5 s ({@linkcode aliveFromSummary}).
 */
export const LivenessRecord = z.object({
  region: SimpleName,
  /** When the leader wrote it. */
  at: Timestamp,
  /** Since when the leader has heard the region's pings without a break. */
  listeningSince: Timestamp,
  /** Seconds between the leader's writes when nothing changes. */
  keepAliveSeconds: z.number().positive(),
  /**
   * Agents the leader judges gone without a goodbye, each with its last sign of life
   * (record or ping). Agents that said goodbye are not listed: their record says so.
   */
  gone: z.record(SimpleName, Timestamp),
});
export type LivenessRecord = z.infer<typeof LivenessRecord>;

/**
 * The {@linkcode AliveSignal} of `agent` as the leader's summary states it, for judges that
 * hear no pings: undefined when the summary is missing or stale (then the record's age
 * decides). An agent the summary does not list was alive when it was written.
 *
 * @example
 * ```ts
 * agentIsStale(agent, now, aliveFromSummary(summary, agent.id, now));
 * ```
 */
export function aliveFromSummary(
  summary: LivenessRecord | undefined,
  agent: string,
  now: number,
): AliveSignal | undefined {
  if (!summary) return undefined;
  const at = Date.parse(summary.at);
  if (now - at > summary.keepAliveSeconds * 1000 * MISSED_HEARTBEATS + SLACK_MS) return undefined;
  const gone = summary.gone[agent];
  return {
    lastSeenMs: gone === undefined ? at : Date.parse(gone),
    listeningSinceMs: Date.parse(summary.listeningSince),
  };
}
