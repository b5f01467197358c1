/**
 * Staged rollouts as the control plane sees them: starting one (the plan, and the
 * config's create-only active key that keeps a second one out), listing and reading
 * them, and the operator's state changes. The coordinators drive running rollouts and
 * move the pointers; the control plane never does for a rollout.
 *
 * Every write of a rollout record is a compare-and-set on its revision, re-read and
 * retried on conflict, because the coordinator updates the same records.
 *
 * @module
 */
import {
  ActiveRollout,
  activeRolloutKey,
  Buckets,
  isFinal,
  planStages,
  preflightStage,
  RegionProgress,
  type RolloutEvent,
  RolloutRecord,
  type RolloutStage,
  RolloutState,
} from "@atlas/core";
import {
  audited,
  type AuditInput,
  CasContentionError,
  casUpdate,
  currentTraceParent,
  findAuditEvent,
  type IntentResolver,
  readKv,
  releaseActiveRollout,
  retryTransient,
  RolloutContentionError,
  type Stored,
  tracingOn,
  updateRollout,
} from "@atlas/store";
import type { KV } from "@nats-io/kv";
import type { StartRolloutBody } from "./api.ts";
import { requireConfig } from "./configs.ts";
import { type ControlContext, readAll } from "./context.ts";
import { ConflictError, InvalidRequestError, NotFoundError } from "./errors.ts";
import { rolloutRegions, targetRegions } from "./regions.ts";
import { requireLiveCoordinators } from "./rollout_waits.ts";
import { getVersion } from "./versions.ts";

/** Compare-and-set attempts before giving up: each concurrent writer can cost one. */
const CAS_ATTEMPTS = 32;

/**
 * A new rollout id: `r-<yyyymmddhhmmss>-<6 random [a-z0-9]>` (UTC), so ids sort by start
 * time.
 *
 * @example
 * ```ts
 * newRolloutId(new Date("2026-01-02T03:04:05Z")); // "r-20260102030405-k3x9qa"
 * ```
 */
export function newRolloutId(now: Date = new Date()): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => alphabet[b % alphabet.length],
  ).join("");
  return `r-${now.toISOString().replace(/\D/g, "").slice(0, 14)}-${random}`;
}

async function _kv(ctx: ControlContext): Promise<KV> {
  return await ctx.nats.kv(Buckets.rollouts);
}

async function _readRollout(ctx: ControlContext, id: string): Promise<Stored<RolloutRecord>> {
  if (!RolloutRecord.shape.id.safeParse(id).success) {
    throw new InvalidRequestError(
      `Invalid rollout id ${JSON.stringify(id)}: ids look like r-20260102030405-k3x9qa ` +
        `(list them with GET /v1/rollouts)`,
    );
  }
  const kv = await _kv(ctx);
  const found = await retryTransient(() => readKv(kv, id, RolloutRecord), {
    what: `Reading rollout ${id}`,
  });
  if (!found) {
    throw new NotFoundError(
      `Rollout ${id} does not exist: list rollouts with GET /v1/rollouts ` +
        "(`deno task atlas rollout list`)",
    );
  }
  return found;
}

/**
 * Reads one rollout; throws {@linkcode NotFoundError} when there is none.
 *
 * @example
 * ```ts
 * const rollout = await getRollout(ctx, "r-20260102030405-k3x9qa");
 * ```
 */
export async function getRollout(ctx: ControlContext, id: string): Promise<RolloutRecord> {
  return (await _readRollout(ctx, id)).value;
}

/**
 * Rollouts, newest first, optionally only those of one config or in one state.
 *
 * @example
 * ```ts
 * const running = await listRollouts(ctx, { state: "running" });
 * ```
 */
