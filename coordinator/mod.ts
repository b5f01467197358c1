/**
 * `@atlas/coordinator`: the regional coordinator. Its replicas elect a leader through a
 * KV lease ({@linkcode Lease}); the leader's {@linkcode RegionCoordinator} moves the
 * region's pointer through the stages of every running rollout, judges the gates, and
 * rolls the region back on a breach.
 *
 * @example
 * ```ts
 * import { Lease } from "@atlas/coordinator";
 * const lease = new Lease(await nats.kv("atlas_leases"), "us-east", "coord-a");
 * await lease.tick();
 * ```
 *
 * @module
 */
export { Beacon, BEACON_EVERY_SECONDS, type BeaconOptions } from "./beacon.ts";
export { type CoordinatorOptions, RegionCoordinator, type WallClock } from "./engine.ts";
export { type FollowStats } from "./follow.ts";
export { threadCpuMicros } from "./thread_cpu.ts";
export { type Clock, Lease, type LeaseOptions, type LeaseRecord, systemClock } from "./lease.ts";
export {
  type MetricSource,
  PrometheusSource,
  type PrometheusSourceOptions,
} from "./prometheus_source.ts";
