/**
 * What the fleet is doing: agents from their records and acks (gone, drifted, quarantined), and
 * the per-region status of one config (its pointer, and which of its live members run
 * what).
 *
 * @module
 */
import {
  type AckRecord,
  AckRejection,
  ackVerdict,
  agentIsStale,
  AgentRecord,
  aliveFromSummary,
  type AliveSignal,
  Buckets,
  LivenessRecord,
  managesConfig,
  Streams,
  Subjects,
  summarize,
  withAck,
  withAcks,
} from "@atlas/core";
import { readAckLog, readPointer, retryTransient, storedAck } from "@atlas/store";
import type { AgentView, ConfigStatus, RegionStatus } from "./api.ts";
import { checkRegionName, type ControlContext, readAll } from "./context.ts";
import { requireConfig } from "./configs.ts";
import { quarantineView, readQuarantine } from "./quarantine.ts";
import { regionList } from "./regions.ts";

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

/**
 * The liveness of the agents of `region` (or of every region) as their coordinator leaders
 * judge them from the alive pings, which the control plane cannot hear: from each region's
 * summary while it is fresh, else (no summary, or a stale one) undefined, and the record's
 * age decides (core/liveness.ts).
 */
export async function livenessOf(
  ctx: ControlContext,
  region?: string,
  now: number = Date.now(),
): Promise<(agent: AgentRecord) => AliveSignal | undefined> {
  const summaries = await readAll(ctx, Buckets.liveness, LivenessRecord, region ?? ">")
    .catch(() => []); // not provisioned yet (an older deployment): records only
  const byRegion = new Map(summaries.map((s) => [s.value.region, s.value]));
  return (agent) => aliveFromSummary(byRegion.get(agent.region), agent.id, now);
}

/**
 * Agents with `stale` (gone: said goodbye, or fell silent, `agentIsStale` with
 * {@linkcode livenessOf}), `quarantined` (one entry per config it is fenced off) and, per config,
 * `drift` (the file on disk does not hash to the applied digest). Each config's `applied`
 * and `lastAck` are the newer of the record's and the agent's newest verified ack
 * (core/agent_state.ts): one read per agent and config besides the record.
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
  const [records, quarantine, alive] = await Promise.all([
    readAgents(ctx, region),
    readQuarantine(ctx, region),
    livenessOf(ctx, region, now),
  ]);
  // No record is written after an apply: each config's newest verified ack says what runs.
  const agents = await Promise.all(records.map(async (record) => {
    const acks = new Map(
      await Promise.all(
        Object.keys(record.configs).map(async (config) => {
          const stand = await standing(ctx, record.region, config, record.id);
          return [config, stand.counts ? stand.lastAck : undefined] as const;
        }),
      ),
    );
    return withAcks(record, (config) => acks.get(config));
  }));
  return agents.map((agent) => ({
    ...agent,
    stale: agentIsStale(agent, now, alive(agent)),
    quarantined: quarantine.filter((q) => q.region === agent.region && q.agent === agent.id)
      .map(quarantineView),
    configs: Object.fromEntries(
      Object.entries(agent.configs).map(([name, state]) => [name, {
        ...state,
        drift: state.applied !== null && state.diskDigest !== state.applied.digest,
      }]),
    ),
  }));
}

/**
 * Per region: the pointer of `name`, and which of the live agents that manage `name` run
 * the active version, which run another, and which last rejected or failed (from its last
 * ack, which must verify). Agents that manage it but are gone (`agentIsStale`) are not
 * counted, only listed under `gone`; nor are agents not enrolled or revoked: those are
 * listed under `unverified`. Acks that do not verify are never reported as an agent's.
 *
 * @example
 * ```ts
 * const { regions } = await configStatus(ctx, "web");
 * ```
 */
