/**
 * `@atlas/nats`: the contract between every part of Atlas. Bucket, stream and subject
 * names; zod schemas of every record; signatures; idempotent provisioning; pointer
 * reads and compare-and-set writes; the audit log; reads from a region's copy of the
 * blobs; connection helpers; and the `nats-server` launcher used by dev mode and tests.
 *
 * @example
 * ```ts
 * import { connectAtlas, provision, provisionRegion } from "@atlas/nats";
 * await using nats = await connectAtlas("nats://127.0.0.1:4222");
 * await provision(nats);
 * await provisionRegion(nats, "us-east");
 * ```
 *
 * @module
 */
export * from "./bytes.ts";
export * from "./names.ts";
export * from "./schemas.ts";
export * from "./crypto.ts";
export * from "./connect.ts";
export * from "./retry.ts";
export * from "./provision.ts";
export * from "./keys.ts";
export * from "./pointers.ts";
export * from "./process.ts";
export * from "./rollouts.ts";
export * from "./rollout_update.ts";
export * from "./leases.ts";
export * from "./alerts.ts";
export * from "./keys_trust.ts";
export * from "./stream_publish.ts";
export * from "./audit.ts";
export * from "./blobs.ts";
export * from "./blob_mirror.ts";
export * from "./atomic.ts";
export * from "./verify.ts";
export * from "./follow.ts";
export * from "./server.ts";
