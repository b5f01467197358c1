/**
 * The rollout commands of the `atlas` CLI: `rollout start|list|show|watch|pause|resume|
 * abort|promote` and `alerts [resolve]`.
 *
 * @module
 */
import { CliError, CliErrorCode } from "./errors.ts";
import { enc, type Flags, positiveInt, regionsFlag, requireArg, type Run } from "./commands.ts";
import { table, when } from "./format.ts";
import { withQuery } from "./client.ts";
import {
  AlertList,
  AlertRecord,
  isFinal,
  type RegionWait,
  RolloutList,
  RolloutState,
  RolloutView,
  StrategyName,
} from "./schemas.ts";

/** How often `rollout watch` polls. */
export const WATCH_INTERVAL_MS = 500;

/** Strategy fields each CLI flag sets, and the strategies it applies to. */
const STRATEGY_FLAGS = {
  "canary-percent": { opt: "canaryPercent", field: "canaryPercent", strategies: ["canary"] },
  steps: { opt: "steps", field: "steps", strategies: ["linear"] },
  bake: { opt: "bake", field: "bakeSeconds", strategies: ["canary", "linear", "exponential"] },
} as const;

function _number(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) {
    throw new CliError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A metric gate as the API takes it. */
export interface MetricGateBody {
  query: string;
  max?: number;
  min?: number;
  forSeconds?: number;
}

const GATE_BOUND =
  /^\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(?:\s+for\s+(\d+(?:\.\d+)?)\s*(s|m)?)?\s*$/i;
/^(.+?)\s*(<=|>=)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(?:\s+for\s+(\d+(?:\.\d+)?)\s*(s|m)?)?\s*$/i;

/**
 * `--gate-metric` text as a metric gate: `<query> <= <max>` or `<query> >= <min>`, then
 * optionally `for <n>s` (or `<n>m`); the last `<=`/`>=` followed by a number is the bound.
 *
 * @example
 * ```ts
 * parseMetricGate("sum(rate(errors[1m])) <= 0.5 for 30s");
 * // { query: "sum(rate(errors[1m]))", max: 0.5, forSeconds: 30 }
 * ```
 */
export function parseMetricGate(text: string): MetricGateBody {
  // Greedy on the query: the bound is the last comparison of the text.
  const m = /^(.+)(<=|>=)(.*)$/s.exec(text);
  const tail = m && GATE_BOUND.exec(m[3]!);
  const query = m?.[1]?.trim();
  if (!m || !tail || !query) {
    throw new CliError(
      `--gate-metric must read "<query> <= <max>" or "<query> >= <min>", optionally ` +
        `followed by "for <n>s", got ${JSON.stringify(text)}: for example ` +
        `--gate-metric 'sum(rate(app_errors_total{region="$region"}[1m])) <= 0.5 for 30s'`,
    );
  }
  const bound = Number(tail[1]);
  const forSeconds = tail[2] === undefined
    ? undefined
    : Number(tail[2]) * (tail[3]?.toLowerCase() === "m" ? 60 : 1);
  return {
    query,
    ...(m[2] === "<=" ? { max: bound } : { min: bound }),
    ...(forSeconds !== undefined ? { forSeconds } : {}),
  };
}

function _startBody(flags: Flags, version: number): Record<string, unknown> {
  const name = flags.strategy ?? "canary";
  const parsed = StrategyName.safeParse(name);
  if (!parsed.success) {
    throw new CliError(
      `Unknown strategy ${JSON.stringify(name)}: use one of ${StrategyName.options.join(", ")}`,
    );
  }
  const strategy: Record<string, unknown> = { name };
  for (const [flag, { opt, field, strategies }] of Object.entries(STRATEGY_FLAGS)) {
    const text = flags[opt];
    if (text === undefined) continue;
    if (!(strategies as readonly string[]).includes(name)) {
      throw new CliError(
        `--${flag} does not apply to the ${name} strategy (only to ${strategies.join(", ")})`,
      );
    }
    strategy[field] = _number(flag, text);
  }
  const ratio = flags.maxFailureRatio;
  const gates = {
    ...(ratio !== undefined ? { maxFailureRatio: _number("max-failure-ratio", ratio) } : {}),
    ...(flags.gateMetric?.length ? { metrics: flags.gateMetric.map(parseMetricGate) } : {}),
  };
  return {
    version,
    strategy,
    ...regionsFlag(flags),
    ...(Object.keys(gates).length ? { gates } : {}),
    ...(flags.preflight ? { preflight: true } : {}),
    ...(flags.allowNoCoordinator ? { allowNoCoordinator: true } : {}),
  };
}

function _stageOf(r: Pick<RolloutView, "stage" | "stages">): string {
  return `${Math.min(r.stage + 1, r.stages.length)}/${r.stages.length}`;
}

/**
 * A text progress bar of `done` out of `total`, ten characters wide.
 *
 * @example
 * ```ts
 * progressBar(5, 10); // "[#####.....] 5/10"
 * ```
 */
export function progressBar(done: number, total: number, width = 10): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
}

