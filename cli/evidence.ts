/**
 * `atlas evidence <config> <version> [--at T] [--region R]`: the hosts that ran a version
 * at a time, proven by acks signed with each host's enrolled key.
 *
 * @module
 */
import { z } from "zod";
import { enc, positiveInt, requireArg, type Run } from "./commands.ts";
import { CliError } from "./errors.ts";
import { table } from "./format.ts";

/** Response of `GET /v1/configs/{name}/versions/{version}/evidence`. */
export const Evidence = z.looseObject({
  config: z.string(),
  version: z.number(),
  at: z.string(),
  hosts: z.array(z.looseObject({
    region: z.string(),
    agent: z.string(),
    seq: z.number(),
    appliedAt: z.string(),
    storedAt: z.string(),
    publicKey: z.string(),
  })),
  scanned: z.number(),
  unverified: z.number(),
  truncated: z.boolean(),
});

/** The handler of `atlas evidence`. */
export const EVIDENCE_COMMANDS: Record<string, (run: Run) => Promise<void>> = {
  async evidence(run) {
    const name = requireArg(run, 0, "config name");
    const version = positiveInt(requireArg(run, 1, "version"), "version");
    const query = new URLSearchParams();
    if (run.flags.at !== undefined) {
      const at = Date.parse(run.flags.at);
      if (Number.isNaN(at)) {
        throw new CliError(
          `Invalid --at ${JSON.stringify(run.flags.at)}: give a time such as ` +
            "2026-01-02T03:04:05Z (or 2026-01-02 for midnight UTC)",
        );
      }
      query.set("at", new Date(at).toISOString());
    }
    if (run.flags.region !== undefined) query.set("region", run.flags.region);
    const client = await run.client();
    const q = query.size ? `?${query}` : "";
    const e = await client.json(
      Evidence,
      "GET",
      `/v1/configs/${enc(name)}/versions/${version}/evidence${q}`,
    );
    if (run.flags.json) return await run.print(JSON.stringify(e, null, 2));
    const lines = [
      `${e.hosts.length} host(s) ran ${e.config} v${e.version} at ${e.at} ` +
      `(${e.scanned} acks read, ${e.unverified} unverified and ignored)`,
    ];
    if (e.hosts.length) {
      lines.push(table(
        ["REGION", "AGENT", "SEQ", "APPLIED AT", "STORED AT", "KEY"],
        e.hosts.map((h) => [
          h.region,
          h.agent,
          String(h.seq),
          h.appliedAt,
          h.storedAt,
          `${h.publicKey.slice(0, 12)}…`,
        ]),
      ));
    }
    if (e.truncated) lines.push("(the read stopped at its limit: hosts may be missing)");
    await run.print(lines.join("\n"));
  },
};
