/**
 * Helpers for agent tests: a temp directory laid out like a real agent's, and an
 * in-process agent whose log is printed if the test fails.
 *
 * @module
 */
import {
  generateSigningKey,
  Signer,
  type TrustedKey,
  Verifier,
  type VersionRecord,
} from "@atlas/core";
import {
  activateVersion,
  credsFor,
  type NatsTestContext,
  storeVersion,
  tempDir,
  waitFor,
} from "@atlas/testkit";
import { Agent } from "./agent.ts";
import { type AgentConfig, AgentConfigFile, type ManagedConfig } from "./config.ts";
import type { z } from "zod";

/** The control plane's key in agent tests. */
export const signer: Signer = new Signer(generateSigningKey());

/** Options of {@linkcode makeAgentConfig}. */
export interface TestAgentOptions {
  id?: string;
  region?: string;
  /** Managed configs by name; `path` defaults to `<temp dir>/files/<name>.json`. */
  configs?: Record<string, Partial<z.input<typeof ManagedConfig>>>;
  reconcileSeconds?: number;
  labels?: Record<string, string>;
}

/** An agent config under a fresh temp dir, trusting {@linkcode signer}. */
export async function makeAgentConfig(
  urls: string[],
  options: TestAgentOptions = {},
): Promise<AgentConfig> {
  const dir = await tempDir({ prefix: "atlas-agent-test-" });
  const trustedKeys = `${dir}/trusted-keys.json`;
  await Deno.writeTextFile(trustedKeys, JSON.stringify({ keys: [signer.trustedKey] }));
  const configs = options.configs ?? { web: {} };
  const id = options.id ?? "a1";
  const region = options.region ?? "us-east";
  // The agent's own credentials, in a file as on a host (process tests write the config).
  const creds = await credsFor(urls, { kind: "agent", region, agent: id });
  const credentials = `${dir}/agent.creds`;
  if (creds) await Deno.writeTextFile(credentials, creds, { mode: 0o600 });
  return AgentConfigFile.parse({
    id,
    region,
    nats: urls,
    ...(creds ? { credentials } : {}),
    stateDir: `${dir}/state`,
    trustedKeys,
    reconcileSeconds: options.reconcileSeconds ?? 3600,
    labels: options.labels ?? {},
    configs: Object.fromEntries(
      Object.entries(configs).map((
        [name, c],
      ) => [name, { path: `${dir}/files/${name}.json`, ...c }]),
    ),
  });
}

/**
 * Starts an in-process agent, connected and reconciled, whose log lines are printed if
 * the test fails. It trusts {@linkcode signer} and `alsoTrusted`.
 */
export async function startTestAgent(
  ctx: NatsTestContext,
  config: AgentConfig,
  alsoTrusted: readonly TrustedKey[] = [],
): Promise<Agent> {
  const lines: string[] = [];
  const agent = await Agent.start(config, {
    verifier: new Verifier([signer.trustedKey, ...alsoTrusted]),
    log: (l) => lines.push(l),
  });
  ctx.addLog({
    name: `agent ${config.id}`,
    logTail: (n = 60) => Promise.resolve(lines.slice(-n).join("\n")),
  });
  await agent.whenConnected();
  return agent;
}

/** Path of the file of `config` managed by the agent. */
export function fileOf(config: AgentConfig, name = "web"): string {
  return config.configs[name]!.path;
}

/** What {@linkcode agentOnV1} sets up. */
export interface OnV1 extends AsyncDisposable {
  cfg: AgentConfig;
  agent: Agent;
  /** Version 1 of `web`, content `{"v":1}`, active in us-east and applied. */
  v1: VersionRecord;
}

/** A connected agent in us-east that has applied version 1 of `web`. */
export async function agentOnV1(ctx: NatsTestContext): Promise<OnV1> {
  const cfg = await makeAgentConfig(ctx.urls);
  const agent = await startTestAgent(ctx, cfg);
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
  await waitFor("v1 applied", () => agent.stats.applies === 1);
  return { cfg, agent, v1, [Symbol.asyncDispose]: () => agent.close() };
}
