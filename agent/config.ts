/**
 * The agent's configuration file (`agent.json`), parsed once into a resolved config in
 * which every field is set.
 *
 * @module
 */
import { z } from "zod";
import { ConfigName, SimpleName } from "@atlas/core";
import { dirname, isAbsolute, resolve } from "node:path";

const Command = z.union([z.string().min(1), z.array(z.string()).min(1)]);

/** Longest `reloadSplayMs` accepted: a typo of a few zeros should not hold a reload for hours. */
export const MAX_RELOAD_SPLAY_MS = 600_000;

/** One config the agent keeps on disk. Unknown keys are refused (a misspelt `reload`). */
export const ManagedConfig = z.strictObject({
  /** Where the file is written. */
  path: z.string().min(1),
  /**
   * Command run on the candidate before it replaces the file, like confd's `check_cmd`:
   * `{path}` in it (string or argv) is the candidate's path, also in `ATLAS_CANDIDATE`.
   * The candidate is in the file's directory. A failure leaves the file untouched, runs
   * no reload, and acks `rejected` with the command's output.
   */
  verify: Command.optional(),
  /** Command run after the file is replaced; a failure restores the previous file. */
  reload: Command.optional(),
  /** Command run after reload; a failure counts like a failed reload. */
  check: Command.optional(),
  /**
   * Milliseconds of random delay, in [0, reloadSplayMs), before the file is replaced and
   * `reload` runs, so a region does not reload every process at once. @default 0
   */
  reloadSplayMs: z.number().int().min(0).max(MAX_RELOAD_SPLAY_MS).default(0),
  /** File mode. @default 0o644 */
  mode: z.number().int().min(0).max(0o777).default(0o644),
});
export type ManagedConfig = z.infer<typeof ManagedConfig>;

