/**
 * Immediate activation and rollback: moving a config's signed pointer in chosen regions
 * by compare-and-set (`writePointer` from `@atlas/store`), straight from the control plane
 * so they work with every coordinator down.
 *
 * Activation inlines small content in the pointer notice, so most agents apply without
 * fetching anything. Rollback never does: agents hold the prior blob in their cache.
 *
 * @module
 */
import {
  annotate,
  appendAudit,
  audited,
  type AuditInput,
  type IntentResolver,
  isTransient,
  type PointerChange,
  readPointer,
  retryTransient,
  UnavailableError,
  writePointer,
} from "@atlas/store";
import { pointerBucket, PointerRecord, SignatureError, type VersionRecord } from "@atlas/core";
import type { DeferredMove, MoveResult, RegionMove } from "./api.ts";
import { type ControlContext, remember } from "./context.ts";
import { requireConfig } from "./configs.ts";
import { startRollout, supersedeActiveRollout } from "./rollouts.ts";
import { ConflictError } from "./errors.ts";
import { targetRegions } from "./regions.ts";
import { getVersion, readContent } from "./versions.ts";

/** How many earlier versions a pointer remembers for rollback. */
const HISTORY = 32;
/** Compare-and-set attempts per region: each concurrent mover can cost one. */
const CAS_ATTEMPTS = 32;
/**
 * How long an activation keeps trying a region before handing it to the region's
 * coordinator: longer than a stream leader election (5–8 s), far shorter than an outage.
 */
const REGION_DEADLINE_MS = 9_000;

interface MoveOptions {
  actor: string;
  action: "pointer.activate" | "pointer.rollback";
  inline?: Record<string, Uint8Array>;
  deadlineMs?: number;
  /**
   * What must be done before the pointer is written (ending a rollout in the way): it runs
   * while the intent is written, and its failure fails the move.
   */
  after?: Promise<unknown>;
}

/** The mark a move leaves in its pointer's reason: the id of its audit event. */
function _auditMark(id: string): string {
  return ` (audit ${id})`;
}

/**
 * Moves one region's pointer and audits it (store/journal.ts: intent first); `change` may
 * be called again on a lost race. The pointer's reason ends with the audit event's id, so
 * a move whose process died before the event was written is found at recovery.
 */
async function _move(
  ctx: ControlContext,
  region: string,
  config: string,
  change: (cur: PointerRecord | null) => PointerChange | null,
  options: MoveOptions,
): Promise<RegionMove> {
  const planned = { actor: options.actor, action: options.action, config, region, details: {} };
  return await audited(ctx.nats, planned, async (id) => {
    await options.after;
    let previous: PointerRecord | null = null;
    let changed = false;
    const key = `${region}/${config}`;
    const stored = await writePointer(ctx.nats, ctx.signer, region, config, (cur) => {
      previous = cur;
      const next = change(cur);
      changed = next !== null;
      return next && { ...next, reason: next.reason + _auditMark(id) };
    }, {
      issuedBy: options.actor,
      attempts: CAS_ATTEMPTS,
      current: ctx.lastPointers.get(key),
      onStored: (s) => remember(ctx.lastPointers, key, s),
      ...(options.inline ? { inline: options.inline } : {}),
      ...(options.deadlineMs ? { deadlineMs: options.deadlineMs } : {}),
    });
    if (!stored) throw new Error(`Pointer ${region}/${config} was neither stored nor found`);
    const previousVersion = (previous as PointerRecord | null)?.active.version ?? null;
    return { region, seq: stored.seq, previousVersion, changed, version: stored.active.version };
  }, { record: (move) => _moveEvent(planned, move), eventInBackground: true });
}

function _moveEvent(planned: AuditInput, move: RegionMove): AuditInput {
  const { previousVersion, seq, changed } = move;
  return { ...planned, version: move.version, details: { previousVersion, seq, changed } };
}

/**
 * Resolves a `pointer.activate` or `pointer.rollback` intent left by a crash: the move
 * happened when a pointer in the key's history (the last 64) carries its audit mark.
 *
 * @example
 * ```ts
 * await recoverIntents(ctx.nats, { "pointer.activate": resolveMoveIntent(ctx) });
 * ```
 */
