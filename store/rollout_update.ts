/**
 * The one way to change a stored rollout record: decide an event from the record as it is,
 * apply it with {@linkcode transition}, and write the result by compare-and-set on the
 * revision read. The control plane (operators' actions) and the coordinators (progress,
 * stages, the end) write the same records; on a lost race the record is read again and
 * the event decided again from it, so a change decided against an old state is never
 * written over a newer one (a pause landing between a coordinator's read and its write
 * holds the rollout: it does not become paused → succeeded).
 *
 * @module
 */
import type { AtlasNats } from "./connect.ts";
import {
  AtlasError,
  AtlasErrorCode,
  Buckets,
  type RolloutEvent,
  RolloutRecord,
  RolloutTransitionError,
  transition,
} from "@atlas/core";
import type { RetryOptions } from "./retry.ts";
import { CasContentionError, casUpdate } from "./kv_cas.ts";

/** A rollout record and the revision it was read at (or written as). */
export interface StoredRollout {
  value: RolloutRecord;
  revision: number;
}

/** Options of {@linkcode updateRollout}. */
export interface UpdateRolloutOptions {
  /** Who changes the rollout: `by` of a transition it makes. */
  by: string;
  /** The record as already read: the first attempt uses it instead of reading. */
  known?: StoredRollout;
  /** The change's time, an ISO timestamp. @default the wall clock */
  now?: () => string;
  /** Compare-and-set attempts before {@linkcode RolloutContentionError}. @default 32 */
  maxAttempts?: number;
  /**
   * Retry transient JetStream errors of each read and write (through an election);
   * `false` throws them at once (a coordinator's step retries at its next step).
   * @default {}
   */
  retry?: RetryOptions | false;
}

/** What {@linkcode updateRollout} did. */
export type UpdateRolloutResult =
  /** `event` was applied to `previous` and stored as `stored`. */
  | { stored: StoredRollout; previous: StoredRollout; event: RolloutEvent }
  /** `decide` returned null for the record as it is. */
  | { skipped: "declined"; current: StoredRollout }
  /** The event `decide` chose is not allowed in the record's state. */
  | { skipped: "illegal"; current: StoredRollout; error: RolloutTransitionError }
  /** There is no such rollout (or it was deleted). */
  | { skipped: "missing" };

/** Raised when a rollout kept changing through every compare-and-set attempt. */
export class RolloutContentionError extends AtlasError {
  readonly id: string;
  readonly attempts: number;
  constructor(id: string, attempts: number, options?: ErrorOptions) {
    super(
      `Rollout ${id} kept changing while it was being updated: ${attempts} compare-and-set ` +
        "attempts lost to other writers; try again",
      { ...options, code: AtlasErrorCode.contention },
    );
    this.name = "RolloutContentionError";
    this.id = id;
    this.attempts = attempts;
  }
}

/**
 * Changes rollout `id` by one event: `decide` picks it from the current record (null: no
 * change), {@linkcode transition} applies it, and the result is written by compare-and-set
 * on the revision read. On a conflict the record is read again and `decide` called again
 * on it, up to `maxAttempts` times, then {@linkcode RolloutContentionError}.
 *
 * @example
 * ```ts
 * const result = await updateRollout(nats, "r-20260102030405-k3x9qa", (r) =>
 *   r.state === "running" ? { type: "pause" } : null, { by: "alice" });
 * if ("stored" in result) console.log(result.stored.value.state); // "paused"
 * ```
 */
export async function updateRollout(
  nats: AtlasNats,
  id: string,
  decide: (current: RolloutRecord) => RolloutEvent | null,
  options: UpdateRolloutOptions,
): Promise<UpdateRolloutResult> {
  const maxAttempts = options.maxAttempts ?? 32;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(
      `Cannot update rollout ${id} as 'maxAttempts' must be a positive integer: current ` +
        `value is ${maxAttempts}`,
    );
  }
  const now = options.now ?? (() => new Date().toISOString());
  // What the last call of mutate decided, when it decided not to write.
  let skipped: UpdateRolloutResult | undefined;
  let event: RolloutEvent | undefined;
  try {
    const result = await casUpdate(
      await nats.kv(Buckets.rollouts),
      id,
      RolloutRecord,
      (_value, current) => {
        if (!current) return (skipped = { skipped: "missing" }), null;
        event = decide(structuredClone(current.value)) ?? undefined;
        if (!event) return (skipped = { skipped: "declined", current }), null;
        try {
          return RolloutRecord.parse(
            transition(current.value, event, { at: now(), by: options.by }),
          );
        } catch (e) {
          if (!(e instanceof RolloutTransitionError)) throw e;
          return (skipped = { skipped: "illegal", current, error: e }), null;
        }
      },
      {
        attempts: maxAttempts,
        ...(options.known ? { known: options.known } : {}),
        write: (data, revision) => nats.kvWrite(Buckets.rollouts, id, data, revision),
        retry: options.retry ?? {},
        what: `rollout ${id}`,
      },
    );
    if (!result.written) return skipped!;
    return {
      stored: { value: result.value, revision: result.revision },
      previous: result.previous!,
      event: event!,
    };
  } catch (e) {
    if (!(e instanceof CasContentionError)) throw e;
    throw new RolloutContentionError(id, maxAttempts, { cause: e.cause });
  }
}
