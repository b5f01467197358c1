/**
 * Forgetting an agent for good (a server decommissioned): its heartbeat record and its
 * quarantine records go, so status, gates and the agents view stop showing it. An agent
 * whose heartbeat is fresh is still running and would write it back at its next beat: it
 * is refused unless forced.
 *
 * @module
 */
import { agentIsStale, agentKey, AgentRecord, Buckets } from "@atlas/core";
import { appendAudit, readKv, retryTransient } from "@atlas/store";
import type { RemoveResult } from "./api.ts";
import { checkRegionName, type ControlContext } from "./context.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { livenessOf } from "./fleet.ts";
import { checkAgentId, quarantineView, readQuarantine } from "./quarantine.ts";

/** Options of {@linkcode removeAgent}. */
export interface RemoveAgentOptions {
  /** Remove it even though its heartbeat is fresh. @default false */
  force?: boolean;
  /** Wall-clock now, ms. @default Date.now() */
  now?: number;
}

/**
 * Deletes the heartbeat record and every quarantine record of `agent` in `region`, and
 * audits `agent.remove`. Throws {@linkcode NotFoundError} when there is neither, and
 * {@linkcode ConflictError} when its heartbeat is fresh and `options.force` is not set.
 *
 * @example
 * ```ts
 * await removeAgent(ctx, "us-east", "web-17", "alice");
 * ```
 */
export async function removeAgent(
  ctx: ControlContext,
  region: string,
  agent: string,
  actor: string,
  options: RemoveAgentOptions = {},
): Promise<RemoveResult> {
  checkRegionName(region);
  checkAgentId(agent);
  const now = options.now ?? Date.now();
  const key = agentKey(region, agent);
  const agents = await ctx.nats.kv(Buckets.agents);
  const [heartbeat, quarantine, alive] = await Promise.all([
    retryTransient(() => readKv(agents, key, AgentRecord), { what: `Reading agent ${key}` }),
    readQuarantine(ctx, region, agent),
    livenessOf(ctx, region, now),
  ]);
  const live = heartbeat !== null && !agentIsStale(heartbeat.value, now, alive(heartbeat.value));
  if (!heartbeat && quarantine.length === 0) {
    throw new NotFoundError(
      `Agent ${agent} in ${region} is not known (no heartbeat, no quarantine): GET /v1/agents ` +
        "lists the agents",
    );
  }
  if (heartbeat && live && !options.force) {
    const ago = Math.max(0, Math.round((now - Date.parse(heartbeat.value.heartbeatAt)) / 1000));
    throw new ConflictError(
      `Agent ${agent} in ${region} is alive: its last heartbeat was ${ago} s ago (it beats ` +
        `every ${heartbeat.value.heartbeatSeconds} s), so it would write its record back at ` +
        "its next beat. Stop the agent first (a clean stop says goodbye), or remove it anyway " +
        "with ?force=true (`atlas agents remove --force`)",
      { details: { heartbeatAt: heartbeat.value.heartbeatAt } },
    );
  }
  if (heartbeat) {
    await retryTransient(() => agents.delete(key), { what: `Removing agent ${key}` });
  }
  const kv = await ctx.nats.kv(Buckets.quarantine);
  for (const q of quarantine) {
    await retryTransient(() => kv.delete(q.key), { what: `Removing ${q.key}` });
  }
  const result: RemoveResult = {
    region,
    agent,
    heartbeat: heartbeat !== null,
    heartbeatAt: heartbeat?.value.heartbeatAt ?? null,
    quarantine: quarantine.map(quarantineView),
  };
  await appendAudit(ctx.nats, {
    actor,
    action: "agent.remove",
    region,
    details: {
      agent,
      heartbeatAt: result.heartbeatAt,
      quarantine: result.quarantine.map((q) => q.config ?? "*"),
      forced: live,
    },
  });
  return result;
}
