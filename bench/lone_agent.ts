/**
 * What one apply costs a lone agent process, as deployed (`deno task bench:lone-agent
 * [--rounds 1000] [--runs 3]`): one nats-server with authorization on, one real agent
 * process (`agent/main.ts --config`, its own credentials, its acks signed, its file looked
 * at every second), and rounds of a new version activated with its content inline, one at
 * a time. The agent's CPU is read from `/proc/<pid>/stat` (user and system, every thread)
 * around the rounds, less its idle CPU over as long, divided by the rounds. Beside it, the
 * floor the same way: a process with one bare core-NATS subscription answering one
 * publish per round (a message in, a message out). With `--profile <file>` the last run's
 * agent runs under V8's profiler (bench/profiled_agent.ts) and its rounds are split into the
 * parts of bench/apply_parts.ts.
 *
 * Why beside `deno task bench:apply`: there N agents share one process, its event loop
 * and its collector, and the bench's own activations run in it too; here the process is
 * the agent and nothing else, as on a host. Linux only (`/proc`).
 *
 * Invariant: only the agent's (or the floor's) process is measured; the driver and the
 * nats-server are other processes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { APPLY_PARTS, applyPartsTable } from "./apply_parts.ts";
import { busyMsByPart, type CpuProfile } from "./profile.ts";
import { processCpuMicros } from "./proc_cpu.ts";
import { generateSigningKey, Signer, Subjects } from "@atlas/core";
import { connectAtlas, provision, provisionRegion } from "@atlas/store";
import {
  activateVersion,
  connectAs,
  credsFor,
  startNatsServer,
  storeVersion,
} from "@atlas/testkit";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    // Where the agent's state and file go: tmpfs by default, as in `bench:apply` and
    // `deno task bench`, so that the figure is the agent's and not the disk's (an fsync on
    // this machine's ext4 costs ~65 µs of CPU, and an apply makes three).
    "state-root": { type: "string", default: "/dev/shm" },
    // Profile the last run's rounds in the agent and split them into parts (apply_parts.ts).
    profile: { type: "string" },
    // Internal: run as the floor's responder, connected to this URL with these credentials.
    respond: { type: "string" },
    creds: { type: "string" },
  },
});

const FLOOR = "atlas.bench.floor";
const FLOOR_REPLY = "atlas.bench.floor.reply";

if (values.respond) {
  // The floor: one subscription, one reply per message, nothing else.
  const nats = await connectAtlas(values.respond, {
    name: "lone floor",
    ...(values.creds ? { credentials: await Deno.readTextFile(values.creds) } : {}),
  });
  // A fixed reply subject: the control role may publish there, not to another's inbox.
  nats.nc.subscribe(FLOOR, { callback: () => nats.nc.publish(FLOOR_REPLY) });
  await nats.nc.flush();
  console.log("ready");
  await nats.nc.closed();
  Deno.exit(0);
}

const rounds = Number(values.rounds);
const runs = Number(values.runs);
if (!(rounds >= 10 && runs >= 1)) {
  console.error("--rounds must be 10 or more and --runs 1 or more");
  Deno.exit(2);
}
const region = "us-east";
const config = "web";
const agentId = "lone";
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 23)}] ${s}`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU µs per ms of `pid` over `ms` of its idle work. */
async function idleMicrosPerMs(pid: number, ms: number): Promise<number> {
  const [c0, t0] = [await processCpuMicros(pid), performance.now()];
  await pause(ms);
  return (await processCpuMicros(pid) - c0) / (performance.now() - t0);
}

/**
 * Runs `each` `rounds` times; the CPU of `pid` per round, less its idle CPU. `around` runs
 * just before the first round and just after the last (a profile's start and stop).
 */
async function perRound(
  pid: number,
  each: (r: number) => Promise<void>,
  around: { before?: () => void; after?: () => Promise<void> } = {},
): Promise<number> {
  await pause(2_000); // settled after start-up
  const idle = await idleMicrosPerMs(pid, 5_000);
  around.before?.();
  const [c0, t0] = [await processCpuMicros(pid), performance.now()];
  for (let r = 0; r < rounds; r++) await each(r);
  await pause(200); // the last round's tail (the agent's PubAck, the floor's flush)
  const spent = await processCpuMicros(pid) - c0 - idle * (performance.now() - t0);
  await around.after?.();
  return spent / rounds;
}

/** Reads a child's output until `ready` (the floor) or forever, keeping it for errors. */
function keepOutput(child: Deno.ChildProcess): { text: () => string; ready: Promise<void> } {
  let text = "";
  const ready = Promise.withResolvers<void>();
  for (const stream of [child.stdout, child.stderr]) {
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stream) {
        text += dec.decode(chunk);
        if (text.includes("ready")) ready.resolve();
      }
    })().catch(() => {});
  }
  return { text: () => text, ready: ready.promise };
}

