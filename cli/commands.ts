/**
 * The commands of the `atlas` CLI: each turns its arguments into API calls and prints
 * an aligned table (or, with `--json`, the raw response).
 *
 * @module
 */
import { type ApiClient, type Env, withQuery } from "./client.ts";
import { CliError, CliErrorCode } from "./errors.ts";
import { short, table, when } from "./format.ts";
import {
  AgentList,
  AuditList,
  ConfigList,
  ConfigRecord,
  ConfigStatus,
  EndKeyResult,
  KeySet,
  type QuarantineView,
  RegionList,
  RegionRecord,
  ReleaseResult,
  RemoveResult,
  RotateResult,
  TrustedKeysFile,
  VersionList,
  VersionRecord,
} from "./schemas.ts";

/** Where the CLI reads and writes; injectable so tests run it in-process. */
export interface CliIo {
  env: Env;
  cwd: string;
  stdout(data: Uint8Array): Promise<void>;
  stderr(text: string): void;
  /** Whether stdout is a terminal (live redraws). @default false */
  isTerminal?(): boolean;
}

/** Options the commands understand, as commander names them (camelCase). */
export type Flags = {
  json?: boolean;
  url?: string;
  devDir?: string;
  contentType?: string;
  schema?: string;
  description?: string;
  message?: string;
  regions?: string;
  region?: string;
  to?: string;
  config?: string;
  limit?: string;
  strategy?: string;
  canaryPercent?: string;
  steps?: string;
  bake?: string;
  maxFailureRatio?: string;
  gateMetric?: string[];
  state?: string;
  all?: boolean;
  force?: boolean;
  preflight?: boolean;
  allowNoCoordinator?: boolean;
  cluster?: string;
  replicas?: string;
  wait?: boolean;
  timeout?: string;
  out?: string;
  dir?: string;
  resolverDir?: string;
  agent?: string;
  name?: string;
  role?: string;
  secretFile?: string;
  ttl?: string;
  at?: string;
  interval?: string;
  iterations?: string;
};

/** One run of a command. */
export interface Run {
  args: string[];
  flags: Flags;
  io: CliIo;
  print(text: string): Promise<void>;
  client(): Promise<ApiClient>;
  /** A file argument resolved against the caller's directory (`io.cwd`). */
  path(file: string): string;
}

/** Positional argument `index`, or a {@linkcode CliError} naming what is missing. */
export function requireArg(run: Run, index: number, what: string): string {
  const value = run.args[index];
  if (value === undefined) throw new CliError(`Missing ${what}: see \`atlas --help\``);
  return value;
}