/** What a region waits for, in one line. */
export function waitLine(w: RegionWait): string {
  return `waits for ${w.for}: ${w.detail}`;
}

/**
 * The `rollout watch` display: a header, then one line per region, and under each region
 * of the current stage not done yet what it waits for.
 */
export function progressLines(
  r: Pick<RolloutView, "id" | "config" | "version" | "state" | "stage" | "stages" | "regions"> & {
    waiting?: RegionWait[];
  },
): string[] {
  const regions = Object.entries(r.regions).sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...regions.map(([name]) => name.length));
  const preflight = r.stages[r.stage]?.preflight === true && !isFinal(r.state);
  return [
    `${r.id}  ${r.config} v${r.version}  ${r.state}  stage ${_stageOf(r)}` +
    (preflight ? " (preflight)" : ""),
    ...regions.flatMap(([name, p]) => {
      const wait = r.waiting?.find((w) => w.region === name);
      return [
        [
          `  ${name.padEnd(width)}  ${progressBar(preflight ? p.verified : p.applied, p.targeted)}`,
          p.rejected ? `rejected ${p.rejected}` : "",
          p.failed ? `failed ${p.failed}` : "",
          p.pending ? `pending ${p.pending}` : "",
        ].filter(Boolean).join("  "),
        ...(wait ? [`  ${" ".repeat(width)}  ${waitLine(wait)}`] : []),
      ];
    }),
  ];
}

function _describe(r: RolloutView): string {
  return [
    `rollout ${r.id}: ${r.config} v${r.version}, ${r.state}, stage ${_stageOf(r)}` +
    (r.skipBakeStage !== undefined ? ` (bake of stage ${r.skipBakeStage + 1} skipped)` : ""),
    `created ${when(r.createdAt)} by ${r.createdBy}, updated ${when(r.updatedAt)}`,
    "",
    table(
      ["STAGE", "REGIONS", "PERCENT", "BAKE", "MAX FAILURE", "MIN ACKED", "ACK TIMEOUT"],
      r.stages.map((s, i) => [
        `${i === r.stage && !isFinal(r.state) ? ">" : " "}${i + 1}`,
        s.regions.join(",") + (s.preflight ? " (preflight)" : ""),
        `${s.percent}%`,
        `${s.bakeSeconds}s`,
        String(s.gates.maxFailureRatio),
        String(s.gates.minAckedRatio),
        `${s.gates.ackTimeoutSeconds}s`,
      ]),
    ),
    "",
    table(
      ["REGION", "PROGRESS", "REJECTED", "FAILED", "PENDING", "DONE STAGE"],
      Object.entries(r.regions).map(([name, p]) => [
        name,
        progressBar(p.applied, p.targeted),
        String(p.rejected),
        String(p.failed),
        String(p.pending),
        p.doneStage < 0 ? "-" : String(p.doneStage + 1),
      ]),
    ),
    ...r.stages.flatMap((s, i) =>
      (s.gates.metrics ?? []).map((g) =>
        `stage ${i + 1} metric gate: ${g.query} ` +
        (g.max !== undefined ? `<= ${g.max}` : `>= ${g.min}`) +
        (g.forSeconds ? ` for ${g.forSeconds}s` : "")
      )
    ),
    ...r.waiting.map((w) => `${w.region} ${waitLine(w)}`),
    "",
    table(
      ["AT", "FROM", "TO", "STAGE", "BY", "REASON"],
      r.transitions.map((t) => [when(t.at), t.from, t.to, String(t.stage + 1), t.by, t.reason]),
    ),
  ].join("\n");
}

async function _show(run: Run, r: RolloutView): Promise<void> {
  await run.print(run.flags.json ? JSON.stringify(r, null, 2) : _describe(r));
}

async function _list(run: Run): Promise<void> {
  const params = new URLSearchParams();
  if (run.flags.config) params.set("config", run.flags.config);
  if (run.flags.state) params.set("state", run.flags.state);
  const client = await run.client();
  const path = withQuery("/v1/rollouts", params);
  const { rollouts } = await client.json(RolloutList, "GET", path);
  if (run.flags.json) return await run.print(JSON.stringify({ rollouts }, null, 2));
  await run.print(table(
    ["ID", "CONFIG", "VERSION", "STATE", "STAGE", "CREATED", "BY"],
    rollouts.map((r) => [
      r.id,
      r.config,
      `v${r.version}`,
      r.state,
      _stageOf(r),
      when(r.createdAt),
      r.createdBy,
    ]),
  ));
}

