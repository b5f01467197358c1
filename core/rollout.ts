/**
 * The staged-rollout model: a rollout takes one config to one version through ordered
 * stages; each stage names regions, the share of their agents that take the candidate,
 * a bake time and the gates that must hold before the next stage. Operators can name a
 * built-in strategy instead of writing stages (in the spirit of AWS AppConfig's
 * deployment strategies); {@linkcode planStages} expands it.
 *
 * @module
 */
import { z } from "zod";
import { ConfigName, SimpleName, Timestamp } from "./schemas.ts";
import { MetricGate } from "./metric_gate.ts";

/** Health gates of a stage. */
export const Gates = z.object({
  /** Largest share of targeted agents that may reject or fail before the region rolls back. */
  maxFailureRatio: z.number().min(0).max(1).default(0),
  /** Share of targeted agents that must have applied before the stage can complete. */
  minAckedRatio: z.number().min(0).max(1).default(1),
  /** An agent that has not acked this long after the stage started counts as failed. */
  ackTimeoutSeconds: z.number().positive().default(60),
  /**
   * PromQL queries that must stay in bound through the bake (core/metric_gate.ts), asked
   * of the Prometheus the coordinator was started with (`--prometheus-url`).
   */
  metrics: z.array(MetricGate).max(10).default([]),
});
export type Gates = z.infer<typeof Gates>;

/** One stage of a rollout. */
export const RolloutStage = z.object({
  regions: z.array(SimpleName).min(1),
  /** Share of each listed region's agents that take the candidate (they stay in later stages). */
  percent: z.number().min(0).max(100).default(100),
  /** Agents that take the candidate whatever the share. */
  agents: z.array(SimpleName).default([]),
  /** Agents carrying all these labels (agent.json `labels`) take the candidate too. */
  labels: z.record(z.string(), z.string()).optional(),
  /** Time the stage must hold with its gates met before the next one starts. */
  bakeSeconds: z.number().nonnegative().default(0),
  gates: Gates.default(Gates.parse({})),
  /**
   * A preflight stage: the targeted agents fetch, verify and run `verify` on the version
   * and ack `verified` without installing it; its gates judge those acks.
   */
  preflight: z.boolean().optional(),
});
export type RolloutStage = z.infer<typeof RolloutStage>;

/** Built-in strategies an operator can name instead of stages. */
export const Strategy = z.discriminatedUnion("name", [
  /** Every region, every agent, one stage. */
  z.object({ name: z.literal("immediate") }),
  /** A share of the first region, then all of it, then each further region in turn. */
  z.object({
    name: z.literal("canary"),
    canaryPercent: z.number().gt(0).lt(100).default(5),
    bakeSeconds: z.number().nonnegative().default(60),
  }),
  /** All regions together, in `steps` equal shares. */
  z.object({
    name: z.literal("linear"),
    steps: z.number().int().min(2).max(20).default(4),
    bakeSeconds: z.number().nonnegative().default(60),
  }),
  /** All regions together, the share doubling from `startPercent` to 100. */
  z.object({
    name: z.literal("exponential"),
    startPercent: z.number().gt(0).lt(100).default(1),
    bakeSeconds: z.number().nonnegative().default(60),
  }),
]);
export type Strategy = z.infer<typeof Strategy>;

/** Options of {@linkcode planStages}. */
export interface PlanOptions {
  /**
   * Put a preflight stage first ({@linkcode preflightStage}): every agent of every region
   * verifies the version without installing it before any installs it. @default false
   */
  preflight?: boolean;
}

/**
 * The preflight stage of a rollout over `regions`: every agent of each (100 %) fetches,
 * verifies and checks the version without installing it; no bake; judged by `gates`.
 *
 * @example
 * ```ts
 * preflightStage(["us-east", "eu-west"]); // { regions, percent: 100, preflight: true, … }
 * ```
 */