export function resolveMoveIntent(ctx: ControlContext): IntentResolver {
  return async (intent) => {
    const { region, config } = intent.event;
    if (region === undefined || config === undefined) {
      return { happened: false, reason: "the intent does not name a region and a config" };
    }
    const kv = await ctx.nats.kv(pointerBucket(region));
    const mark = _auditMark(intent.id);
    let before: PointerRecord | null = null;
    for await (const entry of await kv.history({ key: config })) {
      if (entry.operation !== "PUT") continue;
      const parsed = PointerRecord.safeParse(entry.json());
      if (!parsed.success) continue;
      const pointer = parsed.data;
      if (pointer.reason.endsWith(mark)) {
        return {
          happened: true,
          event: _moveEvent(intent.event, {
            region,
            seq: pointer.seq,
            previousVersion: before?.active.version ?? null,
            changed: true,
            version: pointer.active.version,
          }),
        };
      }
      before = pointer;
    }
    return { happened: false, reason: `no pointer of ${config} in ${region} carries it` };
  };
}

/**
 * Makes `version` the active version of `name` in `regions` (default: every provisioned
 * region). A region already on that version (with no candidate) is left alone, unless its
 * stored pointer does not verify with the trusted keys (a coordinator signed it with a key
 * agents do not trust): then the pointer is signed again, so agents can take it.
 *
 * A region that cannot be reached (its pointer bucket does not answer within
 * {@linkcode REGION_DEADLINE_MS}: a cut gateway, a region down) does not fail the others.
 * It is handed to its own coordinator as an immediate rollout, which the coordinator runs
 * as soon as it can read the primary again; the result lists it under `deferred`.
 *
 * @example
 * ```ts
 * await activate(ctx, "web", { version: 3, regions: ["us-east"] }, "alice");
 * ```
 */
export async function activate(
  ctx: ControlContext,
  name: string,
  request: { version: number; regions?: string[] | undefined },
  actor: string,
): Promise<MoveResult> {
  await requireConfig(ctx, name, { cached: true, existence: true });
  const version = await getVersion(ctx, name, request.version);
  const regions = await targetRegions(ctx, request.regions);
  annotate(() => ({ "atlas.config": name, "atlas.version": version.version }));
  // Ends a rollout in the way while each region's intent is written; no pointer is written
  // before it has ended (`after`).
  const superseded = supersedeActiveRollout(ctx, name, actor, "activate");
  superseded.catch(() => {}); // awaited by every move, and below
  const inline = version.size <= ctx.inlineMaxBytes
    ? { [version.digest]: ctx.recentBlobs.get(version.digest) ?? await readContent(ctx, version) }
    : {};
  const change = (cur: PointerRecord | null): PointerChange | null => {
    if (cur && cur.active.version === version.version && !cur.candidate) {
      const untrusted = _untrusted(ctx, cur);
      if (untrusted === null) return null;
      // Already active, but agents would refuse the pointer (a coordinator signed it with
      // a key they do not trust): sign it again, as it is.
      return {
        active: version,
        history: cur.history,
        reason: `re-sign v${version.version}: ${untrusted}`,
      };
    }
    return {
      active: version,
      history: cur
        ? [cur.active.version, ...cur.history.filter((v) => v !== cur.active.version)]
          .slice(0, HISTORY)
        : [],
      reason: `activate v${version.version}`,
    };
  };
  const settled = await Promise.allSettled(
    regions.map((region) =>
      _move(ctx, region, name, change, {
        actor,
        action: "pointer.activate",
        inline,
        deadlineMs: REGION_DEADLINE_MS,
        after: superseded,
      })
    ),
  );
  // A rollout that could not be ended failed every move: its error, as before any move.
  await superseded;
  const moves: RegionMove[] = [];
  const unreachable: { region: string; reason: string }[] = [];
  settled.forEach((s, i) => {
    if (s.status === "fulfilled") moves.push(s.value);
    else if (_unreachable(s.reason)) {
      unreachable.push({ region: regions[i]!, reason: (s.reason as Error).message });
    }
  });
  const failed = settled.find((s) => s.status === "rejected" && !_unreachable(s.reason));
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const deferred = unreachable.length ? await _defer(ctx, name, version, unreachable, actor) : [];
  return { config: name, version: version.version, regions: moves, deferred };
}

/** Why agents would refuse the stored pointer `cur` (its signature), or null when they would not. */
function _untrusted(ctx: ControlContext, cur: PointerRecord): string | null {
  try {
    ctx.verifier.verify(`the stored pointer of ${cur.config} in ${cur.region}`, cur);
    return null;
  } catch (e) {
    if (e instanceof SignatureError) return e.message;
    throw e;
  }
}

function _unreachable(error: unknown): boolean {
  return error instanceof UnavailableError || isTransient(error);
}

