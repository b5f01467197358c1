/**
 * What the container tests share: the skip (loud, with the reason) when no Docker engine
 * runs or the images are missing, one topology per test removed after it, the container
 * logs printed when it fails. API changes that retry through an election without ever being
 * made twice are `Topology.change` (an `Idempotency-Key` per change).
 *
 * @module
 */
import { acksOf, printLogsOnFailure, waitFor } from "@atlas/testkit";
import type { AtlasNats } from "@atlas/store";
import { dockerSkipReason } from "../docker/docker_engine.ts";
import { type AgentNode, startTopology, type Topology, type TopologyOptions } from "./topology.ts";

/** The images the topology runs (`deno task images`). */
export const IMAGES = ["atlas:local", "atlas-nats:local"];

const _unavailable = await dockerSkipReason(IMAGES);

/**
 * A test over its own topology; skipped, saying why, when containers cannot run here.
 *
 * @example
 * ```ts
 * containerTest("agents apply a version", {}, async (t) => { … });
 * ```
 */
export function containerTest(
  name: string,
  options: TopologyOptions,
  fn: (t: Topology, ctx: Deno.TestContext) => Promise<void>,
): void {
  if (_unavailable) {
    console.warn(`\x1b[33mSKIPPED container test "${name}": ${_unavailable}\x1b[0m`);
  }
  Deno.test({
    name,
    ignore: _unavailable !== undefined,
    fn: async (ctx) => {
      const t0 = performance.now();
      await using t = await startTopology(options);
      console.log(`  topology ${t.id} up in ${secondsSince(t0)}`);
      await printLogsOnFailure(
        () => [{ name: `topology ${t.id}`, logTail: (n) => t.logTail(n) }],
        () => fn(t, ctx),
      );
    },
  });
}

/** `"1.2 s"` since `t0` (a `performance.now()`). */
export function secondsSince(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

/** Waits until the agent's managed file, read out of its container, holds `content`. */
export async function waitForFile(
  t: Topology,
  agent: AgentNode,
  content: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    `${agent.id}'s file holds ${content}`,
    async () => (await t.agentFile(agent)) === content,
    { timeoutMs },
  );
}

/** The versions an agent's acks name, in stream order (one entry per ack). */
export async function ackedVersions(
  nats: AtlasNats,
  agent: AgentNode,
  config = "web",
): Promise<number[]> {
  return (await acksOf(nats, agent.region, config, agent.id)).map((a) => a.version);
}
