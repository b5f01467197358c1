/**
 * Never waiting in silence: a rollout is refused at start when a region of it has no live
 * coordinator (nobody would move its pointer), unless the operator says to go anyway; and
 * a running rollout shows, per region of its current stage, what that region waits for.
 * Liveness is `leaseHolder` from `@atlas/store`, the rule coordinators and tests share.
 *
 * @module
 */
import { type LeaseHolder, leaseHolder } from "@atlas/store";
import { type RolloutRecord, RolloutState } from "@atlas/core";
import type { RegionWait, RolloutView } from "./api.ts";
import type { ControlContext } from "./context.ts";
import { ConflictError } from "./errors.ts";

/** How to start a region's coordinator, for messages. */
export function startCoordinatorHint(region: string): string {
  return `deno task coordinator --region ${region} --signing-key <file> --nats <url>`;
}

function _absence(lease: LeaseHolder): string {
  if (!lease.writtenAt) return "no coordinator has ever led it";
  const last = lease.holder ? ` (last held by ${lease.holder})` : " (released)";
  return `no live coordinator since ${lease.writtenAt.toISOString()}${last}`;
}

async function _leases(
  ctx: ControlContext,
  regions: readonly string[],
  now: number,
): Promise<Map<string, LeaseHolder>> {
  const leases = await Promise.all(regions.map((r) => leaseHolder(ctx.nats, r, { now })));
  return new Map(leases.map((l) => [l.region, l]));
}

/**
 * Throws {@linkcode ConflictError} naming every region of `regions` without a live
 * coordinator (no lease, or one not renewed for 15 s), and how to start one.
 *
 * @example
 * ```ts
 * await requireLiveCoordinators(ctx, ["us-east", "eu-west"]);
 * ```
 */
export async function requireLiveCoordinators(
  ctx: ControlContext,
  regions: readonly string[],
  now: number = Date.now(),
): Promise<void> {
  const leases = await _leases(ctx, regions, now);
  const missing = regions.flatMap((r) => {
    const lease = leases.get(r)!;
    return lease.live ? [] : [lease];
  });
  if (missing.length === 0) return;
  throw new ConflictError(
    `No live coordinator in ${missing.map((l) => `${l.region} (${_absence(l)})`).join(", ")}: ` +
      "the rollout would wait there with nobody to move the pointer. Start one per region " +
      `(\`${startCoordinatorHint(missing[0]!.region)}\`), or pass "allowNoCoordinator": true ` +
      "(CLI --allow-no-coordinator) to start it anyway",
    {
      details: {
        regions: missing.map((l) => ({
          region: l.region,
          lastLeaseWrite: l.writtenAt?.toISOString() ?? null,
          lastHolder: l.holder,
        })),
      },
    },
  );
}

function _wait(
  rollout: RolloutRecord,
  region: string,
  lease: LeaseHolder,
): RegionWait {
  const stage = rollout.stages[rollout.stage]!;
  const p = rollout.regions[region];
  if (!lease.live) {
    return {
      region,
      for: "coordinator",
      detail: `${_absence(lease)}: start one with \`${startCoordinatorHint(region)}\``,
      ...(lease.writtenAt ? { since: lease.writtenAt.toISOString() } : {}),
    };
  }
  if (!p || p.stage < rollout.stage) {
    return {
      region,
      for: "coordinator",
      detail: `coordinator ${lease.holder} has not started stage ${rollout.stage + 1} in ` +
        `${region} yet`,
    };
  }
  if (p.healthySince) {
    if (rollout.skipBakeStage === rollout.stage) {
      return {
        region,
        for: "bake",
        detail: "bake skipped (promoted): done at the coordinator's next step",
        since: p.healthySince,
      };
    }
    const until = new Date(Date.parse(p.healthySince) + stage.bakeSeconds * 1000).toISOString();
    return {
      region,
      for: "bake",
      // The coordinator's note says it all when it wrote one (counts and the bake's end).
      detail: p.note ?? `gates hold; baking until ${until}`,
      since: p.healthySince,
      until,
    };
  }
  if (p.targeted === 0) {
    return {
      region,
      for: "nothing",
      detail: p.note ?? `no agent targeted in ${region}: done at the coordinator's next step`,
    };
  }
  const [done, verb] = stage.preflight ? [p.verified, "verified"] : [p.applied, "applied"];
  const others = [
    p.pending ? `${p.pending} pending` : "",
    p.rejected ? `${p.rejected} rejected` : "",
    p.failed ? `${p.failed} failed` : "",
    p.departed ? `${p.departed} departed` : "",
  ].filter(Boolean);
  return {
    region,
    for: "acks",
    detail: p.note ??
      `${done} of ${p.targeted} targeted agents ${verb}` +
        (others.length ? ` (${others.join(", ")})` : ""),
    ...(p.stageStartedAt ? { since: p.stageStartedAt } : {}),
  };
}

/**
 * The rollouts with `waiting`: for a running one, per region of its current stage that is
 * not done, what it waits for (a coordinator, acks, the bake, or nothing); once every stage
 * is done, each region whose coordinator has not yet made the version active.
 *
 * @example
 * ```ts
 * const [view] = await rolloutViews(ctx, [await getRollout(ctx, id)]);
 * view.waiting; // [{ region: "eu-west", for: "coordinator", detail: "no live …" }]
 * ```
 */
export async function rolloutViews(
  ctx: ControlContext,
  rollouts: readonly RolloutRecord[],
  now: number = Date.now(),
): Promise<RolloutView[]> {
  const running = rollouts.filter((r) => r.state === RolloutState.running);
  const regions = [
    ...new Set(
      running.flatMap((r) => [...r.stages[r.stage]?.regions ?? [], ...Object.keys(r.regions)]),
    ),
  ];
  const leases = await _leases(ctx, regions, now);
  return rollouts.map((r) => {
    const stage = r.stages[r.stage];
    if (r.state !== RolloutState.running || !stage) return { ...r, waiting: [] };
    const open = stage.regions.filter((region) => (r.regions[region]?.doneStage ?? -1) < r.stage);
    if (open.length === 0 && r.stage + 1 === r.stages.length) {
      // Every stage done: each region's coordinator makes the version active, then the
      // rollout succeeds (core/rollout_state.ts).
      const waiting = [...new Set(r.stages.flatMap((s) => s.regions))]
        .filter((region) => r.regions[region]?.settle !== "promoted")
        .map((region) => _promoting(r, region, r.regions[region]?.settle, leases.get(region)!));
      return { ...r, waiting };
    }
    return { ...r, waiting: open.map((region) => _wait(r, region, leases.get(region)!)) };
  });
}

function _promoting(
  rollout: RolloutRecord,
  region: string,
  settle: RolloutRecord["regions"][string]["settle"],
  lease: LeaseHolder,
): RegionWait {
  if (!lease.live) {
    return {
      region,
      for: "coordinator",
      detail: `every stage done, but ${_absence(lease)}: start one with ` +
        `\`${startCoordinatorHint(region)}\` to make v${rollout.version} active there`,
      ...(lease.writtenAt ? { since: lease.writtenAt.toISOString() } : {}),
    };
  }
  return {
    region,
    for: "coordinator",
    detail: settle === "promoting"
      ? `coordinator ${lease.holder} is making v${rollout.version} active in ${region}`
      : `every stage done: coordinator ${lease.holder} makes v${rollout.version} active in ` +
        `${region} at its next step`,
  };
}
