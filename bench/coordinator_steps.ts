/**
 * A focused bench of the region coordinator's steps at N members without N agents
 * (`deno run -A bench/coordinator_steps.ts [--agents 10000] [--profile dir]`): one
 * nats-server (no auth), N synthetic agent records, each enrolled (all with one key: the
 * signature check costs the same), their alive pings, and a 3-stage canary (1 %, 10 %,
 * 100 %, no bake) whose acks this process signs and publishes for every agent in each
 * stage's share as the stage's pointer notice arrives. The real coordinator runs in a
 * process of its own (coordinator_worker.ts, stepping every 500 ms) and counts each step's
 * CPU and the follows' part of it; printed: idle steps and the rollout's steps, total,
 * follows and own, p50 / p95 / max, and the ack check threads' CPU beside each step
 * (`--ack-check-threads 0` checks every ack on the step's thread, as before they existed).
 * `--breach` adds a rollout whose last stage every member fails: when the pointer came back,
 * when the failing members were all quarantined (polled every 200 ms), the steps meanwhile.
 *
 * Invariant: one process of acks and records stands for N agents; only the coordinator's
 * process is measured.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  activeRolloutKey,
  agentKey,
  Buckets,
  generateSigningKey,
  inCandidateShare,
  type PointerNotice,
  RolloutRecord,
  Signer,
  Subjects,
} from "@atlas/core";
import { connectAtlas, provision, provisionRegion, recordEnrolment } from "@atlas/store";
import {
  activateVersion,
  agentRecord,
  makeCredentials,
  startNatsServer,
  storeVersion,
} from "@atlas/testkit";
import { type CpuProfile, selfMsBetween } from "./profile.ts";
import { threadCpuLine } from "./proc_cpu.ts";
import { stepCpuSplit } from "./rows.ts";
import { summarize } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    agents: { type: "string", default: "10000" },
    profile: { type: "string" },
    rollouts: { type: "string", default: "3" },
    "tick-ms": { type: "string", default: "500" },
    // The coordinator's default unless given (0: every ack checked on the step's thread).
    "ack-check-threads": { type: "string" },
    // One more rollout whose last stage every member fails: how long the rollback and
    // the quarantine of the failing members take, and the steps meanwhile.
    breach: { type: "boolean", default: false },
  },
});
const n = Number(values.agents);
const tickMs = Number(values["tick-ms"]);
const region = "us-east";
const config = "web";
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${s}`);

await using server = await startNatsServer({ auth: false });
const nats = await connectAtlas(server.url, { name: "step bench" });
await provision(nats);
await provisionRegion(nats, region);
const key = generateSigningKey();
const signer = new Signer(key);
const dir = await Deno.makeTempDir({ prefix: "coord-steps-" });
const keyFile = `${dir}/signing.key`;
await Deno.writeTextFile(keyFile, JSON.stringify(key));
const v1 = await storeVersion(nats, signer, config, 1, '{"v":1}');
const rollouts = Number(values.rollouts);
/** The version whose last stage every member fails (`--breach`), if any. */
const breachVersion = values.breach ? rollouts + 2 : undefined;
const versions = [v1];
for (let k = 2; k <= rollouts + 1 + (breachVersion ? 1 : 0); k++) {
  versions.push(await storeVersion(nats, signer, config, k, `{"v":${k}}`));
}
const p1 = await activateVersion(nats, signer, region, v1, { content: '{"v":1}' });

const { identity } = await makeCredentials("bench");
const ids = Array.from({ length: n }, (_, i) => `a${String(i).padStart(5, "0")}`);
const agentsKv = await nats.kv(Buckets.agents);
const at = new Date().toISOString();
for (let i = 0; i < n; i += 200) {
  await Promise.all(
    ids.slice(i, i + 200).map(async (id) => {
      await recordEnrolment(nats, { region, agent: id, publicKey: identity.publicKey });
      const record = {
        ...agentRecord(id, region, {
          [config]: {
            applied: { version: 1, digest: v1.digest, seq: p1!.seq, appliedAt: at },
            diskDigest: v1.digest,
          },
        }, { heartbeatSeconds: 600 }),
        aliveSeconds: 30,
      };
      await agentsKv.put(agentKey(region, id), JSON.stringify(record));
    }),
  );
}
log(`${n} agents enrolled and recorded`);