export async function configStatus(
  ctx: ControlContext,
  name: string,
  now: number = Date.now(),
): Promise<ConfigStatus> {
  await requireConfig(ctx, name, { cached: true });
  const regions = await regionList(ctx);
  const statuses = await Promise.all(regions.map(async ({ name: region }) => {
    const [stored, agents, alive] = await Promise.all([
      retryTransient(() => readPointer(ctx.nats, region, name), {
        what: `Reading pointer ${region}/${name}`,
      }),
      readAgents(ctx, region),
      livenessOf(ctx, region, now),
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
      agents: { total: 0, onActive: [], onOther: [], rejects: [], gone: [], unverified: [] },
      propagation: null,
    };
    const reached: AckRecord[] = [];
    const members = agents.filter((a) => managesConfig(a, name) && a.configs[name]);
    const standings = await Promise.all(
      members.map((a) =>
        agentIsStale(a, now, alive(a)) ? undefined : standing(ctx, region, name, a.id)
      ),
    );
    for (const [i, agent] of members.entries()) {
      const stand = standings[i];
      if (stand === undefined) {
        status.agents.gone.push(agent.id);
        continue;
      }
      if (!stand.counts) {
        status.agents.unverified.push({ agent: agent.id, reason: stand.reason });
        continue;
      }
      status.agents.total++;
      // No record is written after an apply: the verified ack says what runs now.
      const state = withAck(agent.configs[name]!, stand.lastAck);
      const applied = state.applied?.version ?? null;
      if (pointer && applied === pointer.active.version) status.agents.onActive.push(agent.id);
      else status.agents.onOther.push({ agent: agent.id, version: applied });
      const last = stand.lastAck;
      // The ack that brought the active version: a promoted candidate's agents do not ack
      // the promotion again (nothing to apply), so match the version, not the seq.
      if (last && pointer && last.status === "applied" && last.version === pointer.active.version) {
        reached.push(last);
      }
      if (last && last.status !== "applied") {
        status.agents.rejects.push({
          agent: agent.id,
          version: last.version,
          status: last.status,
          reason: last.reason ?? "",
        });
      }
    }
    status.propagation = propagationOf(reached);
    return status;
  }));
  return { config: name, regions: statuses };
}

/** Percentiles of the acks' own latencies, and first-to-last ack skew; null for none. */
function propagationOf(acks: AckRecord[]): RegionStatus["propagation"] {
  if (acks.length === 0) return null;
  const s = summarize(acks.map((a) => a.latencyMs));
  const times = acks.map((a) => Date.parse(a.at));
  return {
    acked: s.n,
    p50Ms: s.p50,
    p95Ms: s.p95,
    p99Ms: s.p99,
    maxMs: s.max,
    skewMs: Math.max(...times) - Math.min(...times),
  };
}

/** Whether an agent counts in status, and its last (verified) ack for the config. */
type Standing = { counts: true; lastAck: AckRecord | undefined } | {
  counts: false;
  reason: string;
};

/**
 * An agent counts when it is enrolled (not revoked); what it last did is its newest ack for
 * `config` that verifies (core/ack_signature.ts). A forged ack is never reported as the
 * agent's: when the last stored one does not verify, the agent's acks are read back to its
 * newest genuine one (a cost paid only under forgery).
 */
async function standing(
  ctx: ControlContext,
  region: string,
  config: string,
  agent: string,
): Promise<Standing> {
  await ctx.enrolments.ready();
  const enrolment = ctx.enrolments.get(region, agent);
  if (!enrolment) return { counts: false, reason: AckRejection.unenrolled };
  if (enrolment.revokedAt !== undefined) return { counts: false, reason: AckRejection.revoked };
  const m = await retryTransient(
    () =>
      ctx.nats.jsm.direct.getMessage(Streams.acks, {
        last_by_subj: Subjects.ack(region, config, agent),
      }),
    { what: `Reading the last ack of ${region}/${agent}` },
  );
  const stored = m ? storedAck(m) : undefined;
  if (!stored) return { counts: true, lastAck: undefined };
  if (ackVerdict(stored.ack, stored.storage, enrolment).counts) {
    return { counts: true, lastAck: stored.ack };
  }
  const log = await readAckLog(ctx.nats, config, { region, agent });
  const genuine = log.acks.filter((s) => ackVerdict(s.ack, s.storage, enrolment).counts);
  return { counts: true, lastAck: genuine.at(-1)?.ack };
}