await using server = await startNatsServer();
const nats = await connectAs(server.url, "control");
await provision(nats);
await provisionRegion(nats, region);
const signer = new Signer(generateSigningKey());
const root = await Deno.makeTempDir({ dir: values["state-root"], prefix: "atlas-lone-agent-" });
const creds = `${root}/agent.creds`;
await Deno.writeTextFile(
  creds,
  (await credsFor(server.url, { kind: "agent", region, agent: agentId }))!,
  { mode: 0o600 },
);
await Deno.writeTextFile(
  `${root}/trusted-keys.json`,
  JSON.stringify({ keys: [signer.trustedKey] }),
);

/** One agent process applying `rounds` versions, each waited for; CPU per apply. */
async function agentRun(run: number): Promise<number> {
  const dir = `${root}/run-${run}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/agent.json`,
    JSON.stringify({
      id: agentId,
      region,
      nats: [server.url],
      credentials: creds,
      stateDir: `${dir}/state`,
      trustedKeys: `${root}/trusted-keys.json`,
      configs: { [config]: { path: `${dir}/${config}.json` } },
    }),
  );
  const acked = new Set<number>();
  let refused: string | undefined;
  let waiting: { version: number; done: () => void } | undefined;
  const sub = nats.nc.subscribe(Subjects.ack(region, config, agentId), {
    callback: (_e, m) => {
      const ack = m.json<{ version: number; status: string }>();
      if (ack.status === "applied") acked.add(ack.version);
      else refused ??= m.string();
      if (waiting && (acked.has(waiting.version) || refused)) waiting.done();
    },
  });
  const applied = async (version: number) => {
    if (!acked.has(version) && !refused) {
      const { promise, resolve } = Promise.withResolvers<void>();
      const timer = setTimeout(() => resolve(), 10_000);
      waiting = { version, done: resolve };
      await promise;
      clearTimeout(timer);
    }
    if (refused) throw new Error(`the agent did not apply: ${refused}`);
    if (!acked.has(version)) throw new Error(`v${version} was not acked within 10 s`);
  };
  const activate = async (version: number) => {
    const content = JSON.stringify({ version, pad: "x".repeat(200) });
    const record = await storeVersion(nats, signer, config, version, content);
    await activateVersion(nats, signer, region, record, { content });
  };
  const first = 100_000 * (run + 1);
  await activate(first);
  // The last run's agent under the profiler, when asked (its start and stop by signal).
  const profile = values.profile && run === runs - 1 ? values.profile : undefined;
  const main = profile
    ? [new URL("./profiled_agent.ts", import.meta.url).pathname, profile]
    : [new URL("../agent/main.ts", import.meta.url).pathname];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...main, "--config", `${dir}/agent.json`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = keepOutput(child);
  try {
    await applied(first).catch((e) => {
      throw new Error(`${e.message}; the agent said:\n${output.text().slice(-3_000)}`);
    });
    return await perRound(child.pid, async (r) => {
      await activate(first + r + 1);
      await applied(first + r + 1);
    }, {
      before: () => profile && child.kill("SIGUSR1"),
      after: async () => {
        if (!profile) return;
        child.kill("SIGUSR2");
        for (let i = 0; i < 100 && !output.text().includes("profile written"); i++) await pause(50);
        const cpu = JSON.parse(await Deno.readTextFile(profile)) as CpuProfile;
        parts = busyMsByPart(cpu, APPLY_PARTS);
      },
    });
  } finally {
    sub.unsubscribe();
    child.kill("SIGTERM");
    await child.status;
  }
}

/** The floor: a lone process answering one publish per round; CPU per reply. */
async function floorRun(): Promise<number> {
  const floorCreds = `${root}/floor.creds`;
  const c = await credsFor(server.url, { kind: "control" });
  await Deno.writeTextFile(floorCreds, c!, { mode: 0o600 });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--respond",
      server.url,
      "--creds",
      floorCreds,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = keepOutput(child);
  let answered = () => {};
  const sub = nats.nc.subscribe(FLOOR_REPLY, { callback: () => answered() });
  try {
    await output.ready;
    return await perRound(child.pid, async () => {
      const { promise, resolve } = Promise.withResolvers<void>();
      answered = resolve;
      nats.nc.publish(FLOOR);
      await promise;
    });
  } finally {
    sub.unsubscribe();
    child.kill("SIGTERM");
    await child.status;
  }
}

let parts: ReturnType<typeof busyMsByPart> | undefined;
const agent: number[] = [];
const floor: number[] = [];
for (let run = 0; run < runs; run++) {
  floor.push(await floorRun());
  agent.push(await agentRun(run));
  log(
    `run ${run + 1}/${runs}: agent ${agent.at(-1)!.toFixed(0)} µs per apply, floor ` +
      `${floor.at(-1)!.toFixed(0)} µs per reply`,
  );
}
await nats.close();
await Deno.remove(root, { recursive: true });
const runsOf = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
console.log(
  `a lone agent process, ${rounds} rounds, lowest of ${runs} runs: CPU per apply ` +
    `${Math.min(...agent).toFixed(0)} µs (${runsOf(agent)}); a lone subscriber process, ` +
    `floor per reply ${Math.min(...floor).toFixed(0)} µs (${runsOf(floor)})`,
);
if (parts) {
  console.log(`profile of the last run written to ${values.profile}`);
  console.log(applyPartsTable(parts, rounds));
}