export async function listRollouts(
  ctx: ControlContext,
  filter: { config?: string | undefined; state?: RolloutState | undefined } = {},
): Promise<RolloutRecord[]> {
  // Rollout ids are one token; `*` leaves out the `active.<config>` keys.
  const records = await readAll(ctx, Buckets.rollouts, RolloutRecord, "*");
  return records.map((r) => r.value)
    .filter((r) =>
      (!filter.config || r.config === filter.config) &&
      (!filter.state || r.state === filter.state)
    )
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

async function _stages(
  ctx: ControlContext,
  body: StartRolloutBody,
): Promise<RolloutStage[]> {
  if (body.strategy) {
    const regions = await rolloutRegions(ctx, body.regions);
    return planStages(body.strategy, regions, body.gates, { preflight: body.preflight ?? false });
  }
  const stages = body.stages ?? [];
  await targetRegions(ctx, stages.flatMap((s) => s.regions));
  if (!body.preflight) return stages;
  if (stages.some((s) => s.preflight)) {
    throw new InvalidRequestError(
      'The stages already have a preflight stage: drop "preflight": true, or that stage',
    );
  }
  const regions = [...new Set(stages.flatMap((s) => s.regions))];
  return [preflightStage(regions, stages[0]!.gates), ...stages];
}

/**
 * Takes the config's active key for `id`. A key left behind by a rollout that already
 * ended (its owner stopped between the final write and the delete) is taken over by
 * compare-and-set; one held by a live rollout is a {@linkcode ConflictError} naming it.
 */
async function _lock(ctx: ControlContext, config: string, id: string): Promise<void> {
  const kv = await _kv(ctx);
  const key = activeRolloutKey(config);
  try {
    await casUpdate(kv, key, ActiveRollout, async (_value, held) => {
      if (!held) return { rolloutId: id };
      const other = await retryTransient(() => readKv(kv, held.value.rolloutId, RolloutRecord), {
        what: `Reading rollout ${held.value.rolloutId}`,
      });
      if (other && isFinal(other.value.state)) return { rolloutId: id }; // over the stale key
      throw new ConflictError(
        `Config ${config} already has an active rollout, ${held.value.rolloutId}` +
          `${other ? ` (${other.value.state})` : ""}: wait for it to finish, or pause or ` +
          `abort it (\`deno task atlas rollout abort ${held.value.rolloutId}\`)`,
        { details: { rolloutId: held.value.rolloutId } },
      );
    }, { attempts: CAS_ATTEMPTS, known: null, what: key }); // known: try the create first
  } catch (e) {
    if (!(e instanceof CasContentionError)) throw e;
    throw new ConflictError(`The active rollout of ${config} kept changing: try again`, {
      cause: e,
    });
  }
}

/**
 * Starts a rollout of `version` of config `name`: plans the stages (a preflight stage
 * first with `preflight`), refuses (409) when a region of it has no live coordinator
 * unless `allowNoCoordinator`, takes the config's active key (409 while another rollout
 * of it is active), writes the record in state `running` at stage 0, and audits
 * `rollout.start`. The coordinators take it from there.
 *
 * @example
 * ```ts
 * const rollout = await startRollout(ctx, "web", { version: 3, strategy: "canary" }, "alice");
 * ```
 */
export async function startRollout(
  ctx: ControlContext,
  name: string,
  body: StartRolloutBody,
  actor: string,
): Promise<RolloutRecord> {
  await requireConfig(ctx, name, { cached: true });
  await getVersion(ctx, name, body.version);
  const stages = await _stages(ctx, body);
  const inOrder = [...new Set(stages.flatMap((s) => s.regions))];
  if (!body.allowNoCoordinator) await requireLiveCoordinators(ctx, inOrder);
  const now = new Date();
  const at = now.toISOString();
  const id = newRolloutId(now);
  const regions = [...inOrder].sort();
  const record = RolloutRecord.parse({
    id,
    config: name,
    version: body.version,
    stages,
    state: RolloutState.running,
    stage: 0,
    regions: Object.fromEntries(
      regions.map((r) => [
        r,
        RegionProgress.parse({ targeted: 0, applied: 0, rejected: 0, failed: 0, pending: 0 }),
      ]),
    ),
    transitions: [{
      at,
      from: RolloutState.pending,
      to: RolloutState.running,
      stage: 0,
      reason: `started by ${actor}`,
      by: actor,
    }],
    createdAt: at,
    createdBy: actor,
    updatedAt: at,
    ...(tracingOn ? { trace: currentTraceParent() } : {}),
  });
  const planned = {
    actor,
    action: "rollout.start",
    config: name,
    version: body.version,
    details: {
      rolloutId: id,
      stages: stages.length,
      regions: inOrder,
      preflight: stages[0]?.preflight === true,
      ...(body.allowNoCoordinator ? { allowNoCoordinator: true } : {}),
    },
  };
  await audited(ctx.nats, planned, async () => {
    await _lock(ctx, name, id);
    const kv = await _kv(ctx);
    try {
      await retryTransient(() => kv.create(id, JSON.stringify(record)), {
        what: `Writing rollout ${id}`,
      });
    } catch (e) {
      await releaseActiveRollout(ctx.nats, name, id).catch(() => {});
      throw e;
    }
  });
  return record;
}

/**
 * Resolves a `rollout.start` intent left by a crash: it happened when the rollout record
 * exists. When it does not, the config's active key the start may have taken is released,
 * so the next rollout is not refused because of it.
 */
export function resolveStartIntent(ctx: ControlContext): IntentResolver {
  return async (intent) => {
    const id = String(intent.event.details["rolloutId"]);
    const kv = await _kv(ctx);
    const found = await retryTransient(() => readKv(kv, id, RolloutRecord), {
      what: `Reading rollout ${id}`,
    });
    if (found) return { happened: true, event: intent.event };
    if (intent.event.config !== undefined) {
      await releaseActiveRollout(ctx.nats, intent.event.config, id);
    }
    return { happened: false, reason: `rollout ${id} was never written` };
  };
}

/** What an operator can do to a rollout. */
export const RolloutAction = {
  pause: "pause",
  resume: "resume",
  abort: "abort",
  promote: "promote",
} as const;
export type RolloutAction = typeof RolloutAction[keyof typeof RolloutAction];

const PAST: Record<RolloutAction, string> = {
  pause: "paused",
  resume: "resumed",
  abort: "aborted",
  promote: "promoted",
};

/**
 * Applies an operator action to a rollout through `updateRollout` (compare-and-set,
 * deciding again on a conflict, since the coordinator writes the same record), audits it
 * as `rollout.<action>`, and for abort releases the config's active key. An action the
 * current state does not allow (see `transition`) is a {@linkcode ConflictError} naming
 * the state.
 *
 * - pause: running → paused; resume: paused → running
 * - abort: pending, running or paused → aborted (the coordinators restore the stable
 *   version)
 * - promote: a running rollout skips the rest of the current stage's bake
 *
 * @example
 * ```ts
 * await changeRollout(ctx, "r-20260102030405-k3x9qa", "pause", { actor: "alice" });
 * ```
 */
export async function changeRollout(
  ctx: ControlContext,
  id: string,
  action: RolloutAction,
  options: { actor: string; reason?: string | undefined },
): Promise<RolloutRecord> {
  const { actor } = options;
  const reason = options.reason ?? `${PAST[action]} by ${actor}`;
  const known = await _readRollout(ctx, id);
  const event: RolloutEvent = action === "promote" ? { type: action } : { type: action, reason };
  const planned = {
    actor,
    action: `rollout.${action}`,
    config: known.value.config,
    version: known.value.version,
    details: {
      rolloutId: id,
      after: known.value.transitions.length,
      atStage: known.value.stage,
      reason,
    },
  };
  const result = await audited(ctx.nats, planned, async () => {
    try {
      return await updateRollout(ctx.nats, id, () => event, {
        by: actor,
        known,
        maxAttempts: CAS_ATTEMPTS,
      });
    } catch (e) {
      if (e instanceof RolloutContentionError) throw new ConflictError(e.message, { cause: e });
      throw e;
    }
  }, {
    record: (r) =>
      "skipped" in r ? null : _changeEvent(planned, {
        from: r.previous.value.state,
        to: r.stored.value.state,
        stage: r.stored.value.stage,
      }, _transitionIndex(r.previous.value, r.stored.value)),
  });
  if ("skipped" in result) {
    if (result.skipped === "illegal") {
      throw new ConflictError(result.error.message, {
        details: { state: result.current.value.state },
        cause: result.error,
      });
    }
    // Deleted meanwhile (decide never declines).
    throw new NotFoundError(`Rollout ${id} no longer exists: list rollouts with GET /v1/rollouts`);
  }
  const next = result.stored.value;
  if (next.state === RolloutState.aborted) await releaseActiveRollout(ctx.nats, next.config, id);
  return next;
}

/**
 * The event of a rollout change. `index`: the change's place in `transitions` (none when
 * it made no transition, as a promote), which tells it from another change at recovery.
 */
function _changeEvent(
  planned: AuditInput,
  transition: { from: string; to: string; stage: number },
  index?: number,
): AuditInput {
  const { rolloutId, reason } = planned.details ?? {};
  const { from, to, stage } = transition;
  return {
    ...planned,
    details: {
      rolloutId,
      from,
      to,
      stage,
      reason,
      ...(index !== undefined ? { transition: index } : {}),
    },
  };
}

/** Where the change from `previous` to `next` put its transition, if it made one. */
function _transitionIndex(previous: RolloutRecord, next: RolloutRecord): number | undefined {
  return next.transitions.length > previous.transitions.length
    ? next.transitions.length - 1
    : undefined;
}

/**
 * Resolves a `rollout.<action>` intent left by a crash (an operator's action, or a
 * coordinator's `rollout.succeeded` / `rollout.rolled_back`): it happened when the rollout
 * has a transition by the intent's actor after the ones it had when the intent was
 * written. An end found this way also releases the config's active key.
 */
export function resolveChangeIntent(ctx: ControlContext): IntentResolver {
  return async (intent) => {
    const id = String(intent.event.details["rolloutId"]);
    const after = Number(intent.event.details["after"]);
    const kv = await _kv(ctx);
    const found = await retryTransient(() => readKv(kv, id, RolloutRecord), {
      what: `Reading rollout ${id}`,
    });
    if (!found) return { happened: false, reason: `rollout ${id} does not exist` };
    if (intent.event.action === `rollout.${RolloutAction.promote}`) {
      // A promote makes no transition: it marks the stage whose bake is skipped.
      const { state, stage, skipBakeStage } = found.value;
      return skipBakeStage !== undefined && skipBakeStage === intent.event.details["atStage"]
        ? { happened: true, event: _changeEvent(intent.event, { from: state, to: state, stage }) }
        : { happened: false, reason: `rollout ${id} was not promoted at that stage` };
    }
    // The actor's first transition after the intent that no event records yet (another
    // change by the same actor may have made the one right after it).
    const transitions = found.value.transitions;
    for (let i = after; i < transitions.length; i++) {
      const t = transitions[i]!;
      if (t.by !== intent.event.actor) continue;
      const recorded = await findAuditEvent(
        ctx.nats,
        (e) => e.details["rolloutId"] === id && e.details["transition"] === i,
        { config: found.value.config, since: intent.at },
      );
      if (recorded) continue;
      if (isFinal(t.to as RolloutState)) {
        await releaseActiveRollout(ctx.nats, found.value.config, id);
      }
      return { happened: true, event: _changeEvent(intent.event, t, i) };
    }
    return { happened: false, reason: `rollout ${id} has no such transition` };
  };
}

/**
 * Aborts the config's running (or paused) rollout, if any, because an operator moved its
 * pointers at once (activate or rollback). Without this, the region's coordinator would put
 * the rollout's candidate back on the pointer at its next step and undo the emergency
 * move. Returns the aborted rollout's id.
 *
 * @example
 * ```ts
 * await supersedeActiveRollout(ctx, "web", "alice", "rollback");
 * ```
 */
export async function supersedeActiveRollout(
  ctx: ControlContext,
  config: string,
  actor: string,
  by: "activate" | "rollback",
): Promise<string | undefined> {
  const kv = await _kv(ctx);
  const held = await retryTransient(() => readKv(kv, activeRolloutKey(config), ActiveRollout), {
    what: `Reading the active rollout of ${config}`,
  });
  if (!held) return undefined;
  const rollout = await retryTransient(() => readKv(kv, held.value.rolloutId, RolloutRecord), {
    what: `Reading rollout ${held.value.rolloutId}`,
  });
  if (!rollout || isFinal(rollout.value.state)) return undefined;
  await changeRollout(ctx, rollout.value.id, "abort", {
    actor,
    reason: `superseded by an immediate ${by} by ${actor}`,
  });
  return rollout.value.id;
}
