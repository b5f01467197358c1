/**
 * `deno task bench [--quick] [--sizes 1,100,1000,10000] [--rounds 20]`: measures Atlas
 * end to end against the raw NATS floor, in one run, on this machine. Prints a table and
 * writes `bench/results/<date>.json`. See bench/README.md for the method.
 *
 * `--tls` runs NATS with TLS (a throw-away CA; every client verifies the server), `--metrics`
 * gives the agents Prometheus metrics, `--out <file>` writes the results there (for
 * `deno task bench:variants`, which compares variants measured in one run).
 *
 * `--profile <dir>` also CPU-profiles the agent workers and this process (control plane)
 * during the publish rounds of each N, writes the `.cpuprofile` files to `<dir>` (open them
 * in Chrome DevTools) and prints where the time went. Profiling slows everything: read
 * latencies from a run without it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpus, totalmem } from "node:os";
import process from "node:process";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  type AckRecord,
  generateSigningKey,
  issuerOf,
  reconnectSpreadMs,
  Signer,
  Subjects,
  tokenFileEntry,
} from "@atlas/core";
import { findNatsServer, makePki, serverTls, startNatsServer } from "@atlas/testkit";
import { startControl } from "@atlas/control";
import { type AtlasNats, connectAtlas, natsCredsAuthenticator } from "@atlas/store";
import { type RolloutResult, rolloutRow } from "./rollout_row.ts";
import { beaconSpread, type StormResult, stormRow } from "./storm_row.ts";
import { startCoordinatorProcess } from "./coordinator_process.ts";
import { TARGETS } from "./rows.ts";
import { processCpuMicros, threadCpuLine } from "./proc_cpu.ts";
import { ms, summarize, type Summary, table } from "./stats.ts";
import { type CpuProfile, Profiler, summarizeProfiles } from "./profile.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    sizes: { type: "string" },
    rounds: { type: "string" },
    "state-root": { type: "string", default: "/dev/shm" },
    profile: { type: "string" },
    insecure: { type: "boolean", default: false },
    tls: { type: "boolean", default: false },
    metrics: { type: "boolean", default: false },
    rollout: { type: "boolean", default: false },
    storm: { type: "boolean", default: false },
    "tick-ms": { type: "string", default: "500" },
    "saturated-percent": { type: "string", default: "90" },
    "agent-config": { type: "string" },
    "idle-seconds": { type: "string" },
    workers: { type: "string" },
    // nats-server's Go profiler on this port (its heap: /debug/pprof/heap?debug=1).
    "nats-prof-port": { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "Usage: deno task bench [--quick] [--sizes 1,100,1000,10000] [--rounds N] " +
      "[--state-root /dev/shm] [--profile <dir>] [--insecure] [--tls] [--metrics] " +
      "[--rollout] [--tick-ms 500] [--storm] [--saturated-percent 90] " +
      "[--agent-config '{...}'] [--idle-seconds 5] [--workers K] [--nats-prof-port P] " +
      "[--out <file>]\n" +
      "NATS runs with Atlas's authorization (each agent its own credentials) unless " +
      "--insecure. --rollout adds the staged-rollout row (a coordinator stepping every " +
      "--tick-ms), --storm the reconnect-storm row; --agent-config adds agent.json fields.",
  );
  Deno.exit(0);
}
const quick = values.quick!;
const sizes = (values.sizes ?? (quick ? "1,100,1000" : "1,100,1000,10000")).split(",").map(Number);
const baseRounds = Number(values.rounds ?? (quick ? 5 : 20));
if (!Number.isInteger(baseRounds) || baseRounds < 2) {
  // Round 2 is the first with an earlier version to roll back to.
  console.error("error: --rounds must be a whole number of at least 2 (rollbacks need two)");
  Deno.exit(2);
}
const REGION = "bench";
const CONFIG = "bench.cfg";
const TOKEN = "bench-token";
const WORKER = new URL("./worker.ts", import.meta.url).pathname;
const profileDir = values.profile;
/** More agent.json fields for every agent (reconnect jitter, reconcile spreading, …). */
let agentConfig: Record<string, unknown> = {};
try {
  agentConfig = JSON.parse(values["agent-config"] ?? "{}");
} catch (e) {
  console.error(`error: --agent-config is not JSON (${(e as Error).message}): give '{"field": …}'`);
  Deno.exit(2);
}
const tickMs = Number(values["tick-ms"]);
const saturatedPercent = Number(values["saturated-percent"]);
const idleSeconds = values["idle-seconds"] === undefined
  ? undefined
  : Number(values["idle-seconds"]);
if (!(tickMs > 0) || !(saturatedPercent > 0) || (idleSeconds !== undefined && !(idleSeconds > 0))) {
  console.error(
    "error: --tick-ms, --saturated-percent and --idle-seconds must be positive numbers",
  );
  Deno.exit(2);
}
const natsProfPort = values["nats-prof-port"] === undefined
  ? undefined
  : Number(values["nats-prof-port"]);
if (natsProfPort !== undefined && !(Number.isInteger(natsProfPort) && natsProfPort > 0)) {
  console.error("error: --nats-prof-port must be a port number");
  Deno.exit(2);
}
/** Agent worker processes per N (`--workers`); by default 1 up to 100 agents, 2 up to 1 000, 4 above. */
const workersWanted = values.workers === undefined ? undefined : Number(values.workers);
if (workersWanted !== undefined && !(Number.isInteger(workersWanted) && workersWanted >= 1)) {
  console.error("error: --workers must be a whole number of at least 1");
  Deno.exit(2);
}
if (profileDir) await Deno.mkdir(profileDir, { recursive: true });

