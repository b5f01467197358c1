/**
 * The reconnect-storm row of `deno task bench --storm`: the region's nats-server is stopped
 * (SIGTERM) and started again on the same port with its JetStream store, under the N
 * agents the latency rounds measured. Reported: the time until every agent has reconnected
 * and then finished a reconcile whose every read succeeded (the agents' own view, through
 * the worker protocol), nats-server's CPU per second over that window (its busiest second
 * and how many were saturated), and whether any agent applied anything (no version moved:
 * any apply is a repeat).
 *
 * Invariant: the store is kept (a restart, not a new server); the row fails rather than
 * waits without end (a deadline scaled to N).
 *
 * @module
 */
import { RegionBeacon, Subjects } from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import type { NatsServer } from "@atlas/testkit";
import { cpuPercentSeries, saturation } from "./rows.ts";
import { processCpuMicros } from "./proc_cpu.ts";

/** What the orchestrator (main.ts) lends the row. */
export interface StormContext {
  server: NatsServer;
  /** Asks every worker process and returns each answer. */
  tellAll: (cmd: string, arg?: unknown) => Promise<Record<string, unknown>[]>;
  /** A second at or over this % of one core counts as saturated. */
  saturatedPercent: number;
  /** The reconnect window the region's last beacon stated before the storm, if any. */
  reconnectSpreadMs: number | undefined;
  log: (msg: string) => void;
}

/** The row's numbers (JSON field names). */
export interface StormResult {
  n: number;
  /** Server stopped → started again (ms). */
  downMs: number;
  /** The reconnect window the agents were told by their region's beacon (ms; null: none). */
  reconnectSpreadMs: number | null;
  /** Server started again → every agent reconnected (ms). */
  reconnectedMs: number;
  /** Server started again → every agent reconnected and reconciled (ms). */
  reconciledMs: number;
  /** Agents reconnected (and reconciled) by the end: fewer than N when some never came back. */
  reconnected: number;
  reconciled: number;
  serverCpuPercentPerSecond: number[];
  serverCpuMaxPercent: number;
  serverSaturatedSeconds: number;
  serverSaturatedLongestRunSeconds: number;
  saturatedPercent: number;
  repeatedApplies: number;
  repeatedAgents: string[];
  /**
   * Errors thrown out of the NATS client's callbacks in the worker processes, by message:
   * each would have ended a real agent's process (the workers count them and go on).
   */
  uncaughtInWorkers: Record<string, number>;
  /**
   * Agents the bench restarted (as a supervisor would restart their exited process) after
   * their NATS client threw mid-connect and no agent had reconnected for 10 s.
   */
  restartedAgents: number;
}

/**
 * Waits (≤ 75 s: beacons come every 30 s) for the region's beacon to state at least
 * `expectedMs` as the reconnect window, i.e. for the coordinator to know the region's
 * agents, and returns the window the last beacon stated (undefined: none heard).
 */
