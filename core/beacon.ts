/**
 * The region beacon: what the coordinator leader publishes every 30 s (by default) on
 * `atlas.notify.<region>._beacon` (`Subjects.beacon`), the newest pointer seq of each
 * config of the region. An agent that has seen that seq for every config it manages does
 * nothing; one that is behind (a notice lost) reads its pointers. This replaces a read
 * per agent every 30 s with one small message per agent per beacon period.
 *
 * Invariant: a beacon can only make an agent read its stored pointers (a reconcile), never
 * apply anything by itself: what is applied still comes from a signed pointer read from
 * the region's bucket. So a lost, late or forged beacon costs at most a read, and its
 * reconnect window at most a clamped delay of the agent's next reconnect.
 *
 * @module
 */
import { z } from "zod";
import { ConfigName, SimpleName, Timestamp } from "./schemas.ts";

/** The beacon message. Unknown keys are ignored (a newer coordinator may say more). */
export const RegionBeacon = z.object({
  region: SimpleName,
  /** When the coordinator sent it. */
  at: Timestamp,
  /** Seconds until the next beacon (agents may treat a longer silence as none). */
  everySeconds: z.number().positive(),
  /** The newest stored pointer seq of each config of the region. */
  configs: z.record(ConfigName, z.number().int().positive()),
  /**
   * The window (ms) the region's agents should spread their reconnects over
   * (core/reconnect.ts): absent from older coordinators; agents clamp it.
   */
  reconnectSpreadMs: z.number().int().nonnegative().optional(),
});
export type RegionBeacon = z.infer<typeof RegionBeacon>;

/**
 * The configs among `managed` whose pointer in `beacon` is newer than what the agent has
 * seen (`seenSeq`, its highest verified pointer seq of that config; 0 for none). A config
 * the beacon does not name has no pointer yet: nothing to catch up.
 *
 * @example
 * ```ts
 * const beacon = { region: "eu", at: new Date().toISOString(), everySeconds: 10,
 *   configs: { web: 7, db: 3 } };
 * configsBehind(beacon, ["web"], () => 6); // ["web"]
 * configsBehind(beacon, ["web"], () => 7); // []
 * ```
 */
export function configsBehind(
  beacon: RegionBeacon,
  managed: readonly string[],
  seenSeq: (config: string) => number,
): string[] {
  return managed.filter((c) => {
    const seq = beacon.configs[c];
    return seq !== undefined && seq > seenSeq(c);
  });
}