/**
 * Polls a rollout until it ends, redrawing its progress in place on a terminal and
 * printing it again only when it changed otherwise. Succeeded returns; rolled back or
 * aborted is a {@linkcode CliError} (exit code 1) with the last transition's reason.
 */
async function _watch(run: Run, id: string): Promise<void> {
  const client = await run.client();
  const tty = run.io.isTerminal?.() ?? false;
  const encoder = new TextEncoder();
  let shown: string[] = [];
  while (true) {
    const r = await client.json(RolloutView, "GET", `/v1/rollouts/${enc(id)}`);
    const lines = progressLines(r);
    if (run.flags.json) {
      // One JSON document: the rollout as it ended (or the error).
      if (r.state === RolloutState.succeeded) await run.print(JSON.stringify(r, null, 2));
    } else if (tty) {
      const up = shown.length ? `\x1b[${shown.length}F\x1b[J` : "";
      await run.io.stdout(encoder.encode(up + lines.join("\n") + "\n"));
    } else if (lines.join("\n") !== shown.join("\n")) {
      await run.print(lines.join("\n"));
    }
    shown = lines;
    if (isFinal(r.state)) {
      if (r.state === RolloutState.succeeded) return;
      const last = r.transitions.at(-1);
      throw new CliError(
        `Rollout ${r.id} ended ${r.state}${last ? `: ${last.reason}` : ""}`,
        { code: CliErrorCode.failed },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS));
  }
}

const ACTIONS = { pause: "paused", resume: "resumed", abort: "aborted", promote: "promoted" };

async function _act(run: Run, action: keyof typeof ACTIONS): Promise<void> {
  const id = requireArg(run, 0, "rollout id");
  const body = run.flags.message !== undefined ? { reason: run.flags.message } : {};
  const client = await run.client();
  const r = await client.json(RolloutView, "POST", `/v1/rollouts/${enc(id)}/${action}`, body);
  if (run.flags.json) return await _show(run, r);
  await run.print(
    `${ACTIONS[action]} rollout ${r.id} (${r.config} v${r.version}): ${r.state}, stage ` +
      _stageOf(r) + (action === "promote" ? ", skipping the rest of its bake" : ""),
  );
}

/** The rollout commands by name (merged into the CLI's command table). */
export const ROLLOUT_COMMANDS: Record<string, (run: Run) => Promise<void>> = {
  async "rollout start"(run) {
    const config = requireArg(run, 0, "config name");
    const version = positiveInt(requireArg(run, 1, "version"), "version");
    const body = _startBody(run.flags, version);
    const client = await run.client();
    const r = await client.json(
      RolloutView,
      "POST",
      `/v1/configs/${enc(config)}/rollouts`,
      body,
    );
    if (run.flags.json) return await _show(run, r);
    await run.print(
      `started rollout ${r.id} of ${r.config} v${r.version} (${r.stages.length} stages)\n` +
        `follow it with \`deno task atlas rollout watch ${r.id}\``,
    );
  },
  "rollout list": _list,
  async "rollout show"(run) {
    const id = requireArg(run, 0, "rollout id");
    const client = await run.client();
    await _show(run, await client.json(RolloutView, "GET", `/v1/rollouts/${enc(id)}`));
  },
  "rollout watch": (run) => _watch(run, requireArg(run, 0, "rollout id")),
  "rollout pause": (run) => _act(run, "pause"),
  "rollout resume": (run) => _act(run, "resume"),
  "rollout abort": (run) => _act(run, "abort"),
  "rollout promote": (run) => _act(run, "promote"),

  async "alerts resolve"(run) {
    const id = requireArg(run, 0, "alert id");
    const body = run.flags.message !== undefined ? { reason: run.flags.message } : {};
    const client = await run.client();
    const a = await client.json(AlertRecord, "POST", `/v1/alerts/${enc(id)}/resolve`, body);
    if (run.flags.json) return await run.print(JSON.stringify(a, null, 2));
    await run.print(`resolved ${a.kind} alert ${a.id} (${a.region}): ${a.message}`);
  },

  async alerts(run) {
    const client = await run.client();
    const query = run.flags.all ? "?all=true" : "";
    const { alerts } = await client.json(AlertList, "GET", `/v1/alerts${query}`);
    if (run.flags.json) return await run.print(JSON.stringify({ alerts }, null, 2));
    await run.print(table(
      ["AT", "KIND", "REGION", "CONFIG", "ROLLOUT", "RESOLVED", "MESSAGE"],
      alerts.map((a) => [
        when(a.at),
        a.kind,
        a.region,
        a.config ?? "-",
        a.rolloutId ?? "-",
        a.resolvedAt ? when(a.resolvedAt) : "open",
        a.message,
      ]),
    ));
  },
};
