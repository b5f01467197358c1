/**
 * `@atlas/coordinator`: the regional coordinator. So far: leader election of its
 * replicas ({@linkcode Lease}). The staged-rollout engine that moves the region's pointer
 * through the stages of a rollout builds on it.
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
export { type Clock, Lease, type LeaseOptions, type LeaseRecord, systemClock } from "./lease.ts";
