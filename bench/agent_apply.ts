/**
 * A focused bench of what one apply costs an agent (`deno task bench:apply [--agents 300]
 * [--rounds 30] [--runs 3] [--cache-entries 32] [--watch-files] [--profile file.cpuprofile]`): one
 * nats-server (no auth), N real agents in this process
 * (each signs its acks, as enrolled agents do), and rounds of a new version activated with
 * its content inline in the notice, as `deno task bench` does. This process's CPU from a
 * pointer's write to the last agent's applied ack, less its idle CPU over as long, divided
 * by N, is the CPU per apply; beside it the floor in the same process: N bare core-NATS
 * subscribers, each answering a publish with one (a message in, a message out).
 *
 * Why apart from `deno task bench`: that bench subtracts its worker processes' idle CPU
 * over a long window, and with other work on the machine two runs of the same code
 * differed by a third. Here the rounds run back to back, the idle share is small, and
 * each figure is the lowest of `--runs` runs (interference only ever adds CPU).
 *
 * Invariant: the figure is the agents' own work and the NATS client's; the nats-server is
 * another process and is not counted, the driver's writes are one per round.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import {
  AckIdentity,
  type AckRecord,
  generateSigningKey,
  NativeKeyPair,
  PointerRecord,
  sha256Hex,
  Signer,
  Streams,
  Verifier,
  verifyPointer,
  VersionRecord,
} from "@atlas/core";
import { Agent, AgentConfigFile, StateStore } from "@atlas/agent";
import { commitStaged, connectAtlas, provision, provisionRegion, stageFile } from "@atlas/store";
import { activateVersion, startNatsServer, storeVersion } from "@atlas/testkit";
import { connect } from "@nats-io/transport-node";
import { Prefix } from "@nats-io/nkeys";
import { busyMsByPart, Profiler } from "./profile.ts";
import { APPLY_PARTS, applyPartsTable } from "./apply_parts.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    agents: { type: "string", default: "300" },
    rounds: { type: "string", default: "30" },
    runs: { type: "string", default: "3" },
    "state-root": { type: "string", default: "/dev/shm" },
    // The agents' blob cache bound (the agent's default is 32): below `--rounds`, the rounds
    // past it evict an entry per apply, as every apply does once a long-lived agent's cache
    // is full.
    "cache-entries": { type: "string", default: "32" },
    // Each agent looks at its file every second, as agents do by default (`watchFiles`).
    // Off by default, so that figures compare with runs made before it existed. With code
    // older than the 1 s look (an inotify watcher per agent, one of the user's 128
    // instances), keep `--agents` under 128.
    "watch-files": { type: "boolean", default: false },
    profile: { type: "string" },
  },
});
const n = Number(values.agents);
const rounds = Number(values.rounds);
const runs = Number(values.runs);
const region = "us-east";
const config = "web";
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 23)}] ${s}`);
const cpu = () => {
  const u = cpuUsage();
  return u.user + u.system;
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

await using server = await startNatsServer({ auth: false });
const nats = await connectAtlas(server.url, { name: "apply bench" });
await provision(nats);
await provisionRegion(nats, region);
const signer = new Signer(generateSigningKey());
const root = await Deno.makeTempDir({ dir: values["state-root"], prefix: "atlas-apply-bench-" });

/** CPU of this process over `ms` of nothing but the agents' (or subscribers') idle work. */
async function idleMicrosPerMs(ms: number): Promise<number> {
  const c0 = cpu();
  const t0 = performance.now();
  await pause(ms);
  return (cpu() - c0) / (performance.now() - t0);
}

/** CPU µs per call of `f`, the lowest of 5 batches of `count` (after a warm-up batch). */
async function microsPerCall(count: number, f: () => unknown): Promise<number> {
  let best = Infinity;
  for (let batch = 0; batch < 6; batch++) {
    const c0 = cpu();
    for (let i = 0; i < count; i++) await f();
    if (batch > 0) best = Math.min(best, (cpu() - c0) / count);
  }
  return best;
}

/**
 * The parts of an apply no agent can skip, each measured here alone: the pointer's
 * Ed25519 check with the ack's signature, and the durable writes (the staged file, its
 * rename and directory sync, the state save).
 */
async function requiredParts(): Promise<{ crypto: number; writes: number }> {
  const content = new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(200) }));
  const version = VersionRecord.parse(signer.sign({
    config,
    version: 1,
    digest: sha256Hex(content),
    size: content.length,
    contentType: "application/json",
    author: "bench",
    message: "",
    createdAt: new Date().toISOString(),
  }));
  const pointer = PointerRecord.parse(signer.sign({
    config,
    region,
    seq: 1,
    active: version,
    history: [],
    reason: "bench",
    issuedAt: new Date().toISOString(),
    issuedBy: "bench",
  }));
  const verifier = new Verifier([signer.trustedKey]);
  const identity = new AckIdentity(
    new TextDecoder().decode(NativeKeyPair.create(Prefix.User).getSeed()),
  );
  const ack: AckRecord = {
    agent: "agent-0",
    region,
    config,
    version: 1,
    digest: version.digest,
    seq: 1,
    status: "applied",
    latencyMs: 1,
    at: new Date().toISOString(),
  };
  const crypto = await microsPerCall(500, () => {
    verifyPointer(verifier, pointer);
    JSON.stringify(identity.sign(ack));
  });
  const dir = `${root}/parts`;
  await Deno.mkdir(dir, { recursive: true });
  const { store, state } = StateStore.open(`${dir}/state`);
  state.outbox = [ack];
  // The agent's own calls, as an apply makes them.
  const writes = await microsPerCall(300, async () => {
    commitStaged(await stageFile(`${dir}/web.json`, content));
    store.save(state);
  });
  store.close();
  return { crypto, writes };
}

