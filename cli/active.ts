/**
 * What is active, and making a version active: `atlas get`, `atlas activate` and
 * `atlas rollback`, whose `--wait` follows the agents' acks (through
 * `GET /v1/configs/{name}/status`) until every agent managing the config in the targeted
 * regions runs the target version.
 *
 * @module
 */
import { enc, positiveInt, regionsFlag, requireArg, type Run } from "./commands.ts";
import { CliError, CliErrorCode } from "./errors.ts";
import { table } from "./format.ts";
import { progressBar } from "./rollouts.ts";
import { ConfigStatus, MoveResult } from "./schemas.ts";

/** How often `--wait` polls the status. */
export const WAIT_INTERVAL_MS = 500;

/** How long `--wait` waits unless `--timeout` says otherwise. */
export const DEFAULT_WAIT_TIMEOUT_MS = 60_000;

/**
 * A duration flag in milliseconds: `90` and `90s` are seconds, also `500ms`, `2m`, `1h`.
 *
 * @example
 * ```ts
 * parseDuration("2m", "--timeout"); // 120000
 * ```
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0)) {
    throw new CliError(
      `${flag} must be a positive duration such as 90, 90s, 2m or 500ms, got ` +
        JSON.stringify(text),
    );
  }
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]!;
}

/** A region `--wait` waits for, and the version it must reach. */
export interface WaitTarget {
  region: string;
  version: number;
}

/** How far one region is from its target. */
export interface WaitProgress extends WaitTarget {
  /** The version the region's pointer is at (null: none). */
  pointer: number | null;
  /** Live agents managing the config there. */
  total: number;
  /** Of them, those running the target. */
  onTarget: string[];
  /** The others, with what they run (null: nothing applied yet). */
  missing: { agent: string; version: number | null }[];
  /** Agents that rejected the target. */
  rejected: { agent: string; reason: string }[];
  done: boolean;
}

/**
 * Each target's progress in `status`.
 *
 * @example
 * ```ts
 * waitProgress(status, [{ region: "us-east", version: 2 }])[0]?.done;
 * ```
 */
export function waitProgress(status: ConfigStatus, targets: readonly WaitTarget[]): WaitProgress[] {
  return targets.map((t) => {
    const r = status.regions.find((x) => x.region === t.region);
    const pointer = r?.pointer?.version ?? null;
    const atTarget = pointer === t.version;
    const agents = r?.agents;
    const onTarget = atTarget ? [...(agents?.onActive ?? [])] : [
      ...(agents?.onOther ?? []).filter((o) => o.version === t.version).map((o) => o.agent),
    ];
    const missing = atTarget ? [...(agents?.onOther ?? [])] : [
      ...(agents?.onActive ?? []).map((agent) => ({ agent, version: pointer })),
      ...(agents?.onOther ?? []).filter((o) => o.version !== t.version),
    ];
    const rejected = (agents?.rejects ?? []).filter((x) => x.version === t.version)
      .map((x) => ({ agent: x.agent, reason: x.reason || x.status }));
    const total = agents?.total ?? 0;
    return {
      ...t,
      pointer,
      total,
      onTarget,
      missing,
      rejected,
      done: atTarget && onTarget.length >= total && missing.length === 0,
    };
  });
}

function _missingText(p: WaitProgress): string {
  if (p.pointer !== p.version) {
    return `pointer at ${p.pointer === null ? "no version" : `v${p.pointer}`}, not v${p.version}`;
  }
  const who = p.missing.map((m) =>
    `${m.agent} on ${m.version === null ? "none" : `v${m.version}`}`
  );
  return `${p.onTarget.length}/${p.total} agents on v${p.version}` +
    (who.length ? ` (${who.join(", ")})` : "");
}

/** One line per region of `--wait`'s progress. */
export function waitLines(config: string, progress: readonly WaitProgress[]): string[] {
  const width = Math.max(...progress.map((p) => p.region.length));
  return progress.map((p) =>
    `  ${p.region.padEnd(width)}  ${progressBar(p.onTarget.length, p.total)}  ` +
    (p.done
      ? (p.total === 0 ? `v${p.version} (no agent manages ${config} here)` : `v${p.version}`)
      : `waiting: ${_missingText(p)}`)
  );
}

/**
 * Polls the status of `config` until every target is done, printing progress when it
 * changes (to stderr with `--json`, whose stdout is one JSON document). Fails at once
 * when an agent rejects its target, and after `timeoutMs` naming what is missing.
 */
async function _wait(
  run: Run,
  config: string,
  targets: readonly WaitTarget[],
  timeoutMs: number,
): Promise<WaitProgress[]> {
  const client = await run.client();
  const deadline = Date.now() + timeoutMs;
  let shown = "";
  while (true) {
    const status = await client.json(ConfigStatus, "GET", `/v1/configs/${enc(config)}/status`);
    const progress = waitProgress(status, targets);
    const text = waitLines(config, progress).join("\n");
    if (text !== shown) {
      if (run.flags.json) run.io.stderr(text);
      else await run.print(text);
      shown = text;
    }
    const rejected = progress.filter((p) => p.rejected.length);
    if (rejected.length) {
      throw new CliError(
        `Agents rejected ${config}: ${
          rejected.flatMap((p) =>
            p.rejected.map((x) => `${p.region}/${x.agent} rejected v${p.version}: ${x.reason}`)
          ).join("; ")
        } (\`atlas status ${config}\` shows every agent)`,
        { code: CliErrorCode.failed },
      );
    }
    if (progress.every((p) => p.done)) return progress;
    if (Date.now() >= deadline) {
      throw new CliError(
        `Timed out after ${timeoutMs / 1000}s waiting for ${config}: ${
          progress.filter((p) => !p.done).map((p) => `${p.region}: ${_missingText(p)}`)
            .join("; ")
        } (raise --timeout, or see \`atlas status ${config}\`)`,
        { code: CliErrorCode.timeout },
      );
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(WAIT_INTERVAL_MS, Math.max(0, deadline - Date.now())))
    );
  }
}

