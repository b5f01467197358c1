/**
 * Reconnect spreading: when a region's NATS server restarts, every agent on it reconnects,
 * authenticates and reads its pointers. Measured (bench `--storm`, 2 cores): ~1.3 ms of
 * nats-server CPU per agent for all of that, so 10 000 agents arriving within the same 2 s
 * saturated the server for 37 s (connects timed out under load and were tried again).
 *
 * The rule: the region's coordinator, which knows how many agents the region has, states
 * in each beacon the window they should spread their reconnects over, `agents / rate`
 * seconds (`rate`, 500 by default, is what one server takes at about two thirds of a core).
 * An agent waits a random delay in that window (at least its own `reconnectJitterMs`, at
 * most {@linkcode MAX_RECONNECT_SPREAD_MS}) before each reconnect attempt, so a small region
 * reconnects within a second or two and a large one never arrives in the same second.
 *
 * Invariant: a beacon can only delay an agent's reconnect, and by at most
 * {@linkcode MAX_RECONNECT_SPREAD_MS}; a forged or absurd value is clamped, never obeyed.
 *
 * @module
 */

/** Agents a region's server takes per second by default, reconnect and reconcile included. */
export const RECONNECT_RATE_PER_SECOND = 500;

/** The longest reconnect window a beacon may ask for. */
export const MAX_RECONNECT_SPREAD_MS = 60_000;

/**
 * The window (ms) a region of `agents` agents spreads its reconnects over at `ratePerSecond`.
 * Throws a `RangeError` for a rate that is not positive.
 *
 * @example
 * ```ts
 * reconnectSpreadMs(10_000); // 20_000
 * reconnectSpreadMs(40); // 80
 * ```
 */
export function reconnectSpreadMs(
  agents: number,
  ratePerSecond: number = RECONNECT_RATE_PER_SECOND,
): number {
  if (!(ratePerSecond > 0)) {
    throw new RangeError(
      `Cannot spread reconnects at ${ratePerSecond} agents/s: give a positive number`,
    );
  }
  const ms = Math.ceil(Math.max(0, agents) / ratePerSecond * 1000);
  return Math.min(ms, MAX_RECONNECT_SPREAD_MS);
}

/**
 * The delay before each reconnect attempt of one agent: 1 s, plus a random share of the
 * wider of its own jitter and the window its region's last beacon stated (clamped to
 * {@linkcode MAX_RECONNECT_SPREAD_MS}). `random` is in [0, 1).
 *
 * @example
 * ```ts
 * reconnectDelayMs({ jitterMs: 2_000, beaconSpreadMs: 20_000, random: 0.5 }); // 11_000
 * reconnectDelayMs({ jitterMs: 2_000, beaconSpreadMs: undefined, random: 0.5 }); // 2_000
 * ```
 */
export function reconnectDelayMs(
  options: { jitterMs: number; beaconSpreadMs: number | undefined; random: number },
): number {
  const beacon = Math.min(Math.max(0, options.beaconSpreadMs ?? 0), MAX_RECONNECT_SPREAD_MS);
  const window = Math.max(options.jitterMs, Number.isFinite(beacon) ? beacon : 0);
  return 1_000 + Math.floor(options.random * window);
}

/**
 * The splay of the reconcile an agent runs right after it reconnected: reconnects spread
 * over `spreadMs` are already apart, so only what the splay adds beyond that window is
 * still waited (0 once the spread covers it).
 *
 * @example
 * ```ts
 * reconcileSplayAfterReconnectMs(10_000, 20_000); // 0
 * reconcileSplayAfterReconnectMs(10_000, 2_000); // 8_000
 * ```
 */
export function reconcileSplayAfterReconnectMs(splayMs: number, spreadMs: number): number {
  return Math.max(0, splayMs - Math.max(0, spreadMs));
}
