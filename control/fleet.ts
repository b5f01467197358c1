/**
 * What the fleet is doing: agents from their heartbeats (stale, drifted), and the
 * per-region status of one config (its pointer, and which agents run what).
 *
 * @module
 */
import {
  AgentRecord,
  Buckets,
  type QuarantineRecord,
  readPointer,
  retryTransient,
} from "@atlas/nats";
import type { AgentView, ConfigStatus, RegionStatus } from "./api.ts";
import { checkRegionName, type ControlContext, readAll } from "./context.ts";
import { requireConfig } from "./configs.ts";
import { readQuarantine } from "./quarantine.ts";
import { regionList } from "./regions.ts";

/** An agent whose last heartbeat is older than this is stale. */
export const STALE_AFTER_MS = 90_000;

/**
 * Heartbeat records of the agents of `region` (or of every region). Records that do not
 * parse (an agent of another version) are left out with a warning rather than failing
 * the whole listing.
 */
export async function readAgents(ctx: ControlContext, region?: string): Promise<AgentRecord[]> {
  if (region !== undefined) checkRegionName(region);
  const records = await readAll(ctx, Buckets.agents, AgentRecord, region ? `${region}.*` : ">");
  return records.map((r) => r.value)
    .sort((a, b) => a.region.localeCompare(b.region) || a.id.localeCompare(b.id));
}

function _quarantined(record: QuarantineRecord | undefined): AgentView["quarantined"] {
  if (!record) return null;
  return {
    reason: record.reason,
    ...(record.rolloutId !== undefined ? { rolloutId: record.rolloutId } : {}),
    at: record.at,
  };
}

/**
 * Agents with `stale` (no heartbeat for 90 s), `quarantined` (the quarantine record, if
 * any) and, per config, `drift` (the file on disk does not hash to the applied digest).
 *
 * @example
 * ```ts
 * const agents = await listAgents(ctx, "us-east");
 * agents.filter((a) => a.stale);
 * ```
 */
export async function listAgents(
  ctx: ControlContext,
  region?: string,
  now: number = Date.now(),
): Promise<AgentView[]> {
  const [agents, quarantine] = await Promise.all([
    readAgents(ctx, region),
    readQuarantine(ctx, region),
  ]);
  return agents.map((agent) => ({
    ...agent,
    stale: now - Date.parse(agent.heartbeatAt) > STALE_AFTER_MS,
    quarantined: _quarantined(quarantine.get(`${agent.region}.${agent.id}`)),
    configs: Object.fromEntries(
      Object.entries(agent.configs).map(([name, state]) => [name, {
        ...state,
        drift: state.applied !== null && state.diskDigest !== state.applied.digest,
      }]),
    ),
  }));
}

/**
 * Per region: the pointer of `name`, and which of the agents holding `name` run the
 * active version, which run another, and which last rejected or failed.
 *
 * @example
 * ```ts
 * const { regions } = await configStatus(ctx, "web");
 * ```
 */
export async function configStatus(ctx: ControlContext, name: string): Promise<ConfigStatus> {
  await requireConfig(ctx, name, { cached: true });
  const regions = await regionList(ctx);
  const statuses = await Promise.all(regions.map(async ({ name: region }) => {
    const [stored, agents] = await Promise.all([
      retryTransient(() => readPointer(ctx.nats, region, name), {
        what: `Reading pointer ${region}/${name}`,
      }),
      readAgents(ctx, region),
    ]);
    const pointer = stored?.pointer ?? null;
    const status: RegionStatus = {
      region,
      pointer: pointer && {
        version: pointer.active.version,
        seq: pointer.seq,
        issuedAt: pointer.issuedAt,
        history: pointer.history,
      },
      agents: { total: 0, onActive: [], onOther: [], rejects: [] },
    };
    for (const agent of agents) {
      const state = agent.configs[name];
      if (!state) continue;
      status.agents.total++;
      const applied = state.applied?.version ?? null;
      if (pointer && applied === pointer.active.version) status.agents.onActive.push(agent.id);
      else status.agents.onOther.push({ agent: agent.id, version: applied });
      if (state.lastAck && state.lastAck.status !== "applied") {
        status.agents.rejects.push({
          agent: agent.id,
          version: state.lastAck.version,
          status: state.lastAck.status,
          reason: state.lastAck.reason ?? "",
        });
      }
    }
    return status;
  }));
  return { config: name, regions: statuses };
}