function log(msg: string): void {
  console.error(`bench: ${msg}`);
}
// The NATS client can throw out of a callback in a reconnect storm (see worker.ts): the
// orchestrator logs it and goes on rather than lose the run.
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  log(`uncaught: ${(e.error as Error)?.message ?? e.message}`);
});

// ---------------------------------------------------------------------------- set-up
const root = await Deno.makeTempDir({ dir: values["state-root"], prefix: "atlas-bench-" });
const pki = values.tls ? await makePki(`${root}/tls`) : undefined;
/** What every client of the bench's NATS is given (agents, workers, control plane). */
const clientTls = pki ? { caFile: pki.caFile } : undefined;
const variant = { auth: !values.insecure, tls: values.tls!, metrics: values.metrics! };
const server = await startNatsServer({
  serverName: "bench",
  ...(natsProfPort ? { extraConfig: `prof_port: ${natsProfPort}` } : {}),
  ...(values.insecure ? { auth: false as const } : {}),
  ...(pki ? { tls: serverTls(pki) } : {}),
});
const auth = server.auth;
// The orchestration and the floor are plain core NATS on `bench.>`, which no Atlas role
// may use: they run as the system user (an account of their own); agents get their own
// credentials, issued in the workers (ATLAS_BENCH_ISSUER).
const benchCreds = auth?.systemCreds;
const workerEnv: Record<string, string> = auth
  ? {
    ATLAS_BENCH_CREDS: auth.systemCreds,
    ATLAS_BENCH_ISSUER: JSON.stringify(issuerOf(auth.setup)),
  }
  : {};
const keyFile = `${root}/signing.key`;
const key = generateSigningKey();
await Deno.writeTextFile(keyFile, JSON.stringify(key));
const trustedKeys = [new Signer(key).trustedKey];
const control = await startControl({
  nats: server.url,
  ...(auth ? { credentials: await auth.creds("control") } : {}),
  port: 0,
  signingKey: keyFile,
  tokens: [tokenFileEntry("bench", "admin", TOKEN)],
  regions: [REGION],
  ...(clientTls ? { natsTls: clientTls } : {}),
});
const nc = await connect({
  servers: server.url,
  name: "bench orchestrator",
  maxReconnectAttempts: -1, // the storm row restarts the server
  ...(clientTls ? { tls: clientTls } : {}),
  ...(benchCreds ? { authenticator: natsCredsAuthenticator(benchCreds) } : {}),
});
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${control.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

await api("PUT", `/v1/configs/${CONFIG}`, { description: "benchmark" });
// A control plane is a long-running service: measure it warm (JIT-compiled), not in its
// first seconds. The agents are not warmed: a real agent applies rarely and runs cold.
const WARMUP = "bench.warmup";
await api("PUT", `/v1/configs/${WARMUP}`, { description: "benchmark warm-up" });
for (let i = 0; i < 200; i++) {
  const v = await api<{ version: number }>("POST", `/v1/configs/${WARMUP}/versions`, {
    content: `{"warm":${i}}`,
  });
  await api("POST", `/v1/configs/${WARMUP}/activate`, { version: v.version, regions: [REGION] });
}
let round = 0;
/** ~1 KB of JSON, the median config size of Meta's Configerator (README.md, measured facts). */
function content(): string {
  round++;
  const limits = Object.fromEntries(
    Array.from({ length: 24 }, (_, i) => [`limit_${i}`, round * 100 + i]),
  );
  return JSON.stringify({ round, service: "checkout", region: REGION, limits }, null, 2) + "\n";
}

/** Collects acks by pointer seq, as they are published (core subscription). */
class AckCounter {
  readonly #bySeq = new Map<number, Set<string>>();
  /** The slowest ack by seq: its agent and its own latency (pointer issued → ack built). */
  readonly slowest = new Map<number, { agent: string; latencyMs: number }>();
  #waiter: { seq: number; n: number; resolve: () => void } | undefined;
  /** Per version tracked: each agent's first applied ack's arrival, wall-clock ms. */
  readonly #arrivals = new Map<number, Map<string, number>>();
  /** Starts recording when each agent's first applied ack of `version` arrives. */
  track(version: number): Map<string, number> {
    const m = new Map<string, number>();
    this.#arrivals.set(version, m);
    return m;
  }
  constructor(conn: NatsConnection) {
    conn.subscribe(Subjects.acksOf(REGION, CONFIG), {
      callback: (_e, m) => {
        // Only counting, in the process being measured: no schema parse per ack.
        const ack = m.json() as Pick<
          AckRecord,
          "agent" | "seq" | "status" | "latencyMs" | "version"
        >;
        if (ack.status !== "applied") return;
        const arrivals = this.#arrivals.get(ack.version);
        if (arrivals && !arrivals.has(ack.agent)) arrivals.set(ack.agent, Date.now());
        if ((this.slowest.get(ack.seq)?.latencyMs ?? -1) < ack.latencyMs) {
          this.slowest.set(ack.seq, { agent: ack.agent, latencyMs: ack.latencyMs });
        }
        let set = this.#bySeq.get(ack.seq);
        if (!set) this.#bySeq.set(ack.seq, set = new Set());
        set.add(ack.agent);
        const w = this.#waiter;
        if (w && ack.seq === w.seq && set.size >= w.n) w.resolve();
      },
    });
  }
  /** Resolves when `n` agents acked `seq` (or rejects after `timeoutMs`). */
  wait(seq: number, n: number, timeoutMs: number): Promise<void> {
    if ((this.#bySeq.get(seq)?.size ?? 0) >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(
          new Error(`only ${this.#bySeq.get(seq)?.size ?? 0} of ${n} agents acked seq ${seq}`),
        );
      }, timeoutMs);
      this.#waiter = {
        seq,
        n,
        resolve: () => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve();
        },
      };
    });
  }
}
// Acks are in the ATLAS account: counted on a connection of the control-plane role.
const ackConn: AtlasNats = auth
  ? await auth.connect(server.url, "control", {
    name: "bench acks",
    ...(clientTls ? { tls: clientTls } : {}),
  })
  : await connectAtlas(server.url, {
    name: "bench acks",
    ...(clientTls ? { tls: clientTls } : {}),
  });
