/**
 * The one rollout state machine: {@linkcode transition} is the only way a rollout record
 * changes state, stage or a region's progress, for the control plane and the coordinators
 * alike (store/rollout_update.ts applies it by compare-and-set).
 *
 * Invariants: every state change is legal in the table of `rollout.ts` (`canTransition`)
 * and recorded in `transitions`; a paused rollout never completes a stage, advances or
 * succeeds; an advance names the stage it leaves, so a re-applied one is refused. A
 * rollout succeeds only once every region's pointer names its version active (each
 * region `settle: "promoted"`), and once a region has begun that (`settle`, see
 * {@linkcode isCompleting}) it is committed: no pause or roll back, only success or abort.
 *
 * @module
 */
import { AtlasError, AtlasErrorCode } from "./errors.ts";
import { canTransition, isFinal, type RolloutRecord, type RolloutState } from "./rollout.ts";

/** Kinds of event that change a rollout record (see {@linkcode transition}). */
export const RolloutEventType = {
  pause: "pause",
  resume: "resume",
  abort: "abort",
  promote: "promote",
  advance: "advance",
  succeed: "succeed",
  rollBack: "rollBack",
  progress: "progress",
} as const;
export type RolloutEventType = typeof RolloutEventType[keyof typeof RolloutEventType];

/**
 * A change of one region's progress. Fields left out stay as they are; `null` removes an
 * optional field.
 */
export interface RegionUpdate {
  targeted?: number;
  applied?: number;
  rejected?: number;
  failed?: number;
  pending?: number;
  verified?: number;
  departed?: number;
  note?: string | null;
  stageStartedAt?: string;
  healthySince?: string | null;
  /** Marks the rollout's current stage done in the region (only that stage, only running). */
  doneStage?: number;
  /**
   * How far the region is in making the version active, forward only: `promoting` once
   * every stage is done (only running), then `promoted` once its pointer names it.
   */
  settle?: "promoting" | "promoted";
  seq?: number;
  stage?: number;
}

/**
 * What can happen to a rollout. Operators pause, resume, abort and promote; the
 * coordinators record progress, advance, succeed and roll back.
 */
export type RolloutEvent =
  | { type: typeof RolloutEventType.pause; reason?: string }
  | { type: typeof RolloutEventType.resume; reason?: string }
  | { type: typeof RolloutEventType.abort; reason?: string }
  /** Skip the rest of the current stage's bake. */
  | { type: typeof RolloutEventType.promote }
  /** From stage `from` to `from + 1`; `from` must still be the current stage. */
  | { type: typeof RolloutEventType.advance; from: number }
  | { type: typeof RolloutEventType.succeed; reason?: string }
  /** A gate breach; `update` is the breaching region's counts. */
  | {
    type: typeof RolloutEventType.rollBack;
    reason: string;
    region?: string;
    update?: RegionUpdate;
  }
  | { type: typeof RolloutEventType.progress; region: string; update: RegionUpdate };

/** Who changes a rollout, and when (an ISO timestamp, also the record's `updatedAt`). */
export interface TransitionContext {
  at: string;
  by: string;
}

/**
 * Raised by {@linkcode transition} for an event the rollout's state (or stage) does not
 * allow.
 *
 * @example
 * ```ts
 * try {
 *   transition(rollout, { type: "resume" }, { at, by: "alice" });
 * } catch (e) {
 *   if (e instanceof RolloutTransitionError) console.log(e.from, e.event); // "running" "resume"
 * }
 * ```
 */
export class RolloutTransitionError extends AtlasError {
  /** The state the rollout was in. */
  readonly from: RolloutState;
  /** The event refused. */
  readonly event: RolloutEventType;
  constructor(
    message: string,
    from: RolloutState,
    event: RolloutEventType,
    options?: ErrorOptions,
  ) {
    super(message, { ...options, code: AtlasErrorCode.transition });
    this.name = "RolloutTransitionError";
    this.from = from;
    this.event = event;
  }
}

/** States each event is allowed in (events that change the state also obey `NEXT`). */
const ALLOWED_IN: Record<RolloutEventType, readonly RolloutState[]> = {
  pause: ["running"],
  resume: ["paused"],
  abort: ["pending", "running", "paused"],
  promote: ["running"],
  advance: ["running"],
  succeed: ["running"],
  rollBack: ["running", "paused"],
  progress: ["running", "paused"],
};

