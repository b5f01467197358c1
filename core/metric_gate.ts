/**
 * Gates on what the service sees: a PromQL query with a bound, judged during a stage's
 * bake (as AWS AppConfig judges CloudWatch alarms and Argo Rollouts its analysis runs).
 *
 * Invariant: a metric gate passes only on evidence. Every series the query returns must be
 * within the bound (`value <= max`, or `value >= min`); a series out of bound is a breach
 * once it has stayed out for `forSeconds` (0: at once). A query that fails, or returns no
 * series, is never a pass: the stage waits (its note says why) and, left so, stalls and
 * raises an alert. Write queries that always return a value (`… or vector(0)`).
 *
 * The query may name `$region` and `$config`; the coordinator substitutes its region and
 * the rollout's config, so one gate serves every region. No other `$word` is accepted.
 *
 * @module
 */
import { z } from "zod";

const PLACEHOLDERS = ["region", "config"] as const;

/** One metric gate of a stage. */
export const MetricGate = z.strictObject({
  /** Instant PromQL query, with `$region` / `$config` placeholders. */
  query: z.string().trim().min(1).max(2000),
  /** Breach when a series is above this. */
  max: z.number().finite().exactOptional(),
  /** Breach when a series is below this. */
  min: z.number().finite().exactOptional(),
  /** How long a series must stay out of bound before it counts as a breach (0: at once). */
  forSeconds: z.number().nonnegative().max(3600).default(0),
}).superRefine((g, ctx) => {
  if ((g.max === undefined) === (g.min === undefined)) {
    ctx.addIssue({
      code: "custom",
      message: "give exactly one of max or min: a metric gate bounds its query on one side",
    });
  }
  for (const m of g.query.matchAll(/\$([A-Za-z_]\w*)/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      ctx.addIssue({
        code: "custom",
        path: ["query"],
        message: `unknown placeholder $${m[1]} in the query: use $region or $config`,
      });
    }
  }
});
export type MetricGate = z.infer<typeof MetricGate>;

/**
 * The query of `gate` for one region and config, placeholders substituted.
 *
 * @example
 * ```ts
 * metricQuery({ query: 'rate(errors{region="$region"}[1m])', max: 1, forSeconds: 0 },
 *   { region: "us-east", config: "web" }); // 'rate(errors{region="us-east"}[1m])'
 * ```
 */
export function metricQuery(
  gate: Pick<MetricGate, "query">,
  vars: { region: string; config: string },
): string {
  return gate.query.replace(/\$(region|config)\b/g, (_, k: "region" | "config") => vars[k]);
}

/** One series of a query's result. */
export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

/** What asking the metrics source gave: the series, or why there are none. */
export type MetricReading =
  | { ok: true; samples: MetricSample[] }
  | { ok: false; error: string };

/** The verdict on one metric gate. */
export interface MetricVerdict {
  /**
   * pass: every series in bound; breach: out of bound for `forSeconds`; holding: out of
   * bound, not yet for long enough; unknown: the query failed or returned nothing.
   */
  status: "pass" | "breach" | "holding" | "unknown";
  /** When the query started to be out of bound (carry it to the next judgement). */
  outOfBoundSince?: number;
  /** The worst value seen (absent when unknown). */
  value?: number;
  /** The verdict in words, naming the query, its value and the bound. */
  note: string;
}

/**
 * Judges one metric gate from a reading at `now` (ms); `outOfBoundSince` is the previous
 * verdict's (undefined: it was in bound or unknown).
 *
 * @example
 * ```ts
 * const v = judgeMetricGate(gate, "sum(rate(errors[1m]))", reading, { now, outOfBoundSince });
 * if (v.status === "breach") rollBack(v.note);
 * ```
 */
export function judgeMetricGate(
  gate: MetricGate,
  query: string,
  reading: MetricReading,
  options: { now: number; outOfBoundSince?: number | undefined },
): MetricVerdict {
  const bound = gate.max !== undefined ? `<= ${gate.max}` : `>= ${gate.min}`;
  if (!reading.ok) {
    return { status: "unknown", note: `metric gate ${query}: query failed: ${reading.error}` };
  }
  const values = reading.samples.map((s) => s.value).filter((v) => !Number.isNaN(v));
  if (values.length === 0) {
    return {
      status: "unknown",
      note: `metric gate ${query}: no data (the query returned no series; ` +
        `add "or vector(0)" if none means healthy)`,
    };
  }
  const value = gate.max !== undefined ? Math.max(...values) : Math.min(...values);
  const out = gate.max !== undefined ? value > gate.max : value < gate.min!;
  if (!out) return { status: "pass", value, note: `${query} = ${value}, ${bound}` };
  const since = options.outOfBoundSince ?? options.now;
  const held = options.now - since;
  if (held >= gate.forSeconds * 1000) {
    return {
      status: "breach",
      outOfBoundSince: since,
      value,
      note: `${query} = ${value}, not ${bound}` +
        (gate.forSeconds ? ` for ${gate.forSeconds} s` : ""),
    };
  }
  return {
    status: "holding",
    outOfBoundSince: since,
    value,
    note: `${query} = ${value}, not ${bound} for ${Math.floor(held / 1000)} s of ` +
      `${gate.forSeconds} s`,
  };
}