async function _moves(
  run: Run,
  config: string,
  action: "activate" | "rollback",
  body: unknown,
): Promise<void> {
  const timeoutMs = run.flags.timeout !== undefined
    ? parseDuration(run.flags.timeout, "--timeout")
    : DEFAULT_WAIT_TIMEOUT_MS;
  if (run.flags.timeout !== undefined && !run.flags.wait) {
    throw new CliError("--timeout applies to --wait only: add --wait, or leave --timeout out");
  }
  const client = await run.client();
  const res = await client.json(MoveResult, "POST", `/v1/configs/${enc(config)}/${action}`, body);
  if (!run.flags.json) {
    await run.print(table(
      ["REGION", "PREVIOUS", "ACTIVE", "SEQ", "CHANGED"],
      res.regions.map((r) => [
        r.region,
        r.previousVersion === null ? "-" : `v${r.previousVersion}`,
        `v${r.version}`,
        String(r.seq),
        r.changed ? "yes" : "no (already active)",
      ]),
    ));
    for (const d of res.deferred) {
      await run.print(
        `${d.region}: not reachable now (${d.reason}); handed to its coordinator as rollout ` +
          `${d.rolloutId}, applied once the region reads the primary again ` +
          `(\`deno task atlas rollout watch ${d.rolloutId}\`)`,
      );
    }
  }
  if (!run.flags.wait) {
    if (run.flags.json) await run.print(JSON.stringify(res, null, 2));
    return;
  }
  const targets = [
    ...res.regions.map((r) => ({ region: r.region, version: r.version })),
    ...res.deferred.map((d) => ({ region: d.region, version: res.version })),
  ];
  const progress = await _wait(run, config, targets, timeoutMs);
  if (run.flags.json) {
    return await run.print(
      JSON.stringify({ ...res, wait: { done: true, regions: progress } }, null, 2),
    );
  }
  await run.print(
    `every agent managing ${config} in ${targets.map((t) => t.region).join(", ")} runs its ` +
      "target version",
  );
}

const TEXT_TYPES = /^(text\/|application\/(json|yaml|x-yaml)\b)/;

/** The commands of this module by name. */
export const ACTIVE_COMMANDS: Record<string, (run: Run) => Promise<void>> = {
  async activate(run) {
    const name = requireArg(run, 0, "config name");
    const version = positiveInt(requireArg(run, 1, "version"), "version");
    await _moves(run, name, "activate", { version, ...regionsFlag(run.flags) });
  },

  async rollback(run) {
    const name = requireArg(run, 0, "config name");
    const body = {
      ...regionsFlag(run.flags),
      ...(run.flags.to !== undefined ? { toVersion: positiveInt(run.flags.to, "--to") } : {}),
    };
    await _moves(run, name, "rollback", body);
  },

  async get(run) {
    const name = requireArg(run, 0, "config name");
    const client = await run.client();
    const status = await client.json(ConfigStatus, "GET", `/v1/configs/${enc(name)}/status`);
    const wanted = run.flags.region;
    const regions = wanted === undefined
      ? status.regions
      : status.regions.filter((r) => r.region === wanted);
    if (wanted !== undefined && regions.length === 0) {
      throw new CliError(
        `Region ${JSON.stringify(wanted)} is not provisioned (known: ${
          status.regions.map((r) => r.region).join(", ") || "none"
        }): see \`atlas regions\``,
        { code: "not_found" },
      );
    }
    const rows = regions.map((r) => ({
      region: r.region,
      version: r.pointer?.version ?? null,
      seq: r.pointer?.seq ?? null,
      agents: { total: r.agents.total, onActive: r.agents.onActive.length },
    }));
    let content: { region: string; version: number; contentType: string; text: string } | undefined;
    const only = regions.length === 1 ? regions[0] : undefined;
    if (only?.pointer) {
      const res = await client.request(
        "GET",
        `/v1/configs/${enc(name)}/versions/${only.pointer.version}/content`,
      );
      const contentType = res.headers.get("Content-Type") ?? "";
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (TEXT_TYPES.test(contentType)) {
        content = {
          region: only.region,
          version: only.pointer.version,
          contentType,
          text: new TextDecoder().decode(bytes),
        };
      }
    }
    if (run.flags.json) {
      return await run.print(
        JSON.stringify({ config: name, regions: rows, ...(content ? { content } : {}) }, null, 2),
      );
    }
    const lines = [table(
      ["REGION", "ACTIVE", "SEQ", "AGENTS ON IT"],
      rows.map((r) => [
        r.region,
        r.version === null ? "-" : `v${r.version}`,
        r.seq === null ? "-" : String(r.seq),
        `${r.agents.onActive}/${r.agents.total}`,
      ]),
    )];
    if (content) {
      lines.push("", `# ${name} v${content.version} in ${content.region} (${content.contentType})`);
    }
    await run.print(lines.join("\n"));
    if (content) {
      await run.io.stdout(
        new TextEncoder().encode(content.text.endsWith("\n") ? content.text : content.text + "\n"),
      );
    }
  },
};
