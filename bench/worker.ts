/**
 * A benchmark worker process: holds its share of the simulated agents (the real agent
 * code path: watch, fetch, verify, write, ack), or, for the floor, the same number of raw
 * core-NATS subscribers. Driven by the orchestrator over its stdin and stdout (JSON lines),
 * which a nats-server restart does not cut.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Agent, AgentConfigFile } from "@atlas/agent";
import {
  AckIdentity,
  issueCreds,
  NativeKeyPair,
  parseCredsText,
  type TrustedKey,
  type UserIssuer,
  Verifier,
} from "@atlas/core";
import { Prefix } from "@nats-io/nkeys";
import { agentMetrics, natsCredsAuthenticator } from "@atlas/store";
import { Profiler } from "./profile.ts";

const [url, index] = [Deno.args[0]!, Number(Deno.args[1])];
/** The variant: TLS towards NATS (the CA to trust), and agents with metrics. */
const options = JSON.parse(Deno.args[2] ?? "{}") as {
  tls?: { caFile: string } | null;
  metrics?: boolean;
};
const tls = options.tls ?? undefined;
const metrics = options.metrics ? agentMetrics() : undefined;
// With auth (see main.ts): orchestration and floor as the system user, agents with creds
// of their own issued here.
const benchCreds = Deno.env.get("ATLAS_BENCH_CREDS");
const issuerJson = Deno.env.get("ATLAS_BENCH_ISSUER");
const issuer = issuerJson ? JSON.parse(issuerJson) as UserIssuer : undefined;
const plain = {
  ...(benchCreds ? { authenticator: natsCredsAuthenticator(benchCreds) } : {}),
  ...(tls ? { tls } : {}),
};

let floor: NatsConnection[] = [];
let agents: Agent[] = [];
let profiler: Profiler | undefined;
/** Warnings and errors the agents logged, by message (timestamps and ids cut off). */
const troubles = new Map<string, number>();

/**
 * Per agent, for the reconnect-storm row (wall-clock ms): when it last logged a reconnect,
 * when it last failed to read a pointer, and when a reconcile last ended with every read
 * done. Applies at the storm's mark, to tell a repeated apply.
 */
const storm = {
  reconnectedAt: new Map<string, number>(),
  readFailedAt: new Map<string, number>(),
  reconciledAt: new Map<string, number>(),
  appliesAtMark: new Map<string, number>(),
  /** Agents restarted in the storm (storm-restart-silent). */
  restarted: new Set<string>(),
};
/** How to start each agent of this worker again (same id, keys, state dir). */
const starts = new Map<string, () => Promise<Agent>>();

/**
 * Errors thrown out of callbacks that nothing catches, by message. In a reconnect storm the
 * NATS client (@nats-io/transport-node 3.4 on Deno) throws "write after end" when the
 * server closes a socket it is about to answer an INFO on: an agent process would exit
 * there. A worker holds thousands of agents, so it counts them (the storm row reports them)
 * and goes on.
 */
const uncaught = new Map<string, number>();
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  const kind = String((e.error as Error)?.message ?? e.message).slice(0, 120);
  uncaught.set(kind, (uncaught.get(kind) ?? 0) + 1);
});

/**
 * An agent's log: only its warnings and errors are kept, counted by kind. An info line (one
 * per apply) costs a search or two, not a match: the bench's work is not the agents'.
 */
function agentLog(line: string): void {
  const reconnected = line.includes("reconnected to NATS");
  const readFailed = !reconnected && line.includes("cannot read pointer");
  if (reconnected || readFailed) {
    const id = / agent=(\S+)/.exec(line)?.[1];
    if (id) (reconnected ? storm.reconnectedAt : storm.readFailedAt).set(id, Date.now());
  }
  if (!line.includes(" WARN ") && !line.includes(" ERROR ")) return;
  const m = / (WARN|ERROR) agent (.*)$/.exec(line.replace(/ agent=\S+/, ""));
  if (!m) return;
  const kind = `${m[1]} ${m[2]!.replace(/\d+(\.\d+)?/g, "N").slice(0, 160)}`;
  troubles.set(kind, (troubles.get(kind) ?? 0) + 1);
}

/**
 * Opens `count` connections, at most `width` at a time (50: with NATS auth each connect
 * is a signed nonce the server verifies; 200 at once on a busy 2-core machine ran past
 * the server's 2 s authentication timeout).
 */
