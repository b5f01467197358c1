/**
 * The benchmark's coordinator process (`deno task bench --rollout`): the real region
 * coordinator (`RegionCoordinator`, as `deno task coordinator` runs it), stepping every
 * `tickMs` after each step ends, with the CPU of each step measured around it
 * (`process.cpuUsage`, this process only: what the follows of acks and agent records do
 * while a step waits on NATS is counted in the step, the rest apart), and the part of it
 * spent inside the follows' `onMessage` (`RegionCoordinator.followStats`) and on the ack
 * check threads (`RegionCoordinator.ackCheckStats`) beside it.
 *
 * Driven by the orchestrator over core NATS on `bench.coord.*`: `steps` answers the steps
 * since a wall-clock time and the process's CPU, `profile-start`/`profile-stop` sample it.
 *
 * Args: `<nats url> <region> <signing key file> <tick ms> [ack check threads]`; env
 * `ATLAS_BENCH_CREDS` (the orchestration's credentials) and `ATLAS_BENCH_COORD_CREDS` (the
 * region coordinator's).
 *
 * @module
 */
import process from "node:process";
import { connect } from "@nats-io/transport-node";
import { RegionCoordinator, threadCpuMicros } from "@atlas/coordinator";
import { connectAtlas, loadSigner, natsCredsAuthenticator } from "@atlas/store";
import { Profiler } from "./profile.ts";
import { threadCpuByKind, threadCpuSince } from "./proc_cpu.ts";

const [url, region, keyFile, tick, threads] = Deno.args as [
  string,
  string,
  string,
  string,
  string | undefined,
];
const tickMs = Number(tick ?? 500);
const benchCreds = Deno.env.get("ATLAS_BENCH_CREDS");
const coordCreds = Deno.env.get("ATLAS_BENCH_COORD_CREDS");

const control = await connect({
  servers: url,
  name: "bench coordinator control",
  ...(benchCreds ? { authenticator: natsCredsAuthenticator(benchCreds) } : {}),
});
const nats = await connectAtlas(url, {
  name: `bench coordinator ${region}`,
  waitOnFirstConnect: true,
  noAsyncTraces: true,
  ...(coordCreds ? { credentials: coordCreds } : {}),
});
const signer = await loadSigner(keyFile);
const lines: string[] = [];
const coordinator = await RegionCoordinator.create(nats, signer, {
  region,
  replica: "bench",
  timeFollows: true,
  ...(threads === undefined ? {} : { ackCheckThreads: Number(threads) }),
  log: (l) => {
    lines.push(l);
    if (lines.length > 200) lines.shift();
  },
});

/** One step: when it began (wall ms), its length, its CPU and the follows' part of it. */
interface Step {
  at: number;
  wallMs: number;
  cpuMicros: number;
  /** Milliseconds inside the follows' onMessage (acks and agent records) during the step. */
  followMs: number;
  /**
   * The CPU of the JavaScript thread alone during the step, where the platform tells it
   * (Linux: `/proc/thread-self/schedstat`): without the collector's and compiler's helper
   * threads, which `cpuMicros` counts too (a step could show more CPU than wall time).
   */
  mainCpuMicros?: number;
  /**
   * The CPU the ack check threads reported during the step (µs, Linux): inside `cpuMicros`
   * (which counts every thread of the process) but work of no step.
   */
  ackCheckMicros: number;
  /**
   * The CPU of each kind of thread during the step (`bench/proc_cpu.ts`, Linux): the JS
   * thread, V8's helpers, the runtime's I/O threads, the ack check threads.
   */
  threadMicros: Record<string, number>;
}
const steps: Step[] = [];
let closed = false;
let profiler: Profiler | undefined;

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** This (the JavaScript) thread's CPU in µs (Linux), or undefined where /proc does not say. */
const mainCpu = () => threadCpuMicros();

const followMs = () => {
  const f = coordinator.followStats();
  return f.acks.busyMs + f.agents.busyMs;
};

const ackChecks = () => coordinator.ackCheckStats().cpuMicros;

const loop = (async () => {
  while (!closed) {
    const threads0 = threadCpuByKind(); // read outside the step's window
    const [at, t0, c0, f0, m0, k0] = [
      Date.now(),
      performance.now(),
      cpu(),
      followMs(),
      mainCpu(),
      ackChecks(),
    ];
    await coordinator.step().catch((e) => lines.push(`step failed: ${e}`));
    const [t1, c1, f1, m1, k1] = [performance.now(), cpu(), followMs(), mainCpu(), ackChecks()];
    const threadMicros = threadCpuSince(threads0, threadCpuByKind());
    steps.push({
      at,
      wallMs: t1 - t0,
      cpuMicros: c1 - c0,
      followMs: f1 - f0,
      ackCheckMicros: k1 - k0,
      threadMicros,
      ...(m0 !== undefined && m1 !== undefined ? { mainCpuMicros: m1 - m0 } : {}),
    });
    if (steps.length > 100_000) steps.splice(0, 50_000);
    await coordinator.untilNextStep(tickMs);
  }
})();

control.subscribe("bench.coord.*", {
  callback: (_e, msg) => {
    const cmd = msg.subject.split(".").pop()!;
    const arg = msg.data.length ? (msg.json() as Record<string, unknown>) : {};
    const answer = async (): Promise<unknown> => {
      switch (cmd) {
        case "steps": {
          const since = arg.since as number;
          return {
            steps: steps.filter((s) => s.at >= since),
            cpuMicros: cpu(),
            followMs: followMs(),
            ackChecks: coordinator.ackCheckStats(),
            leader: coordinator.lease.isLeader,
            following: coordinator.following,
            log: lines.slice(-20),
          };
        }
        case "profile-start":
          profiler = new Profiler();
          await profiler.start();
          return {};
        case "profile-stop": {
          const profile = await profiler!.stop();
          profiler = undefined;
          await Deno.writeTextFile(arg.file as string, JSON.stringify(profile));
          return {};
        }
        case "exit":
          closed = true;
          await loop;
          await coordinator.close();
          await nats.close();
          setTimeout(() => Deno.exit(0), 50);
          return {};
        default:
          throw new Error(`unknown command ${cmd}`);
      }
    };
    answer().then(
      (r) => msg.respond(JSON.stringify({ ok: true, ...(r as object) })),
      (e) => msg.respond(JSON.stringify({ ok: false, error: String(e) })),
    );
  },
});
await control.flush();
console.log("ready");