// Alive pings: every agent once per 30 s, spread over the seconds.
let pinging = true;
const pings = (async () => {
  for (let s = 0; pinging; s++) {
    for (let i = s % 30; i < n; i += 30) {
      nats.nc.publish(Subjects.aliveOf(region).slice(0, -1) + ids[i]);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
})();

// Acks for each stage's share, as its notice arrives.
const acked = new Map<number, Set<string>>();
/** Each pointer notice: when, and its candidate's version and share (none: no candidate). */
const notices: { at: number; version: number | undefined; percent: number | undefined }[] = [];
const sub = nats.nc.subscribe(Subjects.notify(region, config), {
  callback: (_e, m) => {
    const { pointer } = m.json() as PointerNotice;
    const c = pointer.candidate;
    notices.push({ at: Date.now(), version: c?.version.version, percent: c?.selector.percent });
    if (!c) return;
    const version = c.version.version;
    const done = acked.get(version) ?? acked.set(version, new Set()).get(version)!;
    for (const id of ids) {
      if (done.has(id) || !inCandidateShare(id, c.rolloutId, c.selector)) continue;
      done.add(id);
      const fails = version === breachVersion && c.selector.percent === 100;
      const ack = identity.sign({
        agent: id,
        region,
        config,
        version,
        digest: c.version.digest,
        seq: pointer.seq,
        ...(fails
          ? { status: "failed" as const, reason: "bench: the reload failed" }
          : { status: "applied" as const }),
        rolloutId: c.rolloutId,
        latencyMs: 5,
        at: new Date().toISOString(),
      });
      nats.js.publish(Subjects.ack(region, config, id), JSON.stringify(ack)).catch(() => {});
    }
  },
});

const worker = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    new URL("./coordinator_worker.ts", import.meta.url).pathname,
    server.url,
    region,
    keyFile,
    String(tickMs),
    ...(values["ack-check-threads"] === undefined ? [] : [values["ack-check-threads"]]),
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const reader = worker.stdout.pipeThrough(new TextDecoderStream()).getReader();
for (let text = ""; !text.includes("ready");) text += (await reader.read()).value ?? "";
const tell = async (cmd: string, arg: unknown = {}): Promise<Record<string, unknown>> => {
  const m = await nats.nc.request(`bench.coord.${cmd}`, JSON.stringify(arg), { timeout: 60_000 });
  const r = m.json() as Record<string, unknown>;
  if (!r.ok) throw new Error(`${cmd}: ${r.error}`);
  return r;
};

type Step = {
  at: number;
  wallMs: number;
  cpuMicros: number;
  followMs: number;
  mainCpuMicros?: number;
  ackCheckMicros?: number;
  threadMicros?: Record<string, number>;
};
/** Which rollout (1, 2, …) a step fell in, from each rollout's window; 0 when none. */
const windows: [number, number][] = [];
const rolloutOf = (s: Step) => windows.findIndex(([a, b]) => s.at >= a && s.at <= b) + 1;
const report = (what: string, steps: Step[]) => {
  if (steps.length === 0) {
    log(`${what}: no step ended in the window (one step took longer)`);
    return;
  }
  const split = stepCpuSplit(steps);
  const f = (xs: number[]) => {
    const s = summarize(xs);
    return `${s.p50.toFixed(1)} / ${s.p95.toFixed(1)} / ${s.max.toFixed(1)}`;
  };
  log(
    `${what}: ${steps.length} steps; ms p50 / p95 / max: total ${f(split.totalMs)}; follows ${
      f(split.followMs)
    }; own ${f(split.ownMs)}`,
  );
  // The largest: a step that waits on NATS while acks arrive also holds their delivery
  // outside onMessage (parsing, the consumer's pulls, collection), counted as its own.
  const largest = steps.map((s, i) => ({ s, own: split.ownMs[i]! }))
    .sort((a, b) => b.own - a.own).slice(0, 3)
    .map(({ s, own }) => {
      const k = rolloutOf(s);
      const threads = threadCpuLine(s.threadMicros ?? {});
      return `own ${own.toFixed(1)} in ${s.wallMs.toFixed(0)} ms wall` +
        (k ? ` (rollout ${k})` : "") + (threads ? ` [by thread: ${threads}]` : "");
    });
  if (largest.length) log(`  largest: ${largest.join("; ")}`);
  const checks = steps.map((s) => (s.ackCheckMicros ?? 0) / 1000);
  if (checks.some((ms) => ms > 0)) log(`  ack check threads, beside the steps: ${f(checks)}`);
  // The same on the JavaScript thread alone (Linux): without the collector's and
  // compiler's helper threads, which run beside a step and are counted above.
  if (steps.length && steps.every((s) => s.mainCpuMicros !== undefined)) {
    const main = stepCpuSplit(
      steps.map((s) => ({ cpuMicros: s.mainCpuMicros!, followMs: s.followMs })),
    );
    log(`  on the JS thread: total ${f(main.totalMs)}; own ${f(main.ownMs)}`);
  }
};

{
  // How long a new leader takes to know its enrolments and follow its acks and records.
  // ~10 s at 100 000 members: give it a minute, and a minute more per 100 000.
  const t0 = Date.now();
  const limitMs = 60_000 * (1 + n / 100_000);
  let following = false;
  while (!following && Date.now() - t0 < limitMs) {
    const s = await tell("steps", { since: Date.now() });
    following = s.leader === true && s.following === true;
    if (!following) await new Promise((r) => setTimeout(r, 100));
  }
  if (!following) {
    throw new Error(`the coordinator did not lead and follow in ${limitMs / 1000} s`);
  }
  log(`the coordinator leads and follows after ${Date.now() - t0} ms`);
}
await new Promise((r) => setTimeout(r, 10_000)); // warms up
const idleFrom = Date.now();
await new Promise((r) => setTimeout(r, 10_000));
report("idle", (await tell("steps", { since: idleFrom })).steps as Step[]);

if (values.profile) await tell("profile-start");
const before = await tell("steps", { since: Date.now() });
const rolloutsKv = await nats.kv(Buckets.rollouts);
const started = Date.now();
let ended = started;
/**
 * Starts a 3-stage canary (1 %, 10 %, 100 %, no bake) of version `version` and waits for
 * it to end (~10 s at 100 000 members: two minutes, and two more per 100 000).
 */
async function runRollout(id: string, version: number, maxFailureRatio: number) {
  await rolloutsKv.put(activeRolloutKey(config), JSON.stringify({ rolloutId: id }));
  const now = new Date().toISOString();
  await rolloutsKv.create(
    id,
    JSON.stringify(RolloutRecord.parse({
      id,
      config,
      version,
      stages: [1, 10, 100].map((percent) => ({
        regions: [region],
        percent,
        bakeSeconds: 0,
        gates: { minAckedRatio: 1, maxFailureRatio, ackTimeoutSeconds: 120, metrics: [] },
      })),
      state: "running",
      stage: 0,
      regions: { [region]: { targeted: 0, applied: 0, rejected: 0, failed: 0, pending: 0 } },
      transitions: [],
      createdAt: now,
      createdBy: "bench",
      updatedAt: now,
    })),
  );
  const t0 = Date.now();
  const limitMs = 120_000 * (1 + n / 100_000);
  let record = RolloutRecord.parse((await rolloutsKv.get(id))!.json());
  while (record.state === "running" && Date.now() - t0 < limitMs) {
    await new Promise((r) => setTimeout(r, 100));
    record = RolloutRecord.parse((await rolloutsKv.get(id))!.json());
  }
  return record;
}

for (let k = 2; k <= rollouts + 1; k++) {
  const id = `r-${k}-${Date.now()}`;
  const t0 = Date.now();
  const record = await runRollout(id, k, 0);
  const state = record.state;
  ended = Date.now();
  windows.push([t0, ended]);
  log(`rollout to v${k} ${state} in ${ended - t0} ms, ${acked.get(k)?.size ?? 0} acked`);
  if (state !== "succeeded") {
    const p = record.regions[region];
    log(
      `  at stage ${record.stage + 1}: ${JSON.stringify(p)}; ` +
        `last transition: ${record.transitions.at(-1)?.reason ?? "none"}`,
    );
    report("the rollout's steps so far", (await tell("steps", { since: t0 })).steps as Step[]);
    throw new Error(`rollout ${id} ended ${state}`);
  }
  await new Promise((r) => setTimeout(r, 1000)); // settled, the next config's rollout free
}
const answer = await tell("steps", { since: started });
log(
  `over the rollouts: CPU ${
    ((answer.cpuMicros as number) - (before.cpuMicros as number)) / 1000
  } ms, in the follows ${
    ((answer.followMs as number) - (before.followMs as number)).toFixed(0)
  } ms`,
);
const rolloutSteps = (answer.steps as Step[])
  .filter((s) => windows.some(([a, b]) => s.at >= a && s.at <= b));
report("rollouts", rolloutSteps);
{
  // A leader's first rollout pays one-offs the later ones do not (the share ranking cold,
  // compiles, zod's first parses): the largest step of each, process and JS thread.
  const own = stepCpuSplit(rolloutSteps).ownMs;
  const main = rolloutSteps.every((s) => s.mainCpuMicros !== undefined)
    ? stepCpuSplit(rolloutSteps.map((s) => ({ cpuMicros: s.mainCpuMicros!, followMs: s.followMs })))
      .ownMs
    : undefined;
  const each = windows.map((_, k) => {
    let [ownMax, mainMax] = [0, 0];
    rolloutSteps.forEach((s, i) => {
      if (rolloutOf(s) !== k + 1) return;
      ownMax = Math.max(ownMax, own[i]!);
      mainMax = Math.max(mainMax, main?.[i] ?? 0);
    });
    return `${k + 1}: ${ownMax.toFixed(1)}` + (main ? ` (JS ${mainMax.toFixed(1)})` : "");
  });
  log(`  largest own step of each rollout, ms: ${each.join("; ")}`);
}
if (values.profile) {
  await Deno.mkdir(values.profile, { recursive: true });
  const file = `${values.profile}/coordinator-steps-n${n}.cpuprofile`;
  await tell("profile-stop", { file });
  // Where the largest steps went, by the samples taken during each (JS thread only).
  const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  const own = stepCpuSplit(rolloutSteps).ownMs;
  const largest = rolloutSteps.map((s, i) => ({ s, own: own[i]! }))
    .sort((a, b) => b.own - a.own).slice(0, 3);
  for (const { s, own } of largest) {
    const top = selfMsBetween(profile, s.at, s.at + s.wallMs)
      .map(([fn, ms]) => `${fn} ${ms.toFixed(1)}`);
    const k = rolloutOf(s);
    log(`  step of own ${own.toFixed(1)} ms (rollout ${k}), self ms: ${top.join("; ")}`);
  }
}
if (breachVersion) {
  // Every member fails the last stage (the 10 % of earlier stages applied it before);
  // breached only once 85 % failed, so that the quarantines are that many.
  const t0 = Date.now();
  const record = await runRollout(`r-breach-${Date.now()}`, breachVersion, 0.85);
  const last = notices.find((x) => x.version === breachVersion && x.percent === 100)?.at;
  const back = notices.find((x) => last !== undefined && x.at >= last && x.version === undefined)
    ?.at;
  const failed = record.regions[region]?.failed ?? 0;
  log(
    `breach: rollout ${record.state} with ${failed} failed; the pointer back ${
      last !== undefined && back !== undefined ? `${back - last} ms` : "(not seen)"
    } after the last stage's notice`,
  );
  // The quarantines, written after the rollback; two minutes, and two more per 100 000.
  const quarantine = await nats.kv(Buckets.quarantine);
  const limitMs = 120_000 * (1 + n / 100_000);
  let written = 0;
  while (Date.now() - t0 < limitMs) {
    written = (await quarantine.status()).values;
    if (written >= failed) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  log(
    `breach: ${written} of ${failed} quarantined ${
      back !== undefined ? `${Date.now() - back} ms after the pointer was back` : ""
    }`,
  );
  report("breach", (await tell("steps", { since: t0 })).steps as Step[]);
}

// A while after: steps with nothing to do but the rollout's settle and liveness.
const afterFrom = Date.now();
await new Promise((r) => setTimeout(r, 5_000));
report("after", (await tell("steps", { since: afterFrom })).steps as Step[]);

await tell("exit").catch(() => {});
await worker.status;
pinging = false;
await pings;
sub.unsubscribe();
await nats.close();
await Deno.remove(dir, { recursive: true });