async function inBatches<T>(
  count: number,
  width: number,
  make: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += width) {
    out.push(
      ...await Promise.all(
        Array.from({ length: Math.min(width, count - i) }, (_, j) => make(i + j)),
      ),
    );
  }
  return out;
}

/**
 * Times the ends of `agent`'s reconciles (the bench's own view, the agent is not changed):
 * its connection calls `agent.reconcile()` on every reconnect, so the instance's method is
 * wrapped; a reconcile during which a pointer read failed does not count.
 */
function _timeReconciles(agent: Agent): void {
  const id = agent.config.id;
  const reconcile = agent.reconcile.bind(agent);
  agent.reconcile = async () => {
    const started = Date.now();
    await reconcile();
    if ((storm.readFailedAt.get(id) ?? 0) < started) storm.reconciledAt.set(id, Date.now());
  };
}

const handlers: Record<string, (arg: Record<string, unknown>) => Promise<unknown>> = {
  async "floor-start"(arg) {
    const count = arg.count as number;
    floor = await inBatches(count, 50, async () => {
      const nc = await connect({ servers: url, name: `bench floor ${index}`, ...plain });
      nc.subscribe("bench.floor", {
        callback: (_e, m) => {
          m.respond();
        },
      });
      await nc.flush();
      return nc;
    });
    return { connections: floor.length };
  },
  async "floor-stop"() {
    await Promise.all(floor.map((nc) => nc.close()));
    floor = [];
    return {};
  },
  async "agents-start"(arg) {
    const { count, first, region, config, stateRoot, trustedKeys, agentConfig } = arg as {
      count: number;
      first: number;
      region: string;
      config: string;
      stateRoot: string;
      trustedKeys: TrustedKey[];
      /** More agent.json fields (`deno task bench --agent-config '{…}'`), as given. */
      agentConfig?: Record<string, unknown>;
    };
    const verifier = new Verifier(trustedKeys);
    const publicKeys = new Map<string, string>();
    agents = await inBatches(count, 50, async (i) => {
      const id = `agent-${first + i}`;
      const credentials = issuer
        ? (await issueCreds(issuer, { kind: "agent", region, agent: id })).creds
        : undefined;
      // Its NATS credentials' seed when it has them (as an enrolled agent signs), else a
      // key of its own (--insecure).
      const identity = new AckIdentity(
        credentials
          ? parseCredsText(credentials).seed
          : new TextDecoder().decode(NativeKeyPair.create(Prefix.User).getSeed()),
      );
      publicKeys.set(id, identity.publicKey);
      const start = () =>
        Agent.start(
          AgentConfigFile.parse({
            id,
            region,
            nats: url,
            ...(credentials ? { credentials } : {}),
            stateDir: `${stateRoot}/${id}/state`,
            trustedKeys: "(in memory)",
            // watchFiles on, as by default: each agent looks at its file every second, and
            // hashes it again after each apply (its CPU is part of what is measured).
            ...(tls ? { tls } : {}),
            configs: { [config]: { path: `${stateRoot}/${id}/${config}.json` } },
            ...agentConfig,
          }),
          // Each signs its acks, as enrolled agents do (the cost is part of what is measured).
          { verifier, log: agentLog, metrics, identity },
        );
      starts.set(id, start);
      const agent = await start();
      await agent.whenConnected();
      _timeReconciles(agent);
      return agent;
    });
    // The key each signs its acks with, for the orchestrator to enrol (a coordinator counts
    // only enrolled agents' acks).
    return { agents: agents.length, publicKeys: Object.fromEntries(publicKeys) };
  },
  /** The storm's start: applies so far per agent; reconnects and reconciles after count. */
  "storm-mark"() {
    storm.appliesAtMark = new Map(agents.map((a) => [a.config.id, a.stats.applies]));
    storm.restarted.clear();
    return Promise.resolve({ at: Date.now() });
  },
  /**
   * Restarts, as a supervisor restarts an exited process, each agent not reconnected since
   * `since` (see `uncaught`: its NATS client died mid-connect and never retries). Its state
   * dir is kept; it counts as reconnected and reconciled once its first reconcile is done.
   */
  async "storm-restart-silent"(arg) {
    const since = arg.since as number;
    const silent = agents.filter((a) => (storm.reconnectedAt.get(a.config.id) ?? 0) < since);
    await inBatches(silent.length, 50, async (i) => {
      const old = silent[i]!;
      const id = old.config.id;
      const applied = old.stats.applies - (storm.appliesAtMark.get(id) ?? old.stats.applies);
      await old.close().catch(() => {});
      const agent = await starts.get(id)!();
      await agent.whenConnected();
      _timeReconciles(agent);
      agents[agents.indexOf(old)] = agent;
      // A new process counts from 0: carry over what the old one applied since the mark.
      storm.appliesAtMark.set(id, -applied);
      storm.restarted.add(id);
      storm.reconnectedAt.set(id, Date.now());
      storm.reconciledAt.set(id, Date.now());
    });
    return { restarted: silent.length };
  },
  /**
   * Since `since` (wall-clock ms): how many agents reconnected, how many of those then ran
   * a reconcile whose every read succeeded (and the last of each), and which applied
   * anything since the mark (no version moved: any apply is a repeat).
   */
  "storm-status"(arg) {
    const since = arg.since as number;
    let reconnected = 0, reconciled = 0, lastReconnect = 0, lastReconcile = 0;
    const repeated: string[] = [];
    for (const a of agents) {
      const id = a.config.id;
      const back = storm.reconnectedAt.get(id) ?? 0;
      if (back >= since) {
        reconnected++;
        lastReconnect = Math.max(lastReconnect, back);
        const done = storm.reconciledAt.get(id) ?? 0;
        if (done >= back) {
          reconciled++;
          lastReconcile = Math.max(lastReconcile, done);
        }
      }
      if (a.stats.applies > (storm.appliesAtMark.get(id) ?? a.stats.applies)) repeated.push(id);
    }
    return Promise.resolve({
      agents: agents.length,
      reconnected,
      reconciled,
      lastReconnect,
      lastReconcile,
      repeated: repeated.slice(0, 20),
      repeatedCount: repeated.length,
      uncaught: Object.fromEntries(uncaught),
      restarted: storm.restarted.size,
    });
  },
  async "agents-stop"() {
    await Promise.all(agents.map((a) => a.close()));
    agents = [];
    return {};
  },
  async "profile-start"() {
    profiler = new Profiler();
    await profiler.start();
    return {};
  },
  async "profile-stop"(arg) {
    const profile = await profiler!.stop();
    profiler = undefined;
    await Deno.writeTextFile(arg.file as string, JSON.stringify(profile));
    return {};
  },
  async usage() {
    // process.cpuUsage() is in µs of user+system time since start.
    const { cpuUsage } = await import("node:process");
    const cpu = cpuUsage();
    return {
      rss: Deno.memoryUsage().rss,
      cpuMicros: cpu.user + cpu.system,
      agents: agents.length,
      troubles: Object.fromEntries([
        ...troubles,
        ...[...uncaught].map(([k, v]) => [`UNCAUGHT ${k}`, v] as const),
      ]),
      // Summed agent counters: notices against applies tell a lost notice from a slow apply.
      stats: agents.reduce((sum, a) => {
        for (const [k, v] of Object.entries(a.stats)) sum[k] = (sum[k] ?? 0) + v;
        return sum;
      }, {} as Record<string, number>),
    };
  },
  exit() {
    setTimeout(() => Deno.exit(0), 50);
    return Promise.resolve({});
  },
};

// Commands come on stdin, one JSON line each ({id, cmd, arg}); answers go to stdout as
// lines after REPLY. Not over NATS: the storm row restarts the server under the workers.
const REPLY = "@@bench ";
const out = new TextEncoder();
const answer = (line: string) => Deno.stdout.writeSync(out.encode(`${REPLY}${line}\n`));
(async () => {
  let buffered = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const { id, cmd, arg } = JSON.parse(buffered.slice(0, nl)) as {
        id: number;
        cmd: string;
        arg: Record<string, unknown>;
      };
      buffered = buffered.slice(nl + 1);
      const handler = handlers[cmd];
      (handler ? handler(arg) : Promise.reject(new Error(`unknown command ${cmd}`))).then(
        (r) => answer(JSON.stringify({ id, ok: true, ...(r as object) })),
        (e) => answer(JSON.stringify({ id, ok: false, error: String(e) })),
      );
    }
  }
})();
answer(JSON.stringify({ id: 0, ok: true, ready: true }));
