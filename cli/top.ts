/**
 * `atlas top <config>`: live propagation per region, refreshed until Ctrl-C (or for
 * `--iterations`): the version each region runs, how many live agents acked it, and the
 * percentiles of pointer `issuedAt` → ack as each agent measured it, the numbers
 * `atlas_propagation_seconds` counts.
 *
 * @module
 */
import { parseDuration } from "./active.ts";
import { enc, positiveInt, requireArg, type Run } from "./commands.ts";
import { table } from "./format.ts";
import { type ConfigStatus, ConfigStatus as ConfigStatusSchema } from "./schemas.ts";

/** The table of one refresh. */
export function topTable(status: ConfigStatus, now: number): string {
  const ms = (v: number | undefined) => (v === undefined ? "-" : `${Math.round(v)}`);
  return table(
    ["REGION", "ACTIVE", "SEQ", "AGE", "ACKED", "P50 MS", "P95 MS", "P99 MS", "MAX MS", "SKEW MS"],
    status.regions.map((r) => {
      const p = r.propagation ?? undefined;
      const age = r.pointer?.issuedAt
        ? `${Math.max(0, Math.round((now - Date.parse(r.pointer.issuedAt)) / 1000))}s`
        : "-";
      return [
        r.region,
        r.pointer ? `v${r.pointer.version}` : "-",
        r.pointer ? String(r.pointer.seq) : "-",
        age,
        `${p?.acked ?? 0}/${r.agents.total}`,
        ms(p?.p50Ms),
        ms(p?.p95Ms),
        ms(p?.p99Ms),
        ms(p?.maxMs),
        ms(p?.skewMs),
      ];
    }),
  );
}

/** The handler of `atlas top`. */
export const TOP_COMMANDS: Record<string, (run: Run) => Promise<void>> = {
  async top(run) {
    const name = requireArg(run, 0, "config name");
    const intervalMs = parseDuration(run.flags.interval ?? "1s", "--interval");
    const iterations = run.flags.iterations === undefined
      ? Infinity
      : positiveInt(run.flags.iterations, "--iterations");
    const client = await run.client();
    for (let i = 0; i < iterations; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, intervalMs));
      const status = await client.json(
        ConfigStatusSchema,
        "GET",
        `/v1/configs/${enc(name)}/status`,
      );
      if (run.flags.json) {
        await run.print(JSON.stringify({
          at: new Date().toISOString(),
          regions: status.regions.map((r) => ({
            region: r.region,
            version: r.pointer?.version ?? null,
            seq: r.pointer?.seq ?? null,
            agents: r.agents.total,
            propagation: r.propagation ?? null,
          })),
        }));
      } else {
        await run.print(
          `${name} at ${new Date().toISOString()}\n${topTable(status, Date.now())}\n`,
        );
      }
    }
  },
};
