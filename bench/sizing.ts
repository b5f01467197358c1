/**
 * Sizing of a region from measured per-agent costs: how many leaf servers its agents need,
 * memory and CPU per server, and how fast a full-region apply wave can go. Pure
 * computation (`sizeRegion`, `costsFromResults`, `sizingTable`); the CLI reads a
 * `bench/results/*.json` and prints the table `docs/sizing.md` shows.
 *
 * Invariant: every number in the table comes from the costs and the assumptions passed in,
 * both printed with it; nothing is measured here.
 *
 * @example
 * ```sh
 * deno run -A bench/sizing.ts --results bench/results/2026-11-28T1247Z-quick.json
 * deno run -A bench/sizing.ts --rss-kib 35 --agents 10000,100000,1000000
 * ```
 *
 * @module
 */

/** What one agent costs nats-server, measured by the benchmark. */
export interface AgentCosts {
  /** Server RSS per connected agent, KiB. */
  serverRssKiBPerAgent: number;
  /** Server CPU per idle agent, µs per second (heartbeats, reconciles, pings). */
  serverIdleCpuMicrosPerAgentPerSecond: number;
  /** Server CPU per agent per apply (notice out, reads, ack in, PubAck), µs. */
  serverCpuMicrosPerApply: number;
  /** Agent CPU per apply, µs (on the agent's own host). */
  agentCpuMicrosPerApply: number;
  /** Where the numbers come from. */
  source: string;
}

/** What the table assumes about the hardware and the deployment. */
export interface SizingAssumptions {
  /** Client connections one server is given at most. @default 50_000 */
  maxConnectionsPerServer: number;
  /** Memory of one server, GiB. @default 8 */
  serverMemoryGiB: number;
  /** Cores of one server. @default 4 */
  serverCores: number;
  /** Share of memory and CPU the steady state may use (the rest absorbs storms). @default 0.5 */
  headroom: number;
  /** A server's RSS with no agents, MiB. @default 64 */
  serverBaseRssMiB: number;
  /** Nodes of the hub's JetStream cluster (R3 streams). @default 3 */
  hubNodes: number;
  /**
   * Share of the measured server CPU (idle and per apply) that lands on each hub node when
   * agents sit on leaf servers: 1 counts all of it (the benchmark's single server did
   * connections and JetStream both). @default 1
   */
  hubShare: number;
}

/** The defaults of {@linkcode SizingAssumptions}. */
export const DEFAULT_ASSUMPTIONS: SizingAssumptions = {
  maxConnectionsPerServer: 50_000,
  serverMemoryGiB: 8,
  serverCores: 4,
  headroom: 0.5,
  serverBaseRssMiB: 64,
  hubNodes: 3,
  hubShare: 1,
};

/** What limits the agents one server takes. */
export const Limit = {
  connections: "connections",
  memory: "memory",
  idleCpu: "idle CPU",
} as const;
/** What limits the agents one server takes. */
export type Limit = typeof Limit[keyof typeof Limit];

/** One row of the sizing table: a region of `agents` agents. */
export interface RegionSize {
  agents: number;
  /** Agents per server at most, and what limits it. */
  agentsPerServer: number;
  limitedBy: Limit;
  /** Servers agents connect to: 0 when the hub takes them directly. */
  leafServers: number;
  hubNodes: number;
  /** Steady RSS of each server agents connect to, MiB. */
  rssPerServerMiB: number;
  /** Idle CPU of each server agents connect to, cores. */
  idleCoresPerServer: number;
  /** Idle CPU of each hub node, cores (every heartbeat and reconcile lands on JetStream). */
  idleCoresPerHubNode: number;
  /** Notices one server can deliver and see applied per second within its CPU share. */
  appliesPerSecondPerServer: number;
  /** Seconds the hub needs for one apply by every agent (each R3 node sees every ack). */
  fullWaveSecondsOnHub: number;
  /** True when the hub's idle load alone passes its CPU share. */
  hubOverBudget: boolean;
}