/** The floor: N subscribers answering one publish each; CPU per answer. */
async function floorRun(): Promise<number> {
  const subs = await Promise.all(Array.from({ length: n }, async () => {
    const nc = await connect({ servers: server.url });
    nc.subscribe("bench.floor", { callback: (_e, m) => void m.respond() });
    await nc.flush();
    return nc;
  }));
  const nc = await connect({ servers: server.url });
  try {
    const idle = await idleMicrosPerMs(1_000);
    let spent = 0;
    for (let r = 0; r < rounds; r++) {
      let got = 0;
      const done = Promise.withResolvers<void>();
      const sub = nc.subscribe(`bench.reply.${r}`, {
        callback: () => void (++got === n && done.resolve()),
      });
      await nc.flush();
      const [c0, t0] = [cpu(), performance.now()];
      nc.publish("bench.floor", "", { reply: `bench.reply.${r}` });
      await done.promise;
      spent += cpu() - c0 - idle * (performance.now() - t0);
      sub.unsubscribe();
      await pause(20);
    }
    return spent / (n * rounds);
  } finally {
    await Promise.all([...subs, nc].map((c) => c.close()));
  }
}

/** N agents applying `rounds` new versions; CPU per apply. */
async function agentRun(run: number): Promise<number> {
  const verifier = new Verifier([signer.trustedKey]);
  const agents = await Promise.all(Array.from({ length: n }, (_, i) => {
    const id = `agent-${i}`;
    const dir = `${root}/run-${run}/${id}`;
    return Agent.start(
      AgentConfigFile.parse({
        id,
        region,
        nats: server.url,
        stateDir: `${dir}/state`,
        trustedKeys: "(in memory)",
        watchFiles: values["watch-files"],
        cacheEntries: Number(values["cache-entries"]),
        configs: { [config]: { path: `${dir}/${config}.json` } },
      }),
      {
        verifier,
        log: () => {},
        identity: new AckIdentity(
          new TextDecoder().decode(NativeKeyPair.create(Prefix.User).getSeed()),
        ),
      },
    );
  }));
  try {
    await Promise.all(agents.map((a) => a.whenConnected()));
    const applied = () => agents.reduce((s, a) => s + a.stats.applies, 0);
    // Every ack stored: the acks stream's last sequence (one request per poll, the
    // server's work) instead of N agents' outboxes.
    const ackSeq = async () => (await nats.jsm.streams.info(Streams.acks)).state.last_seq;
    const base = applied();
    let acks = await ackSeq();
    await pause(1_000);
    const idle = await idleMicrosPerMs(1_000);
    const profiler = values.profile && run === runs - 1 ? new Profiler() : undefined;
    await profiler?.start();
    let spent = 0;
    for (let r = 0; r < rounds; r++) {
      const version = 1_000 * run + r + 1;
      const content = JSON.stringify({ round: r, run, pad: "x".repeat(200) });
      const record = await storeVersion(nats, signer, config, version, content);
      const [c0, t0] = [cpu(), performance.now()];
      await activateVersion(nats, signer, region, record, { content });
      while (applied() < base + n * (r + 1)) await pause(2);
      while ((await ackSeq()) < acks + n) await pause(2);
      acks += n;
      spent += cpu() - c0 - idle * (performance.now() - t0);
      await pause(20);
    }
    if (profiler) {
      const profile = await profiler.stop();
      await Deno.writeTextFile(values.profile!, JSON.stringify(profile));
      log(`profile of the last run's rounds written to ${values.profile}`);
      byPart = busyMsByPart(profile, APPLY_PARTS);
    }
    return spent / (n * rounds);
  } finally {
    await Promise.all(agents.map((a) => a.close()));
  }
}

let byPart: ReturnType<typeof busyMsByPart> | undefined;

const parts = await requiredParts();
const floor: number[] = [];
const perApply: number[] = [];
for (let run = 0; run < runs; run++) {
  floor.push(await floorRun());
  perApply.push(await agentRun(run));
  log(
    `run ${run + 1}/${runs}: agent ${perApply.at(-1)!.toFixed(0)} µs per apply, ` +
      `floor ${floor.at(-1)!.toFixed(0)} µs per reply`,
  );
}
await nats.close();
await Deno.remove(root, { recursive: true });
const runsOf = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
console.log(
  `agents ${n}, rounds ${rounds}, lowest of ${runs} runs: agent CPU per apply ` +
    `${Math.min(...perApply).toFixed(0)} µs (${runsOf(perApply)}); floor per reply ` +
    `${Math.min(...floor).toFixed(0)} µs (${runsOf(floor)})`,
);
console.log(
  `required parts, each alone: Ed25519 verify of the pointer and signing of the ack ` +
    `${parts.crypto.toFixed(0)} µs; staged file, rename, directory sync and state save ` +
    `${parts.writes.toFixed(0)} µs`,
);
if (byPart) console.log(applyPartsTable(byPart, n * rounds));
