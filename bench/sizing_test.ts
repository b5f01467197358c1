import assert from "node:assert/strict";
import {
  type AgentCosts,
  costsFromResults,
  DEFAULT_ASSUMPTIONS,
  Limit,
  parseSizingArgs,
  sizeRegion,
  sizingTable,
} from "./sizing.ts";

const costs: AgentCosts = {
  serverRssKiBPerAgent: 64,
  serverIdleCpuMicrosPerAgentPerSecond: 20,
  serverCpuMicrosPerApply: 200,
  agentCpuMicrosPerApply: 500,
  source: "test",
};

Deno.test("a region one server can hold needs no leaf servers", () => {
  const r = sizeRegion(10_000, costs);
  // Memory: (8 GiB × 0.5 − 64 MiB) / 64 KiB = 64 512 agents; idle CPU: 2 cores / 20 µs/s
  // = 100 000; connections: 50 000, the smallest.
  assert.equal(r.agentsPerServer, 50_000);
  assert.equal(r.limitedBy, Limit.connections);
  assert.equal(r.leafServers, 0);
  assert.equal(r.rssPerServerMiB, 64 + 625);
  assert.equal(r.idleCoresPerServer, 0.2);
  assert.equal(r.appliesPerSecondPerServer, 10_000);
  assert.equal(r.fullWaveSecondsOnHub, 1);
  assert.equal(r.hubOverBudget, false);
});

Deno.test("past one server, agents spread over leaf servers and the hub's load grows", () => {
  const r = sizeRegion(1_000_000, { ...costs, serverRssKiBPerAgent: 128 });
  // Memory now limits: (4096 − 64) MiB × 1024 / 128 KiB = 32 256 agents per server.
  assert.equal(r.limitedBy, Limit.memory);
  assert.equal(r.agentsPerServer, 32_256);
  assert.equal(r.leafServers, 32);
  assert.equal(r.idleCoresPerHubNode, 20);
  assert.equal(r.hubOverBudget, true);
  const shared = sizeRegion(1_000_000, costs, { ...DEFAULT_ASSUMPTIONS, hubShare: 0.05 });
  assert.equal(shared.idleCoresPerHubNode, 1);
  assert.equal(shared.hubOverBudget, false);
});

Deno.test("sizing refuses nonsense with what to pass instead", () => {
  assert.throws(() => sizeRegion(0, costs), /whole number/);
  assert.throws(() => sizeRegion(10, { ...costs, serverRssKiBPerAgent: 0 }), /positive number/);
  assert.throws(
    () => sizeRegion(10, costs, { ...DEFAULT_ASSUMPTIONS, serverMemoryGiB: 0.1 }),
    /Cannot size with serverMemoryGiB|Cannot fit one agent/,
  );
  assert.throws(() => parseSizingArgs(["--cores"]), /flags take a value/);
  assert.throws(() => parseSizingArgs(["--cpus", "4"]), /Unknown flag --cpus/);
  assert.throws(() => parseSizingArgs(["--cores", "four"]), /pass a number/);
});

Deno.test("costs come from the largest row, RSS as the slope from the smallest", () => {
  const row = (n: number, rss: number, idle: number) => ({
    n,
    natsServerRssMiB: rss,
    natsServerIdleCpuPercent: idle,
    natsServerCpuMicrosPerApply: n === 10_000 ? 125 : 999,
    agentCpuMicrosPerApply: n === 10_000 ? 475 : 999,
  });
  const c = costsFromResults({ idle: [row(10_000, 686.9, 22.6), row(1, 18.8, 0.4)] }, "r.json");
  assert.equal(c.serverRssKiBPerAgent, 68.42);
  assert.equal(c.serverIdleCpuMicrosPerAgentPerSecond, 22.6);
  assert.equal(c.serverCpuMicrosPerApply, 125);
  assert.equal(c.agentCpuMicrosPerApply, 475);
  assert.match(c.source, /r\.json \(N = 1 → 10000\)/);
  assert.throws(() => costsFromResults({ idle: [row(1, 1, 1)] }, "one.json"), /two idle rows/);
  assert.throws(() => costsFromResults({}, "none.json"), /two idle rows/);
});

Deno.test("flags override costs and assumptions; the table states both", () => {
  const args = parseSizingArgs(["--rss-kib", "35", "--cores", "8", "--agents", "10,20"]);
  assert.deepEqual(args.agents, [10, 20]);
  assert.deepEqual(args.costs, { serverRssKiBPerAgent: 35 });
  assert.equal(args.assumptions.serverCores, 8);
  assert.equal(args.assumptions.serverMemoryGiB, DEFAULT_ASSUMPTIONS.serverMemoryGiB);
  const table = sizingTable([sizeRegion(10_000, costs)], costs, DEFAULT_ASSUMPTIONS);
  assert.match(table, /64 KiB server RSS per agent/);
  assert.match(table, /4 cores, 8 GiB/);
  assert.match(table, /\| 10,000 \| 50,000 \(connections\) \| 0 \| 3 \| 689 MiB \|/);
});