function _positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot size with ${name} = ${value}: pass a positive number (see --help)`,
    );
  }
  return value;
}

/**
 * Sizes a region of `agents` agents. Agents connect to the hub directly while one server
 * takes them all; past that, to leaf servers of `agentsPerServer` each, and the hub holds
 * JetStream only.
 *
 * @example
 * ```ts
 * const row = sizeRegion(100_000, costs, DEFAULT_ASSUMPTIONS);
 * row.leafServers; // e.g. 4
 * ```
 */
export function sizeRegion(
  agents: number,
  costs: AgentCosts,
  assumptions: SizingAssumptions = DEFAULT_ASSUMPTIONS,
): RegionSize {
  if (!Number.isInteger(agents) || agents < 1) {
    throw new RangeError(`Cannot size a region of ${agents} agents: pass a whole number ≥ 1`);
  }
  const a = assumptions;
  const rss = _positive("serverRssKiBPerAgent", costs.serverRssKiBPerAgent);
  const idle = _positive(
    "serverIdleCpuMicrosPerAgentPerSecond",
    costs.serverIdleCpuMicrosPerAgentPerSecond,
  );
  const perApply = _positive("serverCpuMicrosPerApply", costs.serverCpuMicrosPerApply);
  const cores = _positive("serverCores", a.serverCores) * _positive("headroom", a.headroom);
  const memKiB = (_positive("serverMemoryGiB", a.serverMemoryGiB) * 1024 * a.headroom -
    a.serverBaseRssMiB) * 1024;
  const byLimit: [Limit, number][] = [
    [Limit.connections, _positive("maxConnectionsPerServer", a.maxConnectionsPerServer)],
    [Limit.memory, Math.floor(memKiB / rss)],
    [Limit.idleCpu, Math.floor(cores * 1e6 / idle)],
  ];
  const [limitedBy, perServer] = byLimit.reduce((min, x) => (x[1] < min[1] ? x : min));
  if (perServer < 1) {
    throw new RangeError(
      `Cannot fit one agent on a server (limited by ${limitedBy}): give servers more ` +
        `memory or cores, or a larger headroom`,
    );
  }
  const leafServers = agents <= perServer ? 0 : Math.ceil(agents / perServer);
  const onEach = leafServers === 0 ? agents : Math.ceil(agents / leafServers);
  const hubShare = _positive("hubShare", a.hubShare);
  const hubIdle = agents * idle * hubShare / 1e6;
  return {
    agents,
    agentsPerServer: perServer,
    limitedBy,
    leafServers,
    hubNodes: a.hubNodes,
    rssPerServerMiB: Math.round(a.serverBaseRssMiB + onEach * rss / 1024),
    idleCoresPerServer: round2(onEach * idle / 1e6),
    idleCoresPerHubNode: round2(hubIdle),
    appliesPerSecondPerServer: Math.floor(cores * 1e6 / perApply),
    fullWaveSecondsOnHub: round2(agents * perApply * hubShare / (cores * 1e6)),
    hubOverBudget: hubIdle > cores,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The part of a `bench/results/*.json` sizing reads. */
interface IdleRow {
  n: number;
  natsServerRssMiB: number;
  natsServerIdleCpuPercent: number;
  natsServerCpuMicrosPerApply: number;
  agentCpuMicrosPerApply: number;
}

/**
 * Per-agent costs from a benchmark result: the largest-N idle row, RSS per agent as the
 * slope from the smallest row (so the server's own base does not count), idle CPU as the
 * server's idle share divided by N.
 */
export function costsFromResults(results: unknown, source = "results"): AgentCosts {
  const rows = (results as { idle?: IdleRow[] })?.idle;
  if (!Array.isArray(rows) || rows.length < 2) {
    throw new RangeError(
      `${source} has fewer than two idle rows: run the benchmark at two sizes ` +
        "(e.g. `deno task bench --quick --sizes 1,1000`), or pass the costs as flags",
    );
  }
  const sorted = [...rows].sort((x, y) => x.n - y.n);
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  return {
    serverRssKiBPerAgent: round2(
      (hi.natsServerRssMiB - lo.natsServerRssMiB) * 1024 / (hi.n - lo.n),
    ),
    serverIdleCpuMicrosPerAgentPerSecond: round2(hi.natsServerIdleCpuPercent / 100 * 1e6 / hi.n),
    serverCpuMicrosPerApply: hi.natsServerCpuMicrosPerApply,
    agentCpuMicrosPerApply: hi.agentCpuMicrosPerApply,
    source: `${source} (N = ${lo.n} → ${hi.n})`,
  };
}

const fmt = (x: number) => x.toLocaleString("en-US");

/** The markdown table of `rows`, with the costs and assumptions it was computed from. */
export function sizingTable(
  rows: RegionSize[],
  costs: AgentCosts,
  assumptions: SizingAssumptions,
): string {
  const a = assumptions;
  const head = [
    `Costs (${costs.source}): ${costs.serverRssKiBPerAgent} KiB server RSS per agent, ` +
    `${costs.serverIdleCpuMicrosPerAgentPerSecond} µs/s server CPU per idle agent, ` +
    `${costs.serverCpuMicrosPerApply} µs server CPU per apply, ` +
    `${costs.agentCpuMicrosPerApply} µs agent CPU per apply.`,
    `Servers: ${a.serverCores} cores, ${a.serverMemoryGiB} GiB, steady state within ` +
    `${a.headroom * 100} % of both, at most ${fmt(a.maxConnectionsPerServer)} connections, ` +
    `${a.serverBaseRssMiB} MiB base RSS; hub of ${a.hubNodes} JetStream nodes, each ` +
    `bearing ${a.hubShare * 100} % of the measured server CPU.`,
    "",
    "| agents | agents per server (limit) | leaf servers | hub nodes | RSS per server | " +
    "idle CPU per server | idle CPU per hub node | applies/s per server | " +
    "full wave on hub |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const body = rows.map((r) =>
    `| ${fmt(r.agents)} | ${fmt(r.agentsPerServer)} (${r.limitedBy}) | ${r.leafServers} | ` +
    `${r.hubNodes} | ${fmt(r.rssPerServerMiB)} MiB | ${r.idleCoresPerServer} cores | ` +
    `${r.idleCoresPerHubNode} cores${r.hubOverBudget ? " (over budget)" : ""} | ` +
    `${fmt(r.appliesPerSecondPerServer)} | ${r.fullWaveSecondsOnHub} s |`
  );
  return [...head, ...body].join("\n");
}