const acks = new AckCounter(ackConn.nc);
await nc.flush();

// ------------------------------------------------------------------------- workers
interface Worker {
  index: number;
  child: Deno.ChildProcess;
  /** Sends one command line to the worker's stdin. */
  send: (line: string) => Promise<void>;
  /** Answers awaited, by command id. */
  pending: Map<number, (r: Record<string, unknown>) => void>;
}
let commandIds = 0;

async function spawnWorkers(count: number): Promise<Worker[]> {
  return await Promise.all(Array.from({ length: count }, async (_, index) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        WORKER,
        server.url,
        String(index),
        JSON.stringify({ tls: clientTls ?? null, metrics: variant.metrics }),
      ],
      env: workerEnv,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const pending = new Map<number, (r: Record<string, unknown>) => void>();
    const ready = Promise.withResolvers<void>();
    pending.set(0, () => ready.resolve());
    (async () => {
      let buffered = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.startsWith("@@bench ")) continue; // anything else a library printed
          const r = JSON.parse(line.slice(8)) as Record<string, unknown> & { id: number };
          pending.get(r.id)?.(r);
          pending.delete(r.id);
        }
      }
      ready.reject(new Error(`worker ${index} exited`));
    })().catch(() => {});
    const writer = child.stdin.getWriter();
    const encoder = new TextEncoder();
    await ready.promise;
    return { index, child, pending, send: (line) => writer.write(encoder.encode(line)) };
  }));
}

async function tell(
  w: Worker,
  cmd: string,
  arg: unknown = {},
  timeout = 300_000,
): Promise<Record<string, unknown>> {
  const id = ++commandIds;
  const answered = Promise.withResolvers<Record<string, unknown>>();
  const timer = setTimeout(() => {
    w.pending.delete(id);
    answered.reject(new Error(`worker ${w.index} ${cmd}: no answer within ${timeout} ms`));
  }, timeout);
  w.pending.set(id, (r) => {
    clearTimeout(timer);
    answered.resolve(r);
  });
  await w.send(`${JSON.stringify({ id, cmd, arg })}\n`);
  const r = await answered.promise;
  if (!r.ok) throw new Error(`worker ${w.index} ${cmd}: ${r.error}`);
  return r;
}