export async function beaconSpread(
  admin: AtlasNats,
  region: string,
  expectedMs: number,
  log: (msg: string) => void,
): Promise<number | undefined> {
  let last: number | undefined;
  const sub = admin.nc.subscribe(Subjects.beacon(region));
  const timer = setTimeout(() => sub.unsubscribe(), 75_000);
  try {
    for await (const m of sub) {
      const beacon = RegionBeacon.safeParse(m.json());
      if (!beacon.success) continue;
      last = beacon.data.reconnectSpreadMs;
      log(`beacon: reconnect window ${last ?? "none"} ms (want ${expectedMs})`);
      if ((last ?? 0) >= expectedMs) break;
    }
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
  return last;
}

/** Runs the storm row at `n` connected agents. */
export async function stormRow(ctx: StormContext, n: number): Promise<StormResult> {
  await ctx.tellAll("storm-mark");
  // CPU per second of whichever nats-server process runs (a restart starts a new pid at 0).
  const readings: { pid: number | undefined; cpu: number; at: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const pid = ctx.server.pid;
      readings.push({ pid, cpu: await processCpuMicros(pid), at: performance.now() });
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  const stopAt = Date.now();
  await ctx.server.stop();
  await ctx.server.restart();
  const upAt = Date.now();
  ctx.log(`N=${n}: nats-server restarted (${upAt - stopAt} ms down); waiting for the agents`);
  const deadline = upAt + Math.max(60_000, n * 30);
  let status: Record<string, number> = {};
  let restarted = 0;
  let lastProgress = { at: Date.now(), reconnected: -1 };
  let repeated: string[] = [];
  /** Errors the workers caught uncaught (each would have ended an agent's process). */
  let uncaught: Record<string, number> = {};
  for (;;) {
    await new Promise((r) => setTimeout(r, 1_000));
    const answers = await ctx.tellAll("storm-status", { since: stopAt }).catch(() => undefined);
    if (!answers) { // the orchestration link is reconnecting too
      if (Date.now() > deadline) break;
      continue;
    }
    status = {};
    for (const a of answers) {
      for (const k of ["reconnected", "reconciled", "repeatedCount", "restarted"]) {
        status[k] = (status[k] ?? 0) + (a[k] as number);
      }
      for (const k of ["lastReconnect", "lastReconcile"]) {
        status[k] = Math.max(status[k] ?? 0, a[k] as number);
      }
    }
    repeated = answers.flatMap((a) => a.repeated as string[]);
    uncaught = {};
    for (const a of answers) {
      for (const [k, v] of Object.entries(a.uncaught as Record<string, number>)) {
        uncaught[k] = (uncaught[k] ?? 0) + v;
      }
    }
    if (status.reconciled! >= n) break;
    const now = Date.now();
    if (status.reconnected !== lastProgress.reconnected) {
      lastProgress = { at: now, reconnected: status.reconnected! };
      ctx.log(
        `N=${n}: storm: +${((now - upAt) / 1000).toFixed(0)} s ${status.reconnected} ` +
          `reconnected, ${status.reconciled} reconciled`,
      );
    } else if (
      now - lastProgress.at > 10_000 && Object.keys(uncaught).length > 0 && restarted === 0
    ) {
      // No agent came back for 10 s and clients threw mid-connect: those agents' processes
      // would have exited; restart them as their supervisor would (once).
      const r = await ctx.tellAll("storm-restart-silent", { since: stopAt }).catch((e) => {
        ctx.log(`N=${n}: storm: restarting the silent agents: ${(e as Error).message}`);
        return [];
      });
      restarted = Math.max(1, r.reduce((sum, a) => sum + (a.restarted as number), 0));
      ctx.log(`N=${n}: storm: restarted the agents whose NATS client died (${restarted})`);
    }
    if (Date.now() > deadline) {
      ctx.log(
        `N=${n}: storm: only ${status.reconnected} reconnected, ${status.reconciled} ` +
          `reconciled after ${((Date.now() - upAt) / 1000).toFixed(0)} s; giving up`,
      );
      break;
    }
  }
  sampling = false;
  await sampler;
  // Cumulative CPU over both processes; an interval across the restart counts what the
  // new process used (the old one's last fraction of a second is lost).
  const cpu: number[] = [];
  for (const [i, r] of readings.entries()) {
    const prev = readings[i - 1];
    cpu.push(!prev ? 0 : cpu[i - 1]! + (prev.pid === r.pid ? r.cpu - prev.cpu : r.cpu));
  }
  const series = cpuPercentSeries(cpu, readings.map((r) => r.at));
  const sat = saturation(series, ctx.saturatedPercent);
  return {
    n,
    downMs: upAt - stopAt,
    reconnectSpreadMs: ctx.reconnectSpreadMs ?? null,
    reconnectedMs: status.reconnected! >= n ? status.lastReconnect! - upAt : NaN,
    reconciledMs: status.reconciled! >= n ? status.lastReconcile! - upAt : NaN,
    reconnected: status.reconnected ?? 0,
    reconciled: status.reconciled ?? 0,
    serverCpuPercentPerSecond: series,
    serverCpuMaxPercent: sat.maxPercent,
    serverSaturatedSeconds: sat.saturatedSeconds,
    serverSaturatedLongestRunSeconds: sat.longestRunSeconds,
    saturatedPercent: ctx.saturatedPercent,
    repeatedApplies: status.repeatedCount ?? 0,
    repeatedAgents: repeated,
    uncaughtInWorkers: uncaught,
    restartedAgents: restarted,
  };
}