/** The state an event moves to (null: the state stays). */
const TARGET: Record<RolloutEventType, RolloutState | null> = {
  pause: "paused",
  resume: "running",
  abort: "aborted",
  promote: null,
  advance: null,
  succeed: "succeeded",
  rollBack: "rolled_back",
  progress: null,
};

const VERB: Record<RolloutEventType, string> = {
  pause: "pause",
  resume: "resume",
  abort: "abort",
  promote: "promote",
  advance: "advance",
  succeed: "complete",
  rollBack: "roll back",
  progress: "update",
};

const PAST: Partial<Record<RolloutEventType, string>> = {
  pause: "paused",
  resume: "resumed",
  abort: "aborted",
};

/**
 * True when `event` may be applied to a rollout in `state` (the state rules only;
 * {@linkcode transition} also checks stages).
 *
 * @example
 * ```ts
 * allowsEvent("paused", "succeed"); // false: a paused rollout does not end as succeeded
 * ```
 */
export function allowsEvent(state: RolloutState, event: RolloutEventType): boolean {
  const target = TARGET[event];
  return ALLOWED_IN[event].includes(state) && (target === null || canTransition(state, target));
}

function _refuse(record: RolloutRecord, event: RolloutEventType, why: string): never {
  throw new RolloutTransitionError(
    `Cannot ${VERB[event]} rollout ${record.id}: ${why}`,
    record.state,
    event,
  );
}

/**
 * True when a running rollout is committed to succeed: every stage is done and a region
 * has begun to make the version active (`settle`). It can then only succeed (once every
 * region is `promoted`) or be aborted; a pause or a roll back is refused, so that a
 * pointer that names the version active never sits under a paused or rolled-back rollout.
 *
 * @example
 * ```ts
 * if (isCompleting(rollout)) console.log("making the version active in each region");
 * ```
 */
export function isCompleting(record: RolloutRecord): boolean {
  return record.state === "running" &&
    Object.values(record.regions).some((p) => p.settle !== undefined);
}

function _stageDone(record: RolloutRecord, event: RolloutEventType): void {
  const stage = record.stages[record.stage]!;
  const open = stage.regions.filter((r) => (record.regions[r]?.doneStage ?? -1) < record.stage);
  if (open.length) {
    _refuse(record, event, `stage ${record.stage + 1} is not done in ${open.join(", ")}`);
  }
}

function _applyRegion(record: RolloutRecord, region: string, update: RegionUpdate): void {
  const p = record.regions[region];
  if (!p) {
    throw new RangeError(
      `Cannot update region ${region} of rollout ${record.id}: its stages name only ` +
        `${Object.keys(record.regions).join(", ")}`,
    );
  }
  for (const [k, v] of Object.entries(update) as [keyof RegionUpdate, unknown][]) {
    if (v === undefined) continue;
    if (v === null) delete p[k as "note" | "healthySince"];
    else (p as Record<string, unknown>)[k] = v;
  }
}

/**
 * The rollout state machine: returns the record after `event` (a new object; `record` is
 * not changed), or throws {@linkcode RolloutTransitionError} when the record's state (or
 * stage) does not allow the event. Every change of state appends to `transitions`, with
 * the event's reason, `ctx.by` and `ctx.at`; `updatedAt` becomes `ctx.at`.
 *
 * - `pause`: running → paused. `resume`: paused → running.
 * - `abort`: pending, running or paused → aborted.
 * - `promote`: while running, skips the rest of the current stage's bake (no state change).
 * - `advance {from}`: while running, stage `from` → `from + 1`, when `from` is the current
 *   stage, it is not the last, and every region of it is done. A re-applied advance (the
 *   stage already moved) is illegal, never a second step.
 * - `succeed`: running → succeeded, at the last stage once every region of it is done and
 *   every region of the rollout has made the version active (`settle: "promoted"`).
 *   Never from paused: a pause that lands first holds the rollout.
 * - once a region has a `settle` ({@linkcode isCompleting}), `pause` and `rollBack` are
 *   refused: the rollout can only succeed or be aborted.
 * - `rollBack {reason}`: running or paused → rolled_back, with the breaching region's counts.
 * - `progress {region, update}`: a region's counts, times, pointer seq and stage, while
 *   running or paused (the pointer may have moved, and agents keep acking, while an
 *   operator pauses). `doneStage` may only name the current stage, and only while running:
 *   a paused rollout's stage does not complete. `settle` only while running, at the last
 *   stage with every region of it done, and forward only (`promoting`, `promoted`).
 *
 * @example
 * ```ts
 * const paused = transition(rollout, { type: "pause" }, { at: new Date().toISOString(), by: "alice" });
 * paused.transitions.at(-1); // { from: "running", to: "paused", reason: "paused by alice", ... }
 * ```
 */