/** `text` as a positive integer, or a {@linkcode CliError}. */
export function positiveInt(text: string, what: string): number {
  if (!/^[1-9][0-9]*$/.test(text)) {
    throw new CliError(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/**
 * `--regions a,b` as `{regions: ["a", "b"]}` (nothing when absent); an empty list is a
 * {@linkcode CliError}, not "every region".
 */
export function regionsFlag(flags: Flags): { regions?: string[] } {
  if (flags.regions === undefined) return {};
  const list = flags.regions.split(",").map((r) => r.trim()).filter(Boolean);
  if (list.length === 0) {
    throw new CliError(
      `--regions needs at least one region name, got ${JSON.stringify(flags.regions)}: ` +
        "name them (--regions us-east,eu-west), or leave --regions out to target every region",
    );
  }
  return { regions: list };
}

/** A name as one URL path segment. */
export const enc = (name: string): string => encodeURIComponent(name);

async function _readJsonFile(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new CliError(`Cannot read JSON from ${path}: ${(e as Error).message}`, {
      code: CliErrorCode.file,
    });
  }
}

/** What one quarantine fences the agent off: a config, or every config. */
function _quarantineOf(q: QuarantineView): string {
  return q.config ?? "every config";
}

/** Every command by name. */
export const COMMANDS: Record<string, (run: Run) => Promise<void>> = {
  async "configs create"(run) {
    const name = requireArg(run, 0, "config name");
    const body: Record<string, unknown> = {};
    if (run.flags.contentType) body.contentType = run.flags.contentType;
    if (run.flags.description !== undefined) body.description = run.flags.description;
    if (run.flags.schema) body.schema = await _readJsonFile(run.path(run.flags.schema));
    const client = await run.client();
    const res = await client.request("PUT", `/v1/configs/${enc(name)}`, body);
    const config = ConfigRecord.parse(await res.json());
    if (run.flags.json) return await run.print(JSON.stringify(config, null, 2));
    await run.print(
      `${res.status === 201 ? "created" : "updated"} config ${config.name} (${config.contentType})`,
    );
  },

  async configs(run) {
    const client = await run.client();
    const { configs } = await client.json(ConfigList, "GET", "/v1/configs");
    if (run.flags.json) return await run.print(JSON.stringify({ configs }, null, 2));
    await run.print(table(
      ["NAME", "TYPE", "LATEST", "SCHEMA", "UPDATED", "DESCRIPTION"],
      configs.map((c) => [
        c.name,
        c.contentType,
        c.latestVersion ? `v${c.latestVersion}` : "-",
        c.schema ? "yes" : "no",
        when(c.updatedAt),
        c.description,
      ]),
    ));
  },

  async publish(run) {
    const name = requireArg(run, 0, "config name");
    const file = requireArg(run, 1, "file to publish");
    let content: string;
    try {
      content = new TextDecoder("utf-8", { fatal: true }).decode(
        await Deno.readFile(run.path(file)),
      );
    } catch (e) {
      throw new CliError(
        `Cannot publish ${file}: ${(e as Error).message} (it must be UTF-8 text)`,
        { code: CliErrorCode.file },
      );
    }
    const body = {
      content,
      ...(run.flags.message !== undefined ? { message: run.flags.message } : {}),
    };
    const client = await run.client();
    const v = await client.json(VersionRecord, "POST", `/v1/configs/${enc(name)}/versions`, body);
    if (run.flags.json) return await run.print(JSON.stringify(v, null, 2));
    await run.print(
      `published ${v.config} v${v.version} (sha256 ${short(v.digest)}, ${v.size} bytes)`,
    );
  },

  async versions(run) {
    const name = requireArg(run, 0, "config name");
    const client = await run.client();
    const { versions } = await client.json(
      VersionList,
      "GET",
      `/v1/configs/${enc(name)}/versions`,
    );
    if (run.flags.json) return await run.print(JSON.stringify({ versions }, null, 2));
    await run.print(table(
      ["VERSION", "DIGEST", "SIZE", "AUTHOR", "CREATED", "MESSAGE"],
      versions.map((v) => [
        `v${v.version}`,
        short(v.digest),
        String(v.size),
        v.author,
        when(v.createdAt),
        v.message,
      ]),
    ));
  },

  async show(run) {
    const name = requireArg(run, 0, "config name");
    const version = positiveInt(requireArg(run, 1, "version"), "version");
    const client = await run.client();
    const res = await client.request(
      "GET",
      `/v1/configs/${enc(name)}/versions/${version}/content`,
    );
    await run.io.stdout(new Uint8Array(await res.arrayBuffer()));
  },

  async diff(run) {
    const name = requireArg(run, 0, "config name");
    const from = positiveInt(requireArg(run, 1, "from version"), "from");
    const to = positiveInt(requireArg(run, 2, "to version"), "to");
    const client = await run.client();
    const res = await client.request("GET", `/v1/configs/${enc(name)}/diff?from=${from}&to=${to}`);
    await run.io.stdout(new Uint8Array(await res.arrayBuffer()));
  },

  async status(run) {
    const name = requireArg(run, 0, "config name");
    const client = await run.client();
    const status = await client.json(ConfigStatus, "GET", `/v1/configs/${enc(name)}/status`);
    if (run.flags.json) return await run.print(JSON.stringify(status, null, 2));
    const lines = [table(
      [
        "REGION",
        "ACTIVE",
        "SEQ",
        "HISTORY",
        "AGENTS",
        "ON ACTIVE",
        "OTHER",
        "REJECTS",
        "GONE",
        "UNVERIFIED",
      ],
      status.regions.map((r) => [
        r.region,
        r.pointer ? `v${r.pointer.version}` : "-",
        r.pointer ? String(r.pointer.seq) : "-",
        r.pointer?.history.map((v) => `v${v}`).join(",") || "-",
        String(r.agents.total),
        String(r.agents.onActive.length),
        String(r.agents.onOther.length),
        String(r.agents.rejects.length),
        String(r.agents.gone.length),
        String(r.agents.unverified.length),
      ]),
    )];
    if (status.regions.some((r) => r.agents.gone.length)) {
      lines.push(
        "(GONE: agents of the config that said goodbye or stopped heartbeating, not counted; " +
          "`atlas agents remove <region> <id>` forgets one)",
      );
    }
    for (const r of status.regions) {
      for (const x of r.agents.unverified) {
        lines.push(`${r.region}/${x.agent}: unverified (${x.reason}), not counted`);
      }
      for (const x of r.agents.rejects) {
        lines.push(
          `${r.region}/${x.agent}: ${x.status} v${x.version}: ${x.reason || "(no reason)"}`,
        );
      }
    }
    await run.print(lines.join("\n"));
  },

  async "agents release"(run) {
    const region = requireArg(run, 0, "region");
    const id = requireArg(run, 1, "agent id");
    const config = run.flags.config;
    const client = await run.client();
    const res = await client.json(
      ReleaseResult,
      "POST",
      `/v1/agents/${enc(region)}/${enc(id)}/release`,
      config !== undefined ? { config } : {},
    );
    if (run.flags.json) return await run.print(JSON.stringify(res, null, 2));
    await run.print(
      res.released.map((q) =>
        `released ${region}/${id} from ${_quarantineOf(q)} (quarantined ${when(q.at)}: ` +
        `${q.reason})`
      ).join("\n"),
    );
  },

  async "agents remove"(run) {
    const region = requireArg(run, 0, "region");
    const id = requireArg(run, 1, "agent id");
    const query = run.flags.force ? "?force=true" : "";
    const client = await run.client();
    const res = await client.json(
      RemoveResult,
      "DELETE",
      `/v1/agents/${enc(region)}/${enc(id)}${query}`,
    );
    if (run.flags.json) return await run.print(JSON.stringify(res, null, 2));
    const quarantines = res.quarantine.length
      ? ` and ${res.quarantine.length} quarantine(s) (${
        res.quarantine.map(_quarantineOf).join(", ")
      })`
      : "";
    await run.print(
      `removed ${region}/${id}: ${
        res.heartbeat ? `heartbeat record (last beat ${when(res.heartbeatAt!)})` : "no heartbeat"
      }${quarantines}`,
    );
  },

  async agents(run) {
    const client = await run.client();
    const path = withQuery("/v1/agents", { region: run.flags.region });
    const { agents } = await client.json(AgentList, "GET", path);
    if (run.flags.json) return await run.print(JSON.stringify({ agents }, null, 2));
    await run.print(table(
      ["AGENT", "REGION", "HEARTBEAT", "STALE", "QUARANTINED", "CONFIGS"],
      agents.map((a) => [
        a.id,
        a.region,
        when(a.heartbeatAt),
        a.leftAt ? "LEFT" : a.stale ? "STALE" : "ok",
        // The reason can be a program's whole error output: the table shows its start;
        // `atlas agents --json` has it whole.
        a.quarantined.length
          ? a.quarantined.map((q) => `${_quarantineOf(q)}: ${_clip(q.reason, 60)}`).join("; ")
          : "no",
        Object.entries(a.configs).map(([name, s]) =>
          `${name}@${s.applied ? `v${s.applied.version}` : "-"}${s.drift ? " DRIFT" : ""}`
        ).join(", "),
      ]),
    ));
  },

  async audit(run) {
    const client = await run.client();
    const params = new URLSearchParams();
    if (run.flags.config) params.set("config", run.flags.config);
    if (run.flags.limit) params.set("limit", run.flags.limit);
    const { events } = await client.json(AuditList, "GET", withQuery("/v1/audit", params));
    if (run.flags.json) return await run.print(JSON.stringify({ events }, null, 2));
    await run.print(table(
      ["AT", "ACTOR", "ACTION", "CONFIG", "REGION", "VERSION", "TOKEN"],
      events.map((e) => [
        when(e.at),
        e.actor,
        e.action,
        e.config ?? "-",
        e.region ?? "-",
        e.version ? `v${e.version}` : "-",
        e.actorId ?? "-",
      ]),
    ));
  },

  async "regions add"(run) {
    const name = requireArg(run, 0, "region name");
    const body = {
      ...(run.flags.cluster ? { cluster: run.flags.cluster } : {}),
      ...(run.flags.replicas !== undefined
        ? { replicas: positiveInt(run.flags.replicas, "--replicas") }
        : {}),
    };
    const client = await run.client();
    const res = await client.request("PUT", `/v1/regions/${enc(name)}`, body);
    const region = RegionRecord.parse(await res.json());
    if (run.flags.json) return await run.print(JSON.stringify(region, null, 2));
    await run.print(`${res.status === 201 ? "added" : "already had"} region ${region.name}`);
  },

  async regions(run) {
    const client = await run.client();
    const { regions } = await client.json(RegionList, "GET", "/v1/regions");
    if (run.flags.json) return await run.print(JSON.stringify({ regions }, null, 2));
    await run.print(table(
      ["NAME", "CLUSTER", "CREATED"],
      regions.map((r) => [r.name, r.cluster ?? "-", when(r.createdAt)]),
    ));
  },

  async "keys generate"(run) {
    const file = requireArg(run, 0, "key file path");
    const path = run.path(file);
    // Loaded only here: the key format is the signing library's, and no other command
    // needs it.
    const { generateSigningKey } = await import("@atlas/core");
    const key = generateSigningKey();
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
    try {
      await Deno.writeTextFile(path, JSON.stringify(key, null, 2) + "\n", {
        createNew: true,
        mode: 0o600,
      });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      throw new CliError(
        `${file} already exists; refusing to overwrite a signing key: choose another path ` +
          "or move the old key away first",
        { code: CliErrorCode.conflict },
      );
    }
    await run.print(
      run.flags.json
        ? JSON.stringify({ file: path, keyId: key.keyId })
        : `wrote ${file}\n${key.keyId}`,
    );
  },

  async keys(run) {
    const client = await run.client();
    const keys = await client.json(TrustedKeysFile, "GET", "/v1/keys");
    await run.print(JSON.stringify(keys, null, 2));
  },

  async "keys list"(run) {
    const client = await run.client();
    const set = await client.json(KeySet, "GET", "/v1/keys/set");
    if (run.flags.json) return await run.print(JSON.stringify(set, null, 2));
    await run.print(`key set ${set.seq}\n${_keyTable(set)}`);
  },

  async "keys rotate"(run) {
    const client = await run.client();
    const res = await client.json(RotateResult, "POST", "/v1/keys/rotate");
    if (run.flags.json) return await run.print(JSON.stringify(res, null, 2));
    await run.print(
      `signing with ${res.keyId} (key set ${res.keySet.seq}); the previous key stays ` +
        `trusted until retired.\nCopy ${res.file} (on the control plane's host) into every ` +
        "coordinator's --key-dir, then `atlas keys retire <previous key>`.\n" +
        _keyTable(res.keySet),
    );
  },

  async "keys retire"(run) {
    await _endKey(run, "retire");
  },

  async "keys revoke"(run) {
    await _endKey(run, "revoke");
  },
};

async function _endKey(run: Run, verb: "retire" | "revoke"): Promise<void> {
  const keyId = requireArg(run, 0, "key id");
  const client = await run.client();
  const res = await client.json(EndKeyResult, "POST", `/v1/keys/${enc(keyId)}/${verb}`);
  if (run.flags.json) return await run.print(JSON.stringify(res, null, 2));
  const { versions, pointers } = res.resigned;
  await run.print(
    `${verb === "retire" ? "retired" : "revoked"} ${keyId} (key set ${res.keySet.seq})` +
      (verb === "retire"
        ? `; re-signed ${versions} version(s) and ${pointers} pointer(s) first`
        : "; nothing re-signed: what only it signed is refused by agents") +
      `\n${_keyTable(res.keySet)}`,
  );
}

function _keyTable(set: KeySet): string {
  return table(
    ["KEY", "STATUS", "SINCE", "SIGNING"],
    [...set.keys].reverse().map((k) => [
      k.keyId,
      k.status,
      when(k.since),
      k.keyId === set.signing ? "yes" : "",
    ]),
  );
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
function _clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