const HELP = `deno run -A bench/sizing.ts [--results FILE] [--agents 10000,100000,1000000]
  costs (override the results file): --rss-kib K --idle-us U --apply-us U --agent-apply-us U
  assumptions: --max-connections N --memory-gib G --cores C --headroom H --base-rss-mib M
               --hub-nodes N --hub-share S`;

/** Parses the CLI flags; exported for tests. */
export function parseSizingArgs(
  args: string[],
): {
  results?: string;
  agents: number[];
  costs: Partial<AgentCosts>;
  assumptions: SizingAssumptions;
} {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[i + 1];
    if (!flag.startsWith("--") || value === undefined || value.startsWith("--")) {
      throw new RangeError(`Cannot read ${JSON.stringify(flag)}: flags take a value\n${HELP}`);
    }
    flags.set(flag.slice(2), value);
    i++;
  }
  const num = (name: string): number | undefined => {
    const v = flags.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) {
      throw new RangeError(`Cannot read --${name} ${JSON.stringify(v)}: pass a number`);
    }
    return n;
  };
  const known = new Set([
    "results",
    "agents",
    "rss-kib",
    "idle-us",
    "apply-us",
    "agent-apply-us",
    "max-connections",
    "memory-gib",
    "cores",
    "headroom",
    "base-rss-mib",
    "hub-nodes",
    "hub-share",
  ]);
  for (const k of flags.keys()) {
    if (!known.has(k)) throw new RangeError(`Unknown flag --${k}\n${HELP}`);
  }
  const costs: Partial<AgentCosts> = {};
  const set = <K extends keyof AgentCosts>(k: K, v: AgentCosts[K] | undefined) => {
    if (v !== undefined) costs[k] = v;
  };
  set("serverRssKiBPerAgent", num("rss-kib"));
  set("serverIdleCpuMicrosPerAgentPerSecond", num("idle-us"));
  set("serverCpuMicrosPerApply", num("apply-us"));
  set("agentCpuMicrosPerApply", num("agent-apply-us"));
  const d = DEFAULT_ASSUMPTIONS;
  const results = flags.get("results");
  return {
    ...(results ? { results } : {}),
    agents: (flags.get("agents") ?? "10000,100000,1000000").split(",").map(Number),
    costs,
    assumptions: {
      maxConnectionsPerServer: num("max-connections") ?? d.maxConnectionsPerServer,
      serverMemoryGiB: num("memory-gib") ?? d.serverMemoryGiB,
      serverCores: num("cores") ?? d.serverCores,
      headroom: num("headroom") ?? d.headroom,
      serverBaseRssMiB: num("base-rss-mib") ?? d.serverBaseRssMiB,
      hubNodes: num("hub-nodes") ?? d.hubNodes,
      hubShare: num("hub-share") ?? d.hubShare,
    },
  };
}

async function _newestResults(): Promise<string> {
  const dir = new URL("./results/", import.meta.url);
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".json") && !e.name.includes("insecure")) names.push(e.name);
  }
  const newest = names.sort().at(-1);
  if (!newest) throw new RangeError("No bench/results/*.json: run `deno task bench` first");
  return new URL(newest, dir).pathname;
}

if (import.meta.main) {
  try {
    const args = parseSizingArgs(Deno.args);
    const path = args.results ?? await _newestResults();
    const measured = costsFromResults(JSON.parse(await Deno.readTextFile(path)), path);
    const overridden = Object.keys(args.costs).length > 0;
    const costs: AgentCosts = {
      ...measured,
      ...args.costs,
      source: overridden ? `${measured.source}, with flags` : measured.source,
    };
    const rows = args.agents.map((n) => sizeRegion(n, costs, args.assumptions));
    console.log(sizingTable(rows, costs, args.assumptions));
  } catch (e) {
    console.error(e instanceof RangeError ? e.message : e);
    Deno.exit(2);
  }
}