export function preflightStage(regions: string[], gates?: Partial<Gates>): RolloutStage {
  return RolloutStage.parse({
    regions,
    percent: 100,
    preflight: true,
    bakeSeconds: 0,
    gates: Gates.parse(gates ?? {}),
  });
}

/**
 * Expands a strategy into stages over `regions` (in rollout order), every stage with
 * `gates`; with `options.preflight`, a preflight stage over every region comes first.
 *
 * @example
 * ```ts
 * planStages(Strategy.parse({ name: "canary", canaryPercent: 10 }), ["us-east", "eu-west"]);
 * // us-east 10 %, us-east 100 %, eu-west 100 %
 * ```
 */
export function planStages(
  strategy: Strategy,
  regions: string[],
  gates?: Partial<Gates>,
  options: PlanOptions = {},
): RolloutStage[] {
  if (regions.length === 0) {
    throw new RangeError("Cannot plan a rollout over no regions: name at least one");
  }
  const installing = _installingStages(strategy, regions, gates);
  return options.preflight ? [preflightStage(regions, gates), ...installing] : installing;
}

function _installingStages(
  strategy: Strategy,
  regions: string[],
  gates?: Partial<Gates>,
): RolloutStage[] {
  const g = Gates.parse(gates ?? {});
  const stage = (r: string[], percent: number, bakeSeconds: number): RolloutStage =>
    RolloutStage.parse({ regions: r, percent, bakeSeconds, gates: g });
  switch (strategy.name) {
    case "immediate":
      return [stage(regions, 100, 0)];
    case "canary": {
      const [first, ...rest] = regions as [string, ...string[]];
      return [
        stage([first], strategy.canaryPercent, strategy.bakeSeconds),
        stage([first], 100, strategy.bakeSeconds),
        ...rest.map((r) => stage([r], 100, strategy.bakeSeconds)),
      ];
    }
    case "linear":
      return Array.from(
        { length: strategy.steps },
        (_, i) =>
          stage(
            regions,
            Math.round(((i + 1) * 10_000) / strategy.steps) / 100,
            strategy.bakeSeconds,
          ),
      );
    case "exponential": {
      const shares: number[] = [];
      for (let p = strategy.startPercent; p < 100; p *= 2) shares.push(p);
      return [...shares, 100].map((p) => stage(regions, p, strategy.bakeSeconds));
    }
  }
}

/** States of a rollout. */
export const RolloutState = {
  pending: "pending",
  running: "running",
  paused: "paused",
  succeeded: "succeeded",
  rolledBack: "rolled_back",
  aborted: "aborted",
} as const;
export type RolloutState = typeof RolloutState[keyof typeof RolloutState];

const NEXT: Record<RolloutState, readonly RolloutState[]> = {
  pending: ["running", "aborted"],
  running: ["paused", "succeeded", "rolled_back", "aborted"],
  paused: ["running", "rolled_back", "aborted"],
  succeeded: [],
  rolled_back: [],
  aborted: [],
};

/** True when a rollout may move from `from` to `to`. */
export function canTransition(from: RolloutState, to: RolloutState): boolean {
  return NEXT[from].includes(to);
}

/** True when a rollout in `state` has ended (no further transition). */
export function isFinal(state: RolloutState): boolean {
  return NEXT[state].length === 0;
}