export function transition(
  record: RolloutRecord,
  event: RolloutEvent,
  ctx: TransitionContext,
): RolloutRecord {
  const type = event.type;
  if ((type === "pause" || type === "rollBack") && isCompleting(record)) {
    _refuse(
      record,
      type,
      `it is completing: every stage is done and its regions are making v${record.version} ` +
        `active; wait for it to succeed, then activate the version you want (or abort it)`,
    );
  }
  if (!allowsEvent(record.state, type)) {
    _refuse(
      record,
      type,
      `it is ${record.state}` +
        (isFinal(record.state)
          ? " and has ended"
          : `, and ${VERB[type]} needs it ${ALLOWED_IN[type].join(" or ")}`),
    );
  }
  const next = structuredClone(record);
  next.updatedAt = ctx.at;
  let reason = "";
  switch (event.type) {
    case "pause":
    case "resume":
    case "abort":
      reason = event.reason ?? `${PAST[type]} by ${ctx.by}`;
      break;
    case "promote":
      next.skipBakeStage = record.stage;
      break;
    case "advance":
      if (event.from !== record.stage) {
        _refuse(
          record,
          type,
          `it is at stage ${record.stage + 1}, not ${event.from + 1} (advanced already)`,
        );
      }
      if (record.stage + 1 >= record.stages.length) {
        _refuse(record, type, `stage ${record.stage + 1} is its last: it can only complete`);
      }
      _stageDone(record, type);
      next.stage = record.stage + 1;
      break;
    case "succeed":
      if (record.stage + 1 !== record.stages.length) {
        _refuse(
          record,
          type,
          `it is at stage ${record.stage + 1} of ${record.stages.length}, not the last`,
        );
      }
      _stageDone(record, type);
      {
        const open = Object.entries(record.regions)
          .filter(([, p]) => p.settle !== "promoted")
          .map(([r]) => r);
        if (open.length) {
          _refuse(record, type, `its version is not yet active in ${open.join(", ")}`);
        }
      }
      reason = event.reason ?? "every stage completed";
      break;
    case "rollBack":
      if (event.region !== undefined && event.update) {
        _applyRegion(next, event.region, event.update);
      }
      reason = event.reason;
      break;
    case "progress": {
      const done = event.update.doneStage;
      const before = record.regions[event.region]?.doneStage ?? -1;
      if (done !== undefined && done !== before) {
        if (record.state !== "running") {
          _refuse(record, type, `it is ${record.state}: stage ${done + 1} cannot complete`);
        }
        if (done !== record.stage) {
          _refuse(
            record,
            type,
            `it is at stage ${record.stage + 1}: stage ${done + 1} cannot complete`,
          );
        }
      }
      const settle = event.update.settle;
      const was = record.regions[event.region]?.settle;
      if (settle !== undefined && settle !== was) {
        if (record.state !== "running") {
          _refuse(record, type, `it is ${record.state}: v${record.version} cannot be made active`);
        }
        if (record.stage + 1 !== record.stages.length) {
          _refuse(record, type, `it is at stage ${record.stage + 1}, not the last`);
        }
        _stageDone(record, type);
        if (settle === "promoting" && was === "promoted") {
          _refuse(record, type, `${event.region} has made v${record.version} active already`);
        }
      }
      _applyRegion(next, event.region, event.update);
      break;
    }
  }
  const target = TARGET[type];
  if (target !== null) {
    next.state = target;
    next.transitions.push({
      at: ctx.at,
      from: record.state,
      to: target,
      stage: record.stage,
      reason,
      by: ctx.by,
    });
  }
  return next;
}
