/**
 * The fleet-health scan a region's leader runs besides rollouts: it raises an alert when
 * an agent's file drifts from what it applied (a hand edit; the agent restores it at its
 * next reconcile), and when several agents fail the same version for the same reason (a
 * failure cluster, whether or not a rollout is running). Those alerts resolve themselves
 * when the condition clears, and re-open if it comes back. It never touches `rolled_back`
 * or `stalled` alerts: they stay open until a later rollout of the config succeeds in the
 * region (`resolveRolloutAlerts`) or an operator resolves them.
 *
 * An agent heals a hand edit within ~100 ms, before any heartbeat could carry the drift,
 * so it reports each heal as an event (`lastDriftHealed` in its record): each new one
 * raises a `drift-healed-…` alert that stays open until an operator resolves it.
 *
 * @module
 */
import { type AgentRecord, AlertRecord, Buckets } from "@atlas/core";
import { type AtlasNats, listKeys } from "@atlas/store";

/** Options of {@linkcode scanFleet}. */
export interface ScanOptions {
  region: string;
  /** Wall-clock now, ms. */
  now: number;
  /** Fewest agents failing alike that make a cluster. @default 3 */
  clusterMin?: number;
  /** Smallest share of the agents holding a config that make a cluster. @default 0.2 */
  clusterShare?: number;
  /**
   * Heal events already raised, by alert id (the heal's time): kept by the caller across
   * scans so each event costs one read, not one per scan.
   */
  healsSeen?: Map<string, string>;
}

/** Raises and resolves drift and failure-cluster alerts for `agents` of one region. */
export async function scanFleet(
  nats: AtlasNats,
  agents: AgentRecord[],
  options: ScanOptions,
): Promise<void> {
  const at = new Date(options.now).toISOString();
  const open = new Map<string, Omit<AlertRecord, "id" | "at">>();
  const holders = new Map<string, number>();
  const heals = new Map<string, Omit<AlertRecord, "id">>();
  const failures = new Map<
    string,
    { config: string; version: number; reason: string; agents: string[] }
  >();
  for (const agent of agents) {
    for (const [config, st] of Object.entries(agent.configs)) {
      holders.set(config, (holders.get(config) ?? 0) + 1);
      if (st.applied && st.diskDigest && st.diskDigest !== st.applied.digest) {
        open.set(`drift-${options.region}-${agent.id}-${config}`, {
          kind: "drift",
          region: options.region,
          config,
          message:
            `${agent.id}: ${config} on disk (sha256 ${st.diskDigest.slice(0, 12)}) differs from ` +
            `v${st.applied.version} it applied; the agent restores it at its next reconcile`,
        });
      }
      const healed = st.lastDriftHealed;
      if (healed) {
        heals.set(`drift-healed-${options.region}-${agent.id}-${config}`, {
          kind: "drift",
          region: options.region,
          config,
          message: `${agent.id}: ${config} was changed on disk (sha256 ${
            healed.found?.slice(0, 12) ?? "none: removed"
          }) and restored to v${healed.version} at ${healed.at}; find who edits it by hand`,
          at: healed.at,
        });
      }
      const ack = st.lastAck;
      if (ack && ack.status !== "applied" && ack.status !== "verified") {
        const key = `${config}\u0000${ack.version}\u0000${ack.reason ?? ""}`;
        const f = failures.get(key) ??
          { config, version: ack.version, reason: ack.reason ?? "", agents: [] };
        f.agents.push(agent.id);
        failures.set(key, f);
      }
    }
  }
  for (const f of failures.values()) {
    const share = f.agents.length / (holders.get(f.config) ?? 1);
    if (f.agents.length < (options.clusterMin ?? 3) || share < (options.clusterShare ?? 0.2)) {
      continue;
    }
    open.set(`failures-${options.region}-${f.config}-v${f.version}`, {
      kind: "failure_cluster",
      region: options.region,
      config: f.config,
      message: `${f.agents.length} agents in ${options.region} failed ${f.config} v${f.version}: ` +
        `${f.reason || "no reason given"} (${f.agents.slice(0, 5).join(", ")}${
          f.agents.length > 5 ? ", …" : ""
        })`,
    });
  }
  const kv = await nats.kv(Buckets.alerts);
  for (const [id, alert] of heals) {
    if (options.healsSeen?.get(id) === alert.at) continue;
    const e = await kv.get(id);
    const cur = e?.operation === "PUT" ? AlertRecord.safeParse(e.json()) : undefined;
    // Raised once per heal: a resolved alert opens again only for a later heal.
    const raised = cur?.success && (!cur.data.resolvedAt || cur.data.at >= alert.at);
    if (!raised) await kv.put(id, JSON.stringify(AlertRecord.parse({ id, ...alert })));
    options.healsSeen?.set(id, alert.at);
  }
  for (const [id, alert] of open) {
    const e = await kv.get(id);
    const cur = e?.operation === "PUT" ? AlertRecord.safeParse(e.json()) : undefined;
    if (cur?.success && !cur.data.resolvedAt) continue; // already open
    await kv.put(id, JSON.stringify(AlertRecord.parse({ id, at, ...alert })));
  }
  // Alert ids are single subject tokens, so a wildcard cannot select by prefix: filter here.
  const prefixes = [`drift-${options.region}-`, `failures-${options.region}-`];
  for (const id of await listKeys(nats, Buckets.alerts)) {
    if (open.has(id) || !prefixes.some((p) => id.startsWith(p))) continue;
    const e = await kv.get(id);
    const cur = e?.operation === "PUT" ? AlertRecord.safeParse(e.json()) : undefined;
    if (cur?.success && !cur.data.resolvedAt) {
      await kv.put(id, JSON.stringify({ ...cur.data, resolvedAt: at }));
    }
  }
}
