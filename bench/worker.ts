/**
 * A benchmark worker process: holds its share of the simulated agents (the real agent
 * code path: watch, fetch, verify, write, ack), or, for the floor, the same number of raw
 * core-NATS subscribers. Driven by the orchestrator over core NATS on `bench.w.<index>.*`.
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
const control = await connect({ servers: url, name: `bench worker ${index}`, ...plain });

let floor: NatsConnection[] = [];
let agents: Agent[] = [];
let profiler: Profiler | undefined;
/** Warnings and errors the agents logged, by message (timestamps and ids cut off). */
const troubles = new Map<string, number>();

/** An agent's log: only its warnings and errors are kept, counted by kind. */
function agentLog(line: string): void {
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

const handlers: Record<string, (arg: Record<string, unknown>) => Promise<unknown>> = {
  async "floor-start"(arg) {
    const count = arg.count as number;
    floor = await inBatches(count, 50, async () => {
      const nc = await connect({ servers: url, ...plain });
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
    const { count, first, region, config, stateRoot, trustedKeys } = arg as {
      count: number;
      first: number;
      region: string;
      config: string;
      stateRoot: string;
      trustedKeys: TrustedKey[];
    };
    const verifier = new Verifier(trustedKeys);
    agents = await inBatches(count, 50, async (i) => {
      const id = `agent-${first + i}`;
      const credentials = issuer
        ? (await issueCreds(issuer, { kind: "agent", region, agent: id })).creds
        : undefined;
      const agent = await Agent.start(
        AgentConfigFile.parse({
          id,
          region,
          nats: url,
          ...(credentials ? { credentials } : {}),
          stateDir: `${stateRoot}/${id}/state`,
          trustedKeys: "(in memory)",
          watchFiles: false, // thousands per process: beyond the inotify instance limit
          ...(tls ? { tls } : {}),
          configs: { [config]: { path: `${stateRoot}/${id}/${config}.json` } },
        }),
        // Each signs its acks, as enrolled agents do (the cost is part of what is measured).
        {
          verifier,
          log: agentLog,
          metrics,
          // Its NATS credentials' seed when it has them (as an enrolled agent signs), else
          // a key of its own (--insecure).
          identity: new AckIdentity(
            credentials
              ? parseCredsText(credentials).seed
              : new TextDecoder().decode(NativeKeyPair.create(Prefix.User).getSeed()),
          ),
        },
      );
      await agent.whenConnected();
      return agent;
    });
    return { agents: agents.length };
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
      troubles: Object.fromEntries(troubles),
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

control.subscribe(`bench.w.${index}.*`, {
  callback: (_e, msg) => {
    const cmd = msg.subject.split(".").pop()!;
    const handler = handlers[cmd];
    const arg = msg.data.length ? (msg.json() as Record<string, unknown>) : {};
    (handler ? handler(arg) : Promise.reject(new Error(`unknown command ${cmd}`))).then(
      (r) => msg.respond(JSON.stringify({ ok: true, ...(r as object) })),
      (e) => msg.respond(JSON.stringify({ ok: false, error: String(e) })),
    );
  },
});
await control.flush();
console.log("ready");