/** Per-region counts of a rollout's current stage. */
export const RegionProgress = z.object({
  targeted: z.number().int().nonnegative(),
  applied: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  pending: z.number().int().nonnegative(),
  /** Preflight stages: targeted agents that verified the candidate without installing it. */
  verified: z.number().int().nonnegative().default(0),
  /** Targeted agents that left (goodbye, or heartbeats stopped) before acking: not counted. */
  departed: z.number().int().nonnegative().default(0),
  /**
   * What the region's stage is waiting for, or why it completed as it did (for example
   * "no agent in us-east manages web.nginx: nothing to do"), in words for `rollout watch`.
   */
  note: z.string().optional(),
  /** When the region's current stage started (pointer moved). */
  stageStartedAt: Timestamp.optional(),
  /** When the gates last started to hold (bake runs from here). */
  healthySince: Timestamp.optional(),
  /** Highest stage index this region has completed (gates held through the bake). */
  doneStage: z.number().int().min(-1).default(-1),
  /** Pointer seq of this region's current stage (acks for it count). */
  seq: z.number().int().nonnegative().default(0),
  /** Stage the region's pointer was last moved for (-1: none yet). */
  stage: z.number().int().min(-1).default(-1),
  /**
   * Once every stage is done, how far the region is in making the version active:
   * `promoting` (the rollout is committed: it can only succeed or be aborted), then
   * `promoted` (the region's pointer names it active). The rollout succeeds once every
   * region is `promoted` (core/rollout_state.ts).
   */
  settle: z.enum(["promoting", "promoted"]).optional(),
});
export type RegionProgress = z.infer<typeof RegionProgress>;

/** A rollout, in the `atlas_rollouts` bucket under its id. */
export const RolloutRecord = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  config: ConfigName,
  version: z.number().int().positive(),
  stages: z.array(RolloutStage).min(1),
  state: z.enum(Object.values(RolloutState) as [RolloutState, ...RolloutState[]]),
  /** Index of the current stage. */
  stage: z.number().int().nonnegative(),
  regions: z.record(SimpleName, RegionProgress),
  /** Stage whose remaining bake an operator skipped (`promote`). */
  skipBakeStage: z.number().int().nonnegative().optional(),
  /** Every state change, with its reason. */
  transitions: z.array(z.object({
    at: Timestamp,
    from: z.string(),
    to: z.string(),
    stage: z.number().int().nonnegative(),
    reason: z.string(),
    by: z.string(),
  })),
  createdAt: Timestamp,
  createdBy: z.string(),
  updatedAt: Timestamp,
  /**
   * W3C `traceparent` of the call that started it (tracing on): each stage's trace links
   * to it. Optional; a writer that does not know it drops it, which only loses the link.
   */
  trace: z.string().max(128).optional(),
});
export type RolloutRecord = z.infer<typeof RolloutRecord>;

/**
 * Key, in the rollouts bucket, that a config's one active rollout holds (created with
 * create-only semantics, deleted when the rollout ends): a second rollout of the same
 * config cannot start meanwhile. Rollout ids have no dots, so the two never collide.
 */
export function activeRolloutKey(config: string): string {
  return `active.${config}`;
}

/** What a config's active key holds. */
export const ActiveRollout = z.object({ rolloutId: z.string() });

/** Kinds of alert. */
export const AlertKind = {
  stalled: "stalled",
  rolledBack: "rolled_back",
  failureCluster: "failure_cluster",
  drift: "drift",
} as const;
export type AlertKind = typeof AlertKind[keyof typeof AlertKind];

/** An alert, in the alerts bucket under its id. */
export const AlertRecord = z.object({
  id: z.string().min(1),
  kind: z.enum(Object.values(AlertKind) as [AlertKind, ...AlertKind[]]),
  region: SimpleName,
  config: ConfigName.optional(),
  rolloutId: z.string().optional(),
  message: z.string(),
  at: Timestamp,
  resolvedAt: Timestamp.optional(),
  /** Who resolved it: an operator, or `coordinator/<region>` when its cause went away. */
  resolvedBy: z.string().optional(),
  /** Why it was resolved. */
  resolution: z.string().optional(),
});
export type AlertRecord = z.infer<typeof AlertRecord>;

/**
 * An agent fenced off one config, in the quarantine bucket under
 * `<region>.<agent>.<config>` (see `quarantineKey`). Records written before quarantine was
 * per config have no `config` and fence the agent off every config.
 */
export const QuarantineRecord = z.object({
  region: SimpleName,
  agent: SimpleName,
  config: ConfigName.optional(),
  reason: z.string(),
  rolloutId: z.string().optional(),
  at: Timestamp,
});
export type QuarantineRecord = z.infer<typeof QuarantineRecord>;
