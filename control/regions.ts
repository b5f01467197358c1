/**
 * Regions known to the control plane: listing, adding, and resolving the regions an
 * operation targets.
 *
 * @module
 */
import { appendAudit, Buckets, provisionRegion, RegionRecord, retryTransient } from "@atlas/nats";
import { checkRegionName, type ControlContext } from "./context.ts";
import { ConflictError, NotFoundError } from "./errors.ts";

/**
 * Every provisioned region, sorted by name (from the in-memory copy, bucket_cache.ts).
 * `GET /v1/regions`, status and immediate moves list regions in this order; rollouts take
 * theirs from {@linkcode rolloutRegions}.
 */
export function regionList(ctx: ControlContext): Promise<RegionRecord[]> {
  return retryTransient(() => ctx.regions.list(), { what: "Listing regions" });
}

/**
 * Provisions a region (its pointer bucket, blob copy and record) if it is new, placed in
 * `options.cluster` when given; returns the stored record and whether it was created.
 * An existing region is left as it is.
 *
 * @example
 * ```ts
 * const { created } = await addRegion(ctx, "ap-south", "alice", { cluster: "ap-south" });
 * ```
 */
export async function addRegion(
  ctx: ControlContext,
  name: string,
  actor: string,
  options: { cluster?: string | undefined; replicas?: number | undefined } = {},
): Promise<{ region: RegionRecord; created: boolean }> {
  checkRegionName(name);
  const regions = await ctx.nats.kv(Buckets.regions);
  const existed = (await regions.get(name))?.operation === "PUT";
  const fresh = await provisionRegion(ctx.nats, name, {
    replicas: options.replicas ?? ctx.replicas,
    ...(options.cluster ? { cluster: options.cluster } : {}),
  });
  const entry = await regions.get(name);
  const stored = entry?.operation === "PUT" ? RegionRecord.parse(entry.json()) : fresh;
  if (entry?.operation === "PUT") {
    ctx.regions.note(name, { value: stored, revision: entry.revision });
  }
  if (!existed) {
    await appendAudit(ctx.nats, {
      actor,
      action: "region.put",
      region: name,
      ...(options.cluster ? { details: { cluster: options.cluster } } : {}),
    });
  }
  return { region: stored, created: !existed };
}

/**
 * The regions an operation targets: `requested` (each must be provisioned, else
 * {@linkcode NotFoundError}), or every provisioned region.
 */
export async function targetRegions(
  ctx: ControlContext,
  requested: readonly string[] | undefined,
): Promise<string[]> {
  const known = (await regionList(ctx)).map((r) => r.name);
  if (known.length === 0) {
    throw new ConflictError(
      "No region is provisioned yet: add one with PUT /v1/regions/<name> " +
        "(`deno task atlas regions add us-east`)",
    );
  }
  if (!requested) return known;
  for (const region of requested) {
    checkRegionName(region);
    if (!known.includes(region)) {
      throw new NotFoundError(
        `Region ${JSON.stringify(region)} is not provisioned (known: ${
          known.join(", ") || "none"
        }): add it with PUT /v1/regions/${region} (\`deno task atlas regions add ${region}\`)`,
      );
    }
  }
  return [...new Set(requested)];
}

/**
 * The regions of a rollout, in rollout order (the first takes the canary): `requested` as
 * the operator gave them (each must be provisioned), or every provisioned region in the
 * order they were added (`createdAt`, then name), never alphabetically: the region an
 * operator set up first is the one they chose to try things in.
 *
 * @example
 * ```ts
 * await rolloutRegions(ctx, undefined); // ["us-east", "eu-west"] when us-east was added first
 * ```
 */
export async function rolloutRegions(
  ctx: ControlContext,
  requested: readonly string[] | undefined,
): Promise<string[]> {
  if (requested) return await targetRegions(ctx, requested);
  await targetRegions(ctx, undefined); // none provisioned: the same refusal
  return (await regionList(ctx))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name))
    .map((r) => r.name);
}
