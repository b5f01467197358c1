/**
 * The agent's configuration file (`agent.json`), parsed once into a resolved config in
 * which every field is set.
 *
 * @module
 */
import { z } from "zod";
import { ConfigName, SimpleName } from "@atlas/nats";
import { dirname, isAbsolute, resolve } from "node:path";

const Command = z.union([z.string().min(1), z.array(z.string()).min(1)]);

/** One config the agent keeps on disk. */
export const ManagedConfig = z.object({
  /** Where the file is written. */
  path: z.string().min(1),
  /** Command run after the file is replaced; a failure restores the previous file. */
  reload: Command.optional(),
  /** Command run after reload; a failure counts like a failed reload. */
  check: Command.optional(),
  /** File mode. @default 0o644 */
  mode: z.number().int().min(0).max(0o777).default(0o644),
});
export type ManagedConfig = z.infer<typeof ManagedConfig>;

/** `agent.json` as written by an operator. */
export const AgentConfigFile = z.object({
  id: SimpleName,
  region: SimpleName,
  /** NATS URL(s) of the agent's region: a string (comma-separated) or a list. */
  nats: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Directory of the agent's own state (applied versions and unsent acks, blob cache). */
  stateDir: z.string().min(1),
  /** Path of the trusted keys file (`GET /v1/keys`). */
  trustedKeys: z.string().min(1),
  configs: z.record(ConfigName, ManagedConfig),
  labels: z.record(z.string(), z.string()).default({}),
  /** Seconds between heartbeats. @default 15 */
  heartbeatSeconds: z.number().positive().default(15),
  /** Seconds between reconciles with the stored pointers (safety net). @default 30 */
  reconcileSeconds: z.number().positive().default(30),
  /** Seconds a reload or check command may take. @default 30 */
  commandTimeoutSeconds: z.number().positive().default(30),
  /** Blobs kept in the local cache. @default 32 */
  cacheEntries: z.number().int().positive().default(32),
  /**
   * Watch the managed files so a hand edit is restored at once (one inotify instance per
   * agent; hosts running thousands of agents in one process turn it off). @default true
   */
  watchFiles: z.boolean().default(true),
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
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`Invalid agent config ${path}:\n  ${issues.join("\n  ")}`);
  }
  const base = dirname(resolve(path));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const cfg = parsed.data;
  return {
    ...cfg,
    stateDir: abs(cfg.stateDir),
    trustedKeys: abs(cfg.trustedKeys),
    configs: Object.fromEntries(
      Object.entries(cfg.configs).map(([name, c]) => [name, { ...c, path: abs(c.path) }]),
    ),
  };
}