function split(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

async function serverRss(): Promise<number> {
  const varz = await (await fetch(`${server.monitorUrl}/varz`)).json() as { mem: number };
  return varz.mem;
}

/** CPU time (user + system) of the nats-server process in µs (Linux; 0 elsewhere). */
function serverCpuMicros(): Promise<number> {
  return processCpuMicros(server.pid);
}

/** CPU time of this process (control plane and orchestrator) in µs. */
function ownCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

const pause = (msec: number) => new Promise((r) => setTimeout(r, msec));

// ---------------------------------------------------------------------- measuring
interface Row {
  name: string;
  n: number;
  summary: Summary;
  /** Every measurement, in the order taken (round 1 first). */
  samples?: number[];
  floorP50?: number;
}
const rows: Row[] = [];
const resources: Record<string, number | string>[] = [];
const rollouts: RolloutResult[] = [];
const storms: StormResult[] = [];

for (const n of sizes) {
  const workerCount = Math.min(n, workersWanted ?? (n <= 100 ? 1 : n <= 1000 ? 2 : 4));
  const rounds = n >= 10_000 ? Math.max(5, Math.floor(baseRounds / 2)) : baseRounds;
  log(`N=${n}: ${workerCount} worker process(es), ${rounds} rounds`);
  const workers = await spawnWorkers(workerCount);
  const shares = split(n, workerCount);
  try {
    // nats-server's RSS before any of the N connect: per-connection RSS is over this.
    const serverRssBase = await serverRss();
    // The floor: one core publish to N subscribers, each replying once; time to N-th reply.
    await Promise.all(workers.map((w, i) => tell(w, "floor-start", { count: shares[i] })));
    // The floor's idle cost: N bare connections, a subscription each, nothing sent.
    const idleWindowMs = quick ? 3_000 : 5_000;
    await pause(2_000); // as long as the agents' window waits after their rounds
    const floorIdleStart = await serverCpuMicros();
    const floorWorkersIdleStart = await Promise.all(workers.map((w) => tell(w, "usage")));
    await pause(idleWindowMs);
    const floorIdleMicros = (await serverCpuMicros()) - floorIdleStart;
    const floorWorkersIdleMicros = _cpuBetween(
      floorWorkersIdleStart,
      await Promise.all(workers.map((w) => tell(w, "usage"))),
    );
    const floorRss = await serverRss();
    const floorCpuAtStart = await serverCpuMicros();
    const floorWorkersAtStart = await Promise.all(workers.map((w) => tell(w, "usage")));
    const floorStartedAt = performance.now();
    const floor: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const inbox = `bench.floor.reply.${r}`;
      let got = 0;
      const done = Promise.withResolvers<void>();
      const sub = nc.subscribe(inbox, {
        callback: () => {
          if (++got === n) done.resolve();
        },
      });
      await nc.flush();
      const t0 = performance.now();
      nc.publish("bench.floor", "", { reply: inbox });
      await done.promise;
      floor.push(performance.now() - t0);
      sub.unsubscribe();
      await pause(50);
    }
    // nats-server CPU per reply delivered (the publish, N deliveries, N replies).
    const floorServerMicrosPerReply = Math.round(
      ((await serverCpuMicros()) - floorCpuAtStart) / (n * rounds),
    );
    // The subscribers' CPU per reply (one message read, one published), less their idle
    // CPU over as long: what the NATS client costs a process per message in, message out.
    const floorWorkersMicros = _cpuBetween(
      floorWorkersAtStart,
      await Promise.all(workers.map((w) => tell(w, "usage"))),
    );
    const floorSeconds = (performance.now() - floorStartedAt) / 1000;
    const floorClientMicrosPerReply = Math.round(
      (floorWorkersMicros - (floorWorkersIdleMicros / (idleWindowMs / 1000)) * floorSeconds) /
        (n * rounds),
    );
    await Promise.all(workers.map((w) => tell(w, "floor-stop")));
    const floorSummary = summarize(floor);
    rows.push({ name: "floor: core publish → N replies", n, summary: floorSummary });

    // Agents: the real code path. Start them on the current version.
    const stateRoot = `${root}/agents-${n}`;
    const t0 = performance.now();
    const started = await Promise.all(workers.map((w, i) =>
      tell(w, "agents-start", {
        count: shares[i],
        first: shares.slice(0, i).reduce((a, b) => a + b, 0),
        region: REGION,
        config: CONFIG,
        stateRoot,
        trustedKeys,
        agentConfig,
      })
    ));
    const publicKeys = Object.assign(
      {},
      ...started.map((s) => s.publicKeys as Record<string, string>),
    ) as Record<string, string>;
    log(`N=${n}: ${n} agents connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await pause(1_000);
    // The server's RSS with the agents connected and nothing applied yet: the connections
    // and their permissions, apart from what the rounds leave (acks stored, heap grown).
    const connectedRss = await serverRss();

    const publish: number[] = [];
    const publishCall: number[] = [];
    const activateCall: number[] = [];
    const fanOut: number[] = [];
    const rollback: number[] = [];
    const rollbackCall: number[] = [];
    // Each agent heartbeats 0.5–1.5 s after it applies; at 10 000 agents that wave of KV
    // writes takes a few seconds more. A round must not start inside the last one's.
    const settleMs = n >= 10_000 ? 4_000 : n >= 1_000 ? 2_000 : 300;
    const profiler = profileDir ? new Profiler() : undefined;
    const cpuAtStart = await Promise.all(workers.map((w) => tell(w, "usage")));
    const [serverCpuAtStart, ownCpuAtStart] = [await serverCpuMicros(), ownCpuMicros()];
    const roundsStart = performance.now();
    if (profiler) {
      await Promise.all(workers.map((w) => tell(w, "profile-start")));
      await profiler.start();
    }
    for (let r = 0; r < rounds; r++) {
      const body = content();
      const start = performance.now();
      const v = await api<{ version: number }>("POST", `/v1/configs/${CONFIG}/versions`, {
        content: body,
      });
      const published = performance.now();
      const moved = await api<{ regions: { seq: number }[] }>(
        "POST",
        `/v1/configs/${CONFIG}/activate`,
        {
          version: v.version,
          regions: [REGION],
        },
      );
      const activated = performance.now();
      await acks.wait(moved.regions[0]!.seq, n, 120_000);
      const end = performance.now();
      _explainOutlier("publish + activate", end - start, moved.regions[0]!.seq);
      publish.push(end - start);
      publishCall.push(published - start);
      activateCall.push(activated - published);
      fanOut.push(end - activated);
      await pause(settleMs); // let the post-apply heartbeats settle
      if (r % 2 === 1 || (rounds < 4 && r > 0)) { // a rollback needs an earlier version
        const rb0 = performance.now();
        const back = await api<{ regions: { seq: number }[] }>(
          "POST",
          `/v1/configs/${CONFIG}/rollback`,
          {
            regions: [REGION],
          },
        );
        rollbackCall.push(performance.now() - rb0);
        await acks.wait(back.regions[0]!.seq, n, 120_000);
        rollback.push(performance.now() - rb0);
        _explainOutlier("rollback", rollback.at(-1)!, back.regions[0]!.seq);
        await pause(settleMs);
      }
    }
    const cpuAtEnd = await Promise.all(workers.map((w) => tell(w, "usage")));
    const serverRoundsMicros = (await serverCpuMicros()) - serverCpuAtStart;
    const ownRoundsMicros = ownCpuMicros() - ownCpuAtStart;
    const roundsSeconds = (performance.now() - roundsStart) / 1000;
    const roundsCpuMicros = _cpuBetween(cpuAtStart, cpuAtEnd);
    if (profiler) await _saveProfiles(profiler, workers, n);
    rows.push({
      name: "publish + activate → N applied+acked",
      n,
      summary: summarize(publish),
      samples: publish,
      floorP50: floorSummary.p50,
    });
    rows.push({ name: "  of which: publish API call", n, summary: summarize(publishCall) });
    rows.push({ name: "  of which: activate API call", n, summary: summarize(activateCall) });
    rows.push({
      name: "  of which: activate reply → N-th ack",
      n,
      summary: summarize(fanOut),
      samples: fanOut,
    });
    rows.push({
      name: "rollback → N applied+acked",
      n,
      summary: summarize(rollback),
      samples: rollback,
      floorP50: floorSummary.p50,
    });
    rows.push({
      name: "  of which: rollback API call",
      n,
      summary: summarize(rollbackCall),
      samples: rollbackCall,
    });

    // Idle cost: RSS and CPU of the agent processes over a quiet window.
    await pause(2_000);
    const before = await Promise.all(workers.map((w) => tell(w, "usage")));
    const [serverIdleStart, ownIdleStart] = [await serverCpuMicros(), ownCpuMicros()];
    // The agents' quiet window: `--idle-seconds` (default as the floor's). Their periodic
    // work is a 60 s keep-alive and a 30 s beacon, so a window of a few seconds samples a
    // few of them; 60 s sees every agent's keep-alive once.
    const windowMs = idleSeconds ? idleSeconds * 1000 : idleWindowMs;
    await pause(windowMs);
    const after = await Promise.all(workers.map((w) => tell(w, "usage")));
    const serverIdleMicros = (await serverCpuMicros()) - serverIdleStart;
    const ownIdleMicros = ownCpuMicros() - ownIdleStart;
    const cpuMicros = _cpuBetween(before, after);
    const rss = after.reduce((s, a) => s + (a.rss as number), 0);
    // A process's CPU over the rounds less what it burns idle in as long, per agent apply
    // (publish rounds and rollbacks; each apply's ack and heartbeat included). The
    // server's idle is the agents' heartbeats and reconciles.
    const applies = n * (rounds + rollback.length);
    const perApply = (roundsMicros: number, idleMicros: number) =>
      Math.round((roundsMicros - (idleMicros / (windowMs / 1000)) * roundsSeconds) / applies);
    resources.push({
      n,
      agentCpuMicrosPerApply: perApply(roundsCpuMicros, cpuMicros),
      natsServerCpuMicrosPerApply: perApply(serverRoundsMicros, serverIdleMicros),
      controlCpuMicrosPerApply: perApply(ownRoundsMicros, ownIdleMicros),
      natsServerIdleCpuPercent: +((serverIdleMicros / (windowMs * 1000)) * 100).toFixed(1),
      workerProcesses: workerCount,
      agentRssMiBPerProcess: +(rss / workerCount / 2 ** 20).toFixed(1),
      agentRssKiBPerAgent: +(rss / n / 1024).toFixed(1),
      agentCpuPercentPerProcess: +((cpuMicros / workerCount / (windowMs * 1000)) * 100).toFixed(2),
      agentCpuMicrosPerAgentPerSecond: +(cpuMicros / n / (windowMs / 1000)).toFixed(1),
      natsServerRssMiB: +((await serverRss()) / 2 ** 20).toFixed(1),
      natsServerRssKiBPerAgent: +(((await serverRss()) - serverRssBase) / n / 1024).toFixed(1),
      natsServerRssKiBPerAgentConnected: +((connectedRss - serverRssBase) / n / 1024).toFixed(1),
      // The floors, same N, same run: N bare core-NATS connections with a subscription each.
      floorNatsServerRssKiBPerConnection: +((floorRss - serverRssBase) / n / 1024).toFixed(1),
      floorNatsServerIdleCpuPercent: +((floorIdleMicros / (idleWindowMs * 1000)) * 100).toFixed(1),
      floorNatsServerCpuMicrosPerReply: floorServerMicrosPerReply,
      floorClientCpuMicrosPerReply: floorClientMicrosPerReply,
    });
    // What went wrong in the agents (retries, timeouts), if anything: it explains outliers.
    const troubles = _sumCounts(after, "troubles");
    for (const [kind, count] of Object.entries(troubles).sort((a, b) => b[1] - a[1]).slice(0, 8)) {
      log(`N=${n}: agents logged ${count}× ${kind}`);
    }
    const counted = Object.entries(_sumCounts(after, "stats")).filter(([, v]) => v > 0);
    log(
      `N=${n}: agents counted ${counted.map(([k, v]) => `${k} ${v}`).join(", ")} ` +
        `(${applies} applies measured)`,
    );
    const slow = (await server.logTail(100_000)).match(/[Ss]low [Cc]onsumer/g)?.length ?? 0;
    if (slow > 0) log(`N=${n}: nats-server logged ${slow} slow consumer(s)`);
    const coordEnv: Record<string, string> = auth
      ? {
        ATLAS_BENCH_CREDS: auth.systemCreds,
        ATLAS_BENCH_COORD_CREDS: await auth.creds({ kind: "coordinator", region: REGION }),
      }
      : {};
    if (values.rollout) {
      log(`N=${n}: staged rollout (1 %, 10 %, 100 %), coordinator stepping every ${tickMs} ms`);
      const r = await rolloutRow(
        {
          nc,
          admin: ackConn,
          url: server.url,
          region: REGION,
          config: CONFIG,
          keyFile,
          env: coordEnv,
          tickMs,
          api,
          trackAcks: (v) => acks.track(v),
          content,
          log,
          profileDir,
        },
        n,
        publicKeys,
      );
      rollouts.push(r);
      log(`N=${n}: rollout ${JSON.stringify(r)}`);
      await pause(settleMs);
    }
    if (values.storm) {
      // The region's coordinator runs through the storm, as in production: its beacons tell
      // the agents how widely to spread their reconnects (core/reconnect.ts).
      const coordinator = await startCoordinatorProcess({
        nc,
        url: server.url,
        region: REGION,
        keyFile,
        env: coordEnv,
        tickMs,
      });
      let s: StormResult;
      try {
        const spreadMs = await beaconSpread(ackConn, REGION, reconnectSpreadMs(n), log);
        log(`N=${n}: reconnect storm: restarting nats-server under ${n} agents`);
        s = await stormRow({
          server,
          // Workers busy reconnecting thousands of agents on a loaded machine answer slowly.
          tellAll: (cmd, arg) => Promise.all(workers.map((w) => tell(w, cmd, arg ?? {}, 30_000))),
          saturatedPercent,
          reconnectSpreadMs: spreadMs,
          log,
        }, n);
      } finally {
        await coordinator.close();
      }
      storms.push(s);
      log(`N=${n}: storm ${JSON.stringify({ ...s, serverCpuPercentPerSecond: undefined })}`);
    }
    // After a storm some agents' NATS clients may hang in close: do not lose the run to it.
    await Promise.all(workers.map((w) => tell(w, "agents-stop", {}, 60_000))).catch((e) =>
      log(`N=${n}: stopping the agents: ${(e as Error).message}`)
    );
  } finally {
    await Promise.all(workers.map((w) => tell(w, "exit").catch(() => {})));
    await Promise.all(workers.map((w) => w.child.status));
    await Deno.remove(`${root}/agents-${n}`, { recursive: true }).catch(() => {});
  }
}

/** Worker CPU in µs between two `usage` answers of every worker. */
function _cpuBetween(start: Record<string, unknown>[], end: Record<string, unknown>[]): number {
  return end.reduce(
    (sum, a, i) => sum + (a.cpuMicros as number) - (start[i]!.cpuMicros as number),
    0,
  );
}

/** Sums the counters under `field` of every worker's `usage` answer, by name. */
function _sumCounts(usages: Record<string, unknown>[], field: string): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const u of usages) {
    for (const [k, v] of Object.entries(u[field] as Record<string, number>)) {
      sum[k] = (sum[k] ?? 0) + v;
    }
  }
  return sum;
}

/**
 * Logs a round over 10 s with its slowest agent's own latency (from the pointer's
 * `issuedAt` to the ack it built): close to the round's time means the agent applied late,
 * far below it means its ack was held up on the way.
 */
function _explainOutlier(what: string, ms: number, seq: number): void {
  if (ms < 10_000) return;
  const slowest = acks.slowest.get(seq);
  log(
    `${what} to seq ${seq} took ${(ms / 1000).toFixed(1)} s; slowest agent ${slowest?.agent}: ` +
      `${((slowest?.latencyMs ?? NaN) / 1000).toFixed(1)} s from pointer to ack`,
  );
}

/** Stops the profilers of one N, writes the files and prints the summaries. */
async function _saveProfiles(profiler: Profiler, workers: Worker[], n: number): Promise<void> {
  const control = await profiler.stop();
  await Deno.writeTextFile(`${profileDir}/control-n${n}.cpuprofile`, JSON.stringify(control));
  const files = workers.map((w) => `${profileDir}/agents-n${n}-w${w.index}.cpuprofile`);
  await Promise.all(workers.map((w, i) => tell(w, "profile-stop", { file: files[i] })));
  const agents = await Promise.all(
    files.map(async (f) => JSON.parse(await Deno.readTextFile(f)) as CpuProfile),
  );
  for (
    const [who, profiles] of [["agent workers", agents], ["control plane + orchestrator", [
      control,
    ]]] as const
  ) {
    const { functions, packages } = summarizeProfiles([...profiles]);
    console.log(`\nN=${n}, ${who}: self time by function (busy samples only)`);
    console.log(table(["function", "where", "share"], functions));
    console.log(table(["package", "share"], packages));
  }
  log(`profiles written to ${profileDir}`);
}

// ------------------------------------------------------------------ control plane
log("control plane throughput");
await api("PUT", "/v1/configs/bench.tp", { description: "throughput" });
const seqCount = quick ? 100 : 300;
let t = performance.now();
for (let i = 0; i < seqCount; i++) {
  await api("POST", "/v1/configs/bench.tp/versions", { content: `{"i":${i}}` });
}
const seqRate = seqCount / ((performance.now() - t) / 1000);
const concCount = quick ? 200 : 600;
/** 8 clients publishing `concCount` versions, to 8 configs or all to one. */
async function concurrentPublishes(configs: string[]): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: 8 }, async (_, c) => {
    while (next < concCount) {
      const i = next++;
      await api("POST", `/v1/configs/${configs[c % configs.length]}/versions`, {
        content: `{"c":${i}}`,
      });
    }
  }));
  return concCount / ((performance.now() - start) / 1000);
}
const own = Array.from({ length: 8 }, (_, i) => `bench.tp${i}`);
for (const c of own) await api("PUT", `/v1/configs/${c}`, { description: "throughput" });
const concRate = await concurrentPublishes(own);
const sameRate = await concurrentPublishes(["bench.tp"]);
const readWindow = quick ? 2_000 : 5_000;
let reads = 0;
t = performance.now();
await Promise.all(Array.from({ length: 8 }, async () => {
  while (performance.now() - t < readWindow) {
    const res = await fetch(`${control.url}/v1/configs/bench.tp`, { headers });
    await res.arrayBuffer();
    reads++;
  }
}));
const readRate = reads / ((performance.now() - t) / 1000);

// -------------------------------------------------------------------------- report
const natsVersion = new TextDecoder().decode(
  (await new Deno.Command(findNatsServer(), { args: ["--version"] }).output().catch(() => ({
    stdout: new Uint8Array(),
  })))
    .stdout,
).trim();
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  deno: Deno.version.deno,
  natsServer: natsVersion,
};
console.log(
  `\nAtlas benchmark — ${
    new Date().toISOString()
  } — ${machine.cpus} cores, ${machine.cpuModel}, ${machine.natsServer}, deno ${machine.deno}${
    quick ? " (quick)" : ""
  }\n`,
);
console.log(table(
  ["latency (ms)", "N", "rounds", "p50", "p95", "p99", "max", "p50 ÷ floor p50"],
  rows.map((r) => [
    r.name,
    r.n,
    r.summary.n,
    ms(r.summary.p50),
    ms(r.summary.p95),
    ms(r.summary.p99),
    ms(r.summary.max),
    r.floorP50 !== undefined
      ? (r.summary.p50 / r.floorP50).toFixed(2)
      : r.name.startsWith("floor")
      ? "1.00 (floor)"
      : "",
  ]),
));
console.log();
console.log(table(
  ["control plane (8 clients where concurrent)", "per second"],
  [
    ["publishes, sequential", seqRate.toFixed(0)],
    ["publishes, 8 concurrent clients, a config each", concRate.toFixed(0)],
    ["publishes, 8 concurrent clients, one config (number races)", sameRate.toFixed(0)],
    ["config reads (GET /v1/configs/{name}), 8 concurrent", readRate.toFixed(0)],
  ],
));
console.log();
console.log(table(
  [
    "agent cost at N",
    "worker procs",
    "RSS MiB/proc",
    "RSS KiB/agent",
    "CPU %/proc",
    "CPU µs/agent/s",
    "CPU µs/apply",
    "nats-server CPU µs/apply",
    "nats-server idle CPU %",
    "control+bench CPU µs/apply",
    "nats-server RSS MiB",
    "nats-server RSS KiB/agent, connected → after the rounds",
  ],
  resources.map((r) => [
    String(r.n),
    r.workerProcesses!,
    r.agentRssMiBPerProcess!,
    r.agentRssKiBPerAgent!,
    r.agentCpuPercentPerProcess!,
    r.agentCpuMicrosPerAgentPerSecond!,
    r.agentCpuMicrosPerApply!,
    r.natsServerCpuMicrosPerApply!,
    r.natsServerIdleCpuPercent!,
    r.controlCpuMicrosPerApply!,
    r.natsServerRssMiB!,
    `${r.natsServerRssKiBPerAgentConnected} → ${r.natsServerRssKiBPerAgent}`,
  ]),
));
// ---------------------------------------------------------------- issue 15's targets
/** One measure at one N: its value, its floor in the same run (if any) and its target. */
const targetRows: (string | number)[][] = [];
const scale: {
  key: keyof typeof TARGETS;
  n: number;
  value: number;
  floor: number | null;
  floorIs: string | null;
}[] = [];
function addTarget(
  key: keyof typeof TARGETS,
  n: number,
  value: number,
  floor?: { value: number; is: string },
): void {
  const t = TARGETS[key];
  scale.push({ key, n, value, floor: floor?.value ?? null, floorIs: floor?.is ?? null });
  targetRows.push([
    t.measure,
    n,
    `${+value.toFixed(1)} ${t.unit}`,
    floor ? `${+floor.value.toFixed(1)} (${floor.is})` : "",
    `≤ ${t.target} ${t.unit}`,
    Number.isFinite(value) && value <= t.target ? "met" : "not met",
  ]);
}
for (const r of resources) {
  const n = r.n as number;
  const fan = rows.find((x) => x.n === n && x.name.startsWith("publish + activate"));
  const fl = rows.find((x) => x.n === n && x.name.startsWith("floor"));
  if (n === 1 && fan && fl) {
    addTarget("oneAgentP50Ms", n, fan.summary.p50, {
      value: fl.summary.p50,
      is: "publish → 1 reply",
    });
  }
  // Per-agent shares of a server and per-apply CPU over one agent are noise and fixed cost.
  if (n < 100) continue;
  addTarget("natsServerRssKiBPerAgent", n, r.natsServerRssKiBPerAgent as number, {
    value: r.floorNatsServerRssKiBPerConnection as number,
    is: "bare connection + 1 sub",
  });
  addTarget("natsServerIdleCpuPercent", n, r.natsServerIdleCpuPercent as number, {
    value: r.floorNatsServerIdleCpuPercent as number,
    is: "N bare connections",
  });
  addTarget("agentCpuMicrosPerApply", n, r.agentCpuMicrosPerApply as number, {
    value: r.floorClientCpuMicrosPerReply as number,
    is: "a subscriber's per floor reply",
  });
  addTarget("natsServerCpuMicrosPerApply", n, r.natsServerCpuMicrosPerApply as number, {
    value: r.floorNatsServerCpuMicrosPerReply as number,
    is: "per floor reply",
  });
  if (fan && fl) {
    addTarget("fanOutP99Ms", n, fan.summary.p99, {
      value: fl.summary.p99,
      is: "publish → N replies",
    });
  }
}
for (const r of rollouts) {
  addTarget("stagesOverheadMs", r.n, r.stagesOverheadMs);
  addTarget("coordinatorCpuMsPerStep", r.n, r.coordinatorCpuMsPerStep.max);
  addTarget("coordinatorStepOwnCpuMs", r.n, r.coordinatorStepOwnCpuMsPerStep.p50);
}
for (const s of storms) {
  addTarget("stormReconciledMs", s.n, s.reconciledMs);
  addTarget("stormSaturatedSeconds", s.n, s.serverSaturatedSeconds);
  addTarget("stormRepeatedApplies", s.n, s.repeatedApplies);
}
console.log();
console.log(table(["measure (issue 15)", "N", "now", "floor, same run", "target", ""], targetRows));
for (const r of rollouts) {
  console.log(
    `\nrollout at N=${r.n}: ${r.totalMs} ms start → succeeded, ${r.steps} steps of ${r.tickMs} ms`,
  );
  console.log(table(
    ["stage", "agents", "notice → share applied ms", "gates met → next pointer ms"],
    r.stages.map((s) => [`${s.percent} %`, s.agents, s.fanOutMs, s.overheadMs]),
  ));
  const perStep = (p: { p50: number; p95: number; max: number }) =>
    `p50 ${p.p50} / p95 ${p.p95} / max ${p.max} ms`;
  console.log(
    `coordinator CPU per step ${perStep(r.coordinatorCpuMsPerStep)}; of it inside the ` +
      `follows of acks and agent records ${perStep(r.coordinatorFollowCpuMsPerStep)}; the ` +
      `steps' own ${perStep(r.coordinatorStepOwnCpuMsPerStep)}` +
      (r.coordinatorStepOwnMainThreadCpuMsPerStep
        ? ` (on the JS thread alone ${perStep(r.coordinatorStepOwnMainThreadCpuMsPerStep)})`
        : "") +
      (r.coordinatorLargestStepByThreadMicros
        ? `; the largest step by thread, ms: ${
          threadCpuLine(r.coordinatorLargestStepByThreadMicros)
        }`
        : "") +
      `. Follows in all ${r.coordinatorFollowCpuMs} ms; ${r.coordinatorCpuMsOutsideSteps} ms ` +
      `CPU between steps` +
      (r.coordinatorAckCheckCpuMsPerStep
        ? `. Beside the steps, ack check threads ${perStep(r.coordinatorAckCheckCpuMsPerStep)} ` +
          `per step, ${r.coordinatorAckCheckCpuMs} ms for ${r.coordinatorAckChecks} acks in all`
        : ""),
  );
}
for (const s of storms) {
  console.log(
    `\nreconnect storm at N=${s.n}: server down ${s.downMs} ms; reconnect window from the ` +
      `beacon ${s.reconnectSpreadMs ?? "none"} ms; all reconnected ${s.reconnectedMs} ms ` +
      `and reconciled ${s.reconciledMs} ms after it was back (${s.reconnected} reconnected, ` +
      `${s.reconciled} reconciled of ${s.n}); ` +
      `server CPU max ${s.serverCpuMaxPercent} % of a core, ${s.serverSaturatedSeconds} s at ≥ ` +
      `${s.saturatedPercent} % (longest run ${s.serverSaturatedLongestRunSeconds} s); ` +
      `${s.repeatedApplies} agents applied again` +
      (Object.keys(s.uncaughtInWorkers).length
        ? `; thrown uncaught in the agents' NATS client: ${
          JSON.stringify(s.uncaughtInWorkers)
        }, ${s.restartedAgents} agents restarted`
        : ""),
  );
}

const result = {
  date: new Date().toISOString(),
  quick,
  /** NATS authorization: on (each agent its own credentials) or off (--insecure). */
  natsAuth: auth ? "on" : "off",
  variant,
  machine,
  latencyMs: rows.map((r) => ({
    name: r.name,
    agents: r.n,
    rounds: r.summary.n,
    p50: r.summary.p50,
    p95: r.summary.p95,
    p99: r.summary.p99,
    max: r.summary.max,
    ...(r.samples ? { samples: r.samples.map((x) => +x.toFixed(1)) } : {}),
    ratioToFloorP50: r.floorP50
      ? r.summary.p50 / r.floorP50
      : r.name.startsWith("floor")
      ? 1
      : null,
  })),
  controlPlanePerSecond: {
    publishSequential: seqRate,
    publishConcurrent8: concRate,
    publishConcurrent8SameConfig: sameRate,
    readsConcurrent8: readRate,
  },
  idle: resources,
  /** Issue 15's measures, each with its floor from this run and its target. */
  scale: scale.map((x) => ({ ...x, target: TARGETS[x.key].target, unit: TARGETS[x.key].unit })),
  rollout: rollouts,
  storm: storms,
  /** agent.json fields given to every agent (--agent-config). */
  agentConfig,
};
if (values.out) {
  await Deno.writeTextFile(values.out, JSON.stringify(result, null, 2) + "\n");
} else {
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  const file = new URL(
    `./results/${result.date.slice(0, 16).replace(":", "")}Z${quick ? "-quick" : ""}${
      auth ? "" : "-insecure"
    }.json`,
    import.meta.url,
  );
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nwrote ${file.pathname}`);
}

await nc.close();
await ackConn.close();
await control[Symbol.asyncDispose]();
await server[Symbol.asyncDispose]();
await Deno.remove(root, { recursive: true }).catch(() => {});
