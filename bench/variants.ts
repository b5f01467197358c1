/**
 * `deno task bench:variants [--sizes 1,1000] [--rounds 10]`: the cost of the options that
 * change every message, measured in one run on this machine: the benchmark (bench/main.ts)
 * once per variant, then one table of each against the baseline. Variants: NATS without
 * authorization (the baseline), with it (the default), with TLS too, with agent metrics.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { table } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "1,1000" },
    rounds: { type: "string", default: "10" },
    only: { type: "string" },
  },
});

/**
 * A variant: its name and the flags bench/main.ts takes for it. The first is the baseline
 * the others are compared with: NATS without authorization.
 */
const VARIANTS: { name: string; flags: string[] }[] = [
  { name: "insecure", flags: ["--insecure"] },
  { name: "auth", flags: [] },
  { name: "auth+tls", flags: ["--tls"] },
  { name: "auth+metrics", flags: ["--metrics"] },
];

interface Result {
  latencyMs: { name: string; agents: number; p50: number; p99: number }[];
  idle: {
    n: number;
    agentCpuMicrosPerApply: number;
    natsServerCpuMicrosPerApply: number;
    controlCpuMicrosPerApply: number;
  }[];
}

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const chosen = values.only
  ? VARIANTS.filter((v) => values.only!.split(",").includes(v.name))
  : VARIANTS;
const dir = await Deno.makeTempDir({ prefix: "atlas-bench-variants-" });
const results = new Map<string, Result>();
for (const [i, v] of chosen.entries()) {
  console.error(`bench:variants: ${v.name} (${i + 1}/${chosen.length})`);
  const out = `${dir}/${v.name}.json`;
  const run = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "--quick",
      "--sizes",
      values.sizes!,
      "--rounds",
      values.rounds!,
      "--out",
      out,
      ...v.flags,
    ],
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!run.success) throw new Error(`the ${v.name} run failed (exit ${run.code})`);
  results.set(v.name, JSON.parse(await Deno.readTextFile(out)));
}
await Deno.remove(dir, { recursive: true });

const FAN_OUT = "publish + activate → N applied+acked";
const base = results.get(VARIANTS[0]!.name);
const pct = (x: number, b: number | undefined) =>
  b === undefined || b === 0 ? "" : `${x >= b ? "+" : ""}${(((x - b) / b) * 100).toFixed(1)} %`;
const rows: (string | number)[][] = [];
for (const [name, r] of results) {
  for (const cost of r.idle) {
    const lat = r.latencyMs.find((l) => l.name === FAN_OUT && l.agents === cost.n);
    const bLat = base?.latencyMs.find((l) => l.name === FAN_OUT && l.agents === cost.n);
    const bCost = base?.idle.find((c) => c.n === cost.n);
    rows.push([
      name,
      cost.n,
      lat ? lat.p50.toFixed(1) : "-",
      lat && bLat ? pct(lat.p50, bLat.p50) : "",
      cost.agentCpuMicrosPerApply,
      pct(cost.agentCpuMicrosPerApply, bCost?.agentCpuMicrosPerApply),
      cost.natsServerCpuMicrosPerApply,
      cost.controlCpuMicrosPerApply,
    ]);
  }
}
console.log(`\nAtlas variants — ${new Date().toISOString()} — rounds ${values.rounds}\n`);
console.log(table(
  [
    "variant",
    "N",
    "publish → N acked p50 ms",
    "vs insecure",
    "agent CPU µs/apply",
    "vs insecure",
    "nats-server CPU µs/apply",
    "control CPU µs/apply",
  ],
  rows,
));