/**
 * Hands regions an activation could not reach to their coordinators: one immediate rollout
 * of `version` over them (its coordinator takes it up once it reads the primary again),
 * audited per region as `pointer.deferred`.
 */
async function _defer(
  ctx: ControlContext,
  name: string,
  version: VersionRecord,
  unreachable: { region: string; reason: string }[],
  actor: string,
): Promise<DeferredMove[]> {
  const rollout = await startRollout(ctx, name, {
    version: version.version,
    strategy: { name: "immediate" },
    regions: unreachable.map((u) => u.region),
    // Out of reach now, its coordinator may be too: the rollout waits for the heal.
    allowNoCoordinator: true,
  }, actor);
  for (const u of unreachable) {
    await appendAudit(ctx.nats, {
      actor,
      action: "pointer.deferred",
      config: name,
      region: u.region,
      version: version.version,
      details: { rolloutId: rollout.id, reason: u.reason },
    });
  }
  return unreachable.map((u) => ({ ...u, rolloutId: rollout.id }));
}

/** Raised inside a pointer change when the target's version record must be read first. */
class _NeedVersion extends Error {
  constructor(readonly version: number) {
    super(`version ${version} not loaded`);
  }
}

function _rollbackTarget(
  name: string,
  region: string,
  cur: PointerRecord | null,
  toVersion: number | undefined,
): { cur: PointerRecord; target: number } {
  if (!cur) {
    throw new ConflictError(
      `Nothing is active for ${name} in ${region}: activate a version first`,
    );
  }
  const target = toVersion ?? cur.history[0];
  if (target === undefined) {
    throw new ConflictError(
      `No earlier version of ${name} to roll back to in ${region} (v${cur.active.version} ` +
        `is the only one activated there): activate another version, or pass toVersion`,
    );
  }
  return { cur, target };
}

/**
 * Moves the pointer of `name` back to the version active before the current one (or to
 * `toVersion`) in `regions`, without staging and without inline content. Every region is
 * checked before any is moved, so a 409 leaves all of them untouched.
 *
 * @example
 * ```ts
 * await rollback(ctx, "web", {}, "alice"); // every region back one version
 * ```
 */
export async function rollback(
  ctx: ControlContext,
  name: string,
  request: { regions?: string[] | undefined; toVersion?: number | undefined },
  actor: string,
): Promise<MoveResult> {
  await requireConfig(ctx, name, { cached: true, existence: true });
  const regions = await targetRegions(ctx, request.regions);
  const records = new Map<number, VersionRecord>();
  const load = async (n: number) => {
    if (!records.has(n)) records.set(n, await getVersion(ctx, name, n));
  };
  if (request.toVersion !== undefined) await load(request.toVersion);
  for (const region of regions) {
    const stored = await retryTransient(() => readPointer(ctx.nats, region, name), {
      what: `Reading pointer ${region}/${name}`,
    });
    if (stored) remember(ctx.lastPointers, `${region}/${name}`, stored);
    await load(_rollbackTarget(name, region, stored?.pointer ?? null, request.toVersion).target);
  }
  annotate(() => ({ "atlas.config": name, "atlas.rollback": true }));
  // Every region can roll back (checked above): only now end a rollout in the way, while
  // the intents are written (no pointer is written before it has ended).
  const superseded = supersedeActiveRollout(ctx, name, actor, "rollback");
  superseded.catch(() => {}); // awaited by every move, and below
  const change = (region: string) => (current: PointerRecord | null): PointerChange | null => {
    const { cur, target } = _rollbackTarget(name, region, current, request.toVersion);
    if (cur.active.version === target && !cur.candidate) return null;
    const record = records.get(target);
    if (!record) throw new _NeedVersion(target);
    return {
      active: record,
      history: request.toVersion !== undefined
        ? [cur.active.version, ...cur.history].slice(0, HISTORY)
        : cur.history.slice(1),
      reason: `rollback to v${target}`,
    };
  };
  const moves = await Promise.all(regions.map(async (region) => {
    // The pointer may have moved since it was checked: load what it now needs, retry.
    while (true) {
      try {
        return await _move(ctx, region, name, change(region), {
          actor,
          action: "pointer.rollback",
          after: superseded,
        });
      } catch (e) {
        if (!(e instanceof _NeedVersion)) throw e;
        await load(e.version);
      }
    }
  })).catch(async (e) => {
    await superseded; // a rollout that could not be ended: its error first
    throw e;
  });
  return { config: name, version: moves[0]!.version, regions: moves, deferred: [] };
}
