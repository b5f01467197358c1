/**
 * Regions known to the control plane: listing, adding, and resolving the regions an
 * operation targets.
 *
 * @module
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { appendAudit, provisionRegion, retryTransient } from "@atlas/store";
import { Buckets, pointerBucket, RegionRecord } from "@atlas/core";
import { checkRegionName, type ControlContext } from "./context.ts";
import { ConflictError, NotFoundError, UnprocessableError } from "./errors.ts";

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
 * An existing region is left as it is: asking it for another `cluster` or `replicas` than
 * its pointer bucket has is a {@linkcode ConflictError} saying what it has (placement is
 * never changed here, and never answered as if it had been). A placement NATS refuses
 * (more replicas than the cluster has nodes, an unknown cluster) is an
 * {@linkcode UnprocessableError} with NATS's reason.
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
  if (existed) await _checkPlacement(ctx, name, options);
  let fresh: RegionRecord;
  try {
    fresh = await provisionRegion(ctx.nats, name, {
      replicas: options.replicas ?? ctx.replicas,
      ...(options.cluster ? { cluster: options.cluster } : {}),
    });
  } catch (e) {
    if (!(e instanceof JetStreamApiError)) throw e;
    throw new UnprocessableError(
      `Region ${name} cannot be placed with ${_placement(options, ctx.replicas)}: NATS says ` +
        `"${e.message}" (JetStream error ${e.code}). Ask for a cluster that exists and at ` +
        `most as many replicas as it has servers`,
      { cause: e },
    );
  }
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

function _placement(
  options: { cluster?: string | undefined; replicas?: number | undefined },
  defaultReplicas: number,
): string {
  return `cluster ${options.cluster ?? "(any)"} and ${options.replicas ?? defaultReplicas} ` +
    `replica(s)`;
}

/** An existing region's placement against the one asked for: a conflict when they differ. */
async function _checkPlacement(
  ctx: ControlContext,
  name: string,
  options: { cluster?: string | undefined; replicas?: number | undefined },
): Promise<void> {
  if (options.cluster === undefined && options.replicas === undefined) return;
  const info = await retryTransient(() => ctx.nats.streamInfo(`KV_${pointerBucket(name)}`), {
    what: `Reading the placement of region ${name}`,
  });
  if (!info) return; // the record without its bucket: provisioning completes it below
  const cluster = info.config.placement?.cluster;
  const replicas = info.config.num_replicas;
  const differs = (options.cluster !== undefined && options.cluster !== cluster) ||
    (options.replicas !== undefined && options.replicas !== replicas);
  if (!differs) return;
  throw new ConflictError(
    `Region ${name} exists, placed in cluster ${cluster ?? "(any)"} with ${replicas} ` +
      `replica(s), not ${_placement(options, replicas)}: placement is not changed by PUT. ` +
      `Send the placement it has (or none), or move its streams with the NATS tools`,
  );
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
