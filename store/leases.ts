/**
 * Whether a region has a live coordinator: the rule the control plane (refusing to start
 * a rollout nobody would drive), `rollout watch` and tests share.
 *
 * The leader of region R holds key `R` in the leases bucket and rewrites it by
 * compare-and-set every tick (about 500 ms; `coordinator/lease.ts`). Other processes cannot
 * use the lease's own clock, so they judge it by the server timestamp of the entry's last
 * write: a lease not written for three times the default ttl has no live holder.
 *
 * @module
 */
import { z } from "zod";
import type { AtlasNats } from "./connect.ts";
import { assertSimpleName, Buckets } from "@atlas/core";
import { retryTransient } from "./retry.ts";

/** The default lease ttl of a coordinator (`--lease-ttl-ms`). */
export const LEASE_TTL_MS = 5_000;

/** A lease whose last write is older than this has no live holder (3 × the default ttl). */
export const LEASE_LIVE_MS = 3 * LEASE_TTL_MS;

/** What a lease key holds (written by `coordinator/lease.ts`; holder "" when released). */
export const LeaseRecord = z.object({
  holder: z.string(),
  term: z.number().int().nonnegative(),
});
export type LeaseRecord = z.infer<typeof LeaseRecord>;

/** Who holds a region's lease, as {@linkcode leaseHolder} reads it. */
export interface LeaseHolder {
  region: string;
  /** The replica named in the lease, or null when there is none (never taken, released). */
  holder: string | null;
  /** The lease's term (0 when there is no lease). */
  term: number;
  /** Server time of the lease's last write, or null when there is no lease entry. */
  writtenAt: Date | null;
  /** True when `holder` is set and the lease was written within {@linkcode LEASE_LIVE_MS}. */
  live: boolean;
}

/** Options of {@linkcode leaseHolder}. */
export interface LeaseHolderOptions {
  /** Wall-clock now, ms. @default Date.now() */
  now?: number;
  /** A lease older than this has no live holder. @default LEASE_LIVE_MS */
  liveMs?: number;
}

/**
 * Reads region `region`'s coordinator lease and says whether a live coordinator holds it:
 * a lease entry naming a holder, last written (server timestamp) less than
 * {@linkcode LEASE_LIVE_MS} before `now`.
 *
 * @example
 * ```ts
 * const lease = await leaseHolder(nats, "us-east");
 * if (!lease.live) console.log(`no coordinator in us-east since ${lease.writtenAt}`);
 * ```
 */
export async function leaseHolder(
  nats: AtlasNats,
  region: string,
  options: LeaseHolderOptions = {},
): Promise<LeaseHolder> {
  assertSimpleName("region", region);
  const now = options.now ?? Date.now();
  const kv = await nats.kv(Buckets.leases);
  const entry = await retryTransient(() => kv.get(region), { what: `Reading lease ${region}` });
  if (!entry) return { region, holder: null, term: 0, writtenAt: null, live: false };
  const writtenAt = entry.created;
  const parsed = entry.operation === "PUT" ? LeaseRecord.safeParse(entry.json()) : undefined;
  const record = parsed?.success ? parsed.data : undefined;
  const holder = record?.holder ? record.holder : null;
  const fresh = now - writtenAt.getTime() <= (options.liveMs ?? LEASE_LIVE_MS);
  return { region, holder, term: record?.term ?? 0, writtenAt, live: holder !== null && fresh };
}
