/**
 * The arithmetic of the benchmark's scale rows (issue 15), free of I/O: the targets each
 * measure is held to, how a per-second CPU series reads as saturation, and how a staged
 * rollout's stage overheads follow from when its gates were met and when the next pointer
 * came.
 *
 * Invariant: every function here is pure; the orchestrator (main.ts) measures, these
 * only compute and label.
 *
 * @module
 */

/** A measure of issue 15 and the target it is held to at N = 10 000. */
export interface Target {
  /** What is measured, as the table prints it. */
  measure: string;
  /** The unit of the value, its floor and its target. */
  unit: string;
  /** The most the measure may be to meet the issue. */
  target: number;
}

/** Issue 15's targets, by key (the keys are the JSON field names). */
export const TARGETS = {
  natsServerRssKiBPerAgent: {
    measure: "nats-server RSS per connected agent",
    unit: "KiB",
    target: 35,
  },
  natsServerIdleCpuPercent: {
    measure: "nats-server idle CPU at N",
    unit: "% of a core",
    target: 5,
  },
  agentCpuMicrosPerApply: { measure: "agent CPU per apply", unit: "µs", target: 200 },
  natsServerCpuMicrosPerApply: { measure: "nats-server CPU per apply", unit: "µs", target: 100 },
  fanOutP99Ms: { measure: "publish + activate → N acked, p99", unit: "ms", target: 2_500 },
  oneAgentP50Ms: { measure: "N = 1: publish + activate → acked, p50", unit: "ms", target: 5 },
  stagesOverheadMs: { measure: "rollout: stages overhead, total", unit: "ms", target: 3_000 },
  coordinatorCpuMsPerStep: {
    measure: "rollout: coordinator CPU per step, max (with the follows, not the check threads)",
    unit: "ms",
    target: 50,
  },
  coordinatorStepOwnCpuMs: {
    measure: "rollout: coordinator CPU per step, p50, follows left out",
    unit: "ms",
    target: 50,
  },
  stormReconciledMs: {
    measure: "storm: all reconnected and reconciled",
    unit: "ms",
    target: 30_000,
  },
  stormSaturatedSeconds: {
    measure: "storm: seconds nats-server saturated",
    unit: "s",
    target: 5,
  },
  stormRepeatedApplies: { measure: "storm: applies repeated", unit: "applies", target: 0 },
} as const satisfies Record<string, Target>;

/** What a per-second CPU series says about saturation. */
export interface Saturation {
  /** The busiest second, % of one core. */
  maxPercent: number;
  /** Seconds at or over the threshold, in all. */
  saturatedSeconds: number;
  /** The longest run of consecutive saturated seconds. */
  longestRunSeconds: number;
}

/**
 * Reads per-second CPU samples (% of one core each) as saturation: seconds at or over
 * `thresholdPercent`, and the longest run of them.
 *
 * @example
 * ```ts
 * saturation([20, 95, 99, 40, 96], 90); // { maxPercent: 99, saturatedSeconds: 3, longestRunSeconds: 2 }
 * ```
 */
export function saturation(samples: readonly number[], thresholdPercent: number): Saturation {
  if (!(thresholdPercent > 0)) {
    throw new RangeError(
      `Cannot read saturation with a threshold of ${thresholdPercent} %: give a positive percent`,
    );
  }
  let saturatedSeconds = 0;
  let run = 0;
  let longestRunSeconds = 0;
  let maxPercent = 0;
  for (const s of samples) {
    maxPercent = Math.max(maxPercent, s);
    if (s >= thresholdPercent) {
      saturatedSeconds++;
      run++;
      longestRunSeconds = Math.max(longestRunSeconds, run);
    } else run = 0;
  }
  return { maxPercent, saturatedSeconds, longestRunSeconds };
}

/**
 * Per-second CPU in % of one core from cumulative CPU readings (µs) taken at `atMs`
 * (monotonic ms): each interval's CPU over its length.
 *
 * @example
 * ```ts
 * cpuPercentSeries([0, 500_000], [0, 1_000]); // [50]
 * ```
 */