/** `agent.json` as written by an operator. Unknown keys are refused. */
export const AgentConfigFile = z.strictObject({
  id: SimpleName,
  region: SimpleName,
  /** NATS URL(s) of the agent's region: a string (comma-separated) or a list. */
  nats: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /**
   * TLS towards NATS: `caFile` is the CA that signs the servers' certificates (the agent
   * verifies them); `certFile` and `keyFile`, together, for servers that require mutual TLS.
   */
  tls: z.strictObject({
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  }).refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
    message: "certFile and keyFile go together: give both (mutual TLS) or neither",
  }).optional(),
  /** Directory of the agent's own state (applied versions and unsent acks, blob cache). */
  stateDir: z.string().min(1),
  /** Path of the trusted keys file (`GET /v1/keys`). */
  trustedKeys: z.string().min(1),
  /**
   * Path of the agent's NATS `.creds` file (`atlas agents enroll <region> <id> --out
   * agent.creds`): required by a NATS with Atlas auth, which refuses anonymous clients. Its
   * nkey user seed is also the agent's identity, which signs every ack (only signed acks of
   * an enrolled agent count in gates and status).
   */
  credentials: z.string().min(1).optional(),
  configs: z.record(ConfigName, ManagedConfig),
  labels: z.record(z.string(), z.string()).default({}),
  /**
   * Seconds between the agent's alive pings (core NATS `atlas.alive.<region>.<agent>`,
   * nothing stored; agent/alive.ts). The coordinator counts a silent agent as gone after
   * three missed ones plus 5 s (`agentIsStale`, core/liveness.ts): 185 s by default. Lower
   * it where a host that dies must leave a rollout's gates sooner (30 s: 95 s); each ping
   * cost nats-server ~150 µs of CPU here (1 000 idle agents: 6.2 µs/s per agent at 60 s,
   * 8.3 at 30 s). @default 60
   */
  aliveSeconds: z.number().positive().default(60),
  /**
   * Seconds between keep-alive writes of the agent's record (what it manages and runs; it
   * is also written soon after every apply, refusal and healed drift). Liveness comes from
   * the alive pings: this keep-alive only keeps the record from looking abandoned where no
   * coordinator hears pings (gone by record age after three missed plus 5 s). Each is a
   * JetStream write (~0.3–0.5 ms of server CPU). @default 600
   */
  heartbeatSeconds: z.number().positive().default(600),
  /**
   * Seconds between full reconciles (a read of every managed config's stored pointer):
   * the safety net when both a notice and the region beacon that would reveal it are lost,
   * or no coordinator runs. Jittered ±20 %. @default 300
   */
  reconcileSeconds: z.number().positive().default(300),
  /**
   * Seconds between local drift checks when `watchFiles` is off: each managed file whose
   * stamp moved is hashed and, when one differs from the applied version (a hand edit), the
   * agent reconciles. No network traffic. Either way, a drift that stays (the same bytes on
   * disk, a heal refused) starts a reconcile again only this often. @default 30
   */
  driftCheckSeconds: z.number().positive().default(30),
  /**
   * Spread of the reconciles that many agents would start together: after a reconnect,
   * and after a region beacon shows a missed pointer, each agent waits a random delay in
   * [0, reconcileSplaySeconds) first, so 10 000 agents do not read in the same second.
   * 0 reconciles at once. @default 10
   */
  reconcileSplaySeconds: z.number().min(0).max(600).default(10),
  /**
   * Random extra milliseconds, in [0, reconnectJitterMs), before each reconnect attempt
   * (added to a 1 s wait), so agents cut off together do not reconnect together. The
   * region's beacon widens the window to what the region's size needs (agents / the
   * coordinator's `--reconnect-rate`, at most 60 s; core/reconnect.ts), and the reconcile
   * after a reconnect then waits only what `reconcileSplaySeconds` adds beyond it.
   * @default 2000
   */
  reconnectJitterMs: z.number().int().min(0).max(600_000).default(2_000),
  /** Seconds a reload or check command may take. @default 30 */
  commandTimeoutSeconds: z.number().positive().default(30),
  /** Blobs kept in the local cache. @default 32 */
  cacheEntries: z.number().int().positive().default(32),
  /**
   * `host:port` of the local HTTP API that serves the applied configs to the host's
   * applications (`GET /configs/{name}`); off when absent. Keep it on 127.0.0.1.
   */
  http: z.string().regex(/^(\[[^\]]+\]|[^:\s]+):[0-9]{1,5}$/, {
    message: "must be host:port, e.g. 127.0.0.1:2772",
  }).optional(),
  /**
   * Look at the managed files every `watchIntervalMs`, so a hand edit is restored within
   * about that long; off, every `driftCheckSeconds`. A look is a `stat` of each file (about
   * 3 µs); a file is hashed again only when its stamp moved. A poll rather than inotify:
   * the events of the agent's own writes (temp file, writes, rename) cost 100–340 µs of
   * CPU per apply, as much as the rest of the apply (`deno task bench:apply --watch-files`),
   * and each watcher took one of the 128 inotify instances a user has. @default true
   */
  watchFiles: z.boolean().default(true),
  /** Milliseconds between looks at the managed files with `watchFiles` on. @default 1000 */
  watchIntervalMs: z.number().int().min(100).max(60_000).default(1_000),
});
export type AgentConfig = z.infer<typeof AgentConfigFile>;

/**
 * Reads and validates `agent.json`; relative paths in it are resolved against the file's
 * directory.
 */
export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (cause) {
    throw new Error(`Cannot read agent config ${path}: ${(cause as Error).message}`, { cause });
  }
  const parsed = AgentConfigFile.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const where = `${i.path.join(".") || "(root)"}: ${i.message}`;
      if (i.code !== "unrecognized_keys") return where;
      const known = Object.keys(i.path.length === 0 ? AgentConfigFile.shape : ManagedConfig.shape);
      return `${where} (known keys: ${known.join(", ")})`;
    });
    throw new Error(`Invalid agent config ${path}:\n  ${issues.join("\n  ")}`);
  }
  const base = dirname(resolve(path));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const cfg = parsed.data;
  return {
    ...cfg,
    stateDir: abs(cfg.stateDir),
    trustedKeys: abs(cfg.trustedKeys),
    ...(cfg.tls
      ? {
        tls: {
          ...(cfg.tls.caFile ? { caFile: abs(cfg.tls.caFile) } : {}),
          ...(cfg.tls.certFile ? { certFile: abs(cfg.tls.certFile) } : {}),
          ...(cfg.tls.keyFile ? { keyFile: abs(cfg.tls.keyFile) } : {}),
        },
      }
      : {}),
    ...(cfg.credentials === undefined ? {} : { credentials: abs(cfg.credentials) }),
    configs: Object.fromEntries(
      Object.entries(cfg.configs).map(([name, c]) => [name, { ...c, path: abs(c.path) }]),
    ),
  };
}