export function cpuPercentSeries(cpuMicros: readonly number[], atMs: readonly number[]): number[] {
  if (cpuMicros.length !== atMs.length) {
    throw new RangeError(
      `Cannot pair ${cpuMicros.length} CPU readings with ${atMs.length} times: give one time each`,
    );
  }
  const out: number[] = [];
  for (let i = 1; i < cpuMicros.length; i++) {
    const ms = atMs[i]! - atMs[i - 1]!;
    out.push(ms > 0 ? +(((cpuMicros[i]! - cpuMicros[i - 1]!) / (ms * 1000)) * 100).toFixed(1) : 0);
  }
  return out;
}

/**
 * The overhead of each stage of a rollout: from the moment its gates could first be met
 * (`gatesMetAt[k]`, the arrival of the ack that completed the stage's share) to the next
 * pointer the coordinator wrote (`nextPointerAt[k]`: the next stage's, or for the last
 * stage the one that settles the rollout). Wall-clock ms in; ms out, NaN where either is
 * missing.
 *
 * @example
 * ```ts
 * stageOverheads([1_000, 2_000], [1_400, 2_700]); // [400, 700]
 * ```
 */
export function stageOverheads(
  gatesMetAt: readonly (number | undefined)[],
  nextPointerAt: readonly (number | undefined)[],
): number[] {
  return gatesMetAt.map((met, k) => {
    const next = nextPointerAt[k];
    return met === undefined || next === undefined ? NaN : next - met;
  });
}

/**
 * When each stage's gates could first be met: the arrival of the applied ack that made its
 * share complete (`sizes[k]` distinct agents, `arrivals` sorted ascending, wall ms), or the
 * stage's own pointer notice when its share had applied before it (a share that does not
 * grow: 1 % and 10 % of 1 agent are the same agent). Undefined where the share never
 * completed.
 *
 * @example
 * ```ts
 * gatesMetAt([100, 200, 300], [1, 3], [50, 250]); // [100, 300]
 * ```
 */
export function gatesMetAt(
  arrivals: readonly number[],
  sizes: readonly number[],
  stageNoticeAt: readonly (number | undefined)[],
): (number | undefined)[] {
  return sizes.map((size, k) => {
    const complete = arrivals[size - 1];
    const notice = stageNoticeAt[k];
    if (complete === undefined || notice === undefined) return complete;
    return Math.max(complete, notice);
  });
}

/**
 * The exact share a stage of `percent` takes of `members` agents (as core/share.ts
 * chooses it): `ceil(percent × members / 100)`, at least one, at most all.
 *
 * @example
 * ```ts
 * shareSize(1, 1_000); // 10
 * ```
 */
export function shareSize(percent: number, members: number): number {
  if (percent >= 100) return members;
  return Math.min(members, Math.max(1, Math.ceil((percent * members) / 100)));
}

/** Each step's CPU split in ms: all of it, the follows' part, and the step's own. */
export interface StepCpuSplit {
  totalMs: number[];
  followMs: number[];
  ownMs: number[];
}

/**
 * Splits each step's CPU (`cpuMicros`, `process.cpuUsage()` around the step, less the ack
 * check threads' `ackCheckMicros` during it) into what the follows' callbacks took during it
 * (`followMs`, counted by the coordinator) and the step's own: the difference, never below 0 (the follows' count is wall time inside a
 * synchronous callback, and a preempted callback counts more than its CPU).
 *
 * @example
 * ```ts
 * stepCpuSplit([{ cpuMicros: 30_000, followMs: 12 }]); // { totalMs: [30], followMs: [12], ownMs: [18] }
 * ```
 */
export function stepCpuSplit(
  steps: readonly { cpuMicros: number; followMs: number; ackCheckMicros?: number }[],
): StepCpuSplit {
  const out: StepCpuSplit = { totalMs: [], followMs: [], ownMs: [] };
  for (const s of steps) {
    const checks = s.ackCheckMicros ?? 0;
    if (!(s.cpuMicros >= 0 && s.followMs >= 0 && checks >= 0)) {
      throw new RangeError(
        `Cannot split a step of ${s.cpuMicros} µs CPU with ${s.followMs} ms in follows and ` +
          `${checks} µs of ack checks: give what the coordinator counted (each 0 or more)`,
      );
    }
    // The ack check threads run beside the step: their CPU is told apart, not in it.
    const total = Math.max(0, s.cpuMicros - checks) / 1000;
    out.totalMs.push(total);
    out.followMs.push(s.followMs);
    out.ownMs.push(Math.max(0, total - s.followMs));
  }
  return out;
}
