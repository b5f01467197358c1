/**
 * Crash consistency of the audit log: the control plane, a real child process, is
 * SIGKILLed at random points of concurrent publishes, activations and rollout actions,
 * restarted each time, and afterwards every change has exactly one audit event and every
 * config's `latestVersion` equals its newest version. The randomness is seeded (printed;
 * set `ATLAS_TEST_SEED` to replay a run).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  AuditEvent,
  Buckets,
  ConfigRecord,
  generateSigningKey,
  generateTokenSecret,
  pointerBucket,
  PointerRecord,
  RolloutRecord,
  Streams,
  tokenFileEntry,
} from "@atlas/core";
import { listKeys, readKv } from "@atlas/store";
import { natsTest, reservePort, seededRandom, waitFor } from "@atlas/testkit";
import type { AtlasNats } from "@atlas/store";

const MAIN = new URL("../control/main.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const TOKEN = generateTokenSecret();
const REGIONS = ["us-east", "eu-west"];
const CONFIGS = ["web", "api"];
const KILLS = 6;

interface Child {
  process: Deno.ChildProcess;
  output: Promise<string>;
}

function startChild(url: string, port: number, dir: string): Child {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "--nats",
      url,
      "--port",
      String(port),
      "--signing-key",
      `${dir}/signing.key`,
      "--tokens-file",
      `${dir}/tokens.json`,
      "--creds",
      `${dir}/control.creds`,
      "--regions",
      REGIONS.join(","),
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = (s: ReadableStream<Uint8Array>) => new Response(s).text();
  const output = Promise.all([text(process.stdout), text(process.stderr)])
    .then(([o, e]) => o + e);
  return { process, output };
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

async function waitReady(base: string): Promise<void> {
  await waitFor("the control plane answers", async () => {
    try {
      return (await call(base, "GET", "/v1/configs")).status === 200;
    } catch {
      return false;
    }
  }, { timeoutMs: 60_000 });
}

/** Every audit event, oldest first (direct gets by sequence). */
async function allAudit(nats: AtlasNats): Promise<AuditEvent[]> {
  const { state } = await nats.jsm.streams.info(Streams.audit);
  const events: AuditEvent[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await nats.jsm.direct.getMessage(Streams.audit, { seq });
    if (m) events.push(AuditEvent.parse(m.json()));
  }
  return events;
}

/** Random load until `stop` resolves: publishes, activations, rollout starts and actions. */
async function load(base: string, random: () => number, stop: Promise<void>): Promise<void> {
  let stopped = false;
  void stop.then(() => stopped = true);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const swallow = async (f: () => Promise<unknown>) => {
    try {
      await f();
    } catch { /* the process was killed under the request */ }
  };
  const publisher = async (n: number) => {
    for (let i = 0; !stopped && i < 200; i++) {
      await swallow(() =>
        call(base, "POST", `/v1/configs/${pick(CONFIGS)}/versions`, {
          content: { n, i, r: random() },
        })
      );
    }
  };
  const mover = async () => {
    for (let i = 0; !stopped && i < 200; i++) {
      const config = pick(CONFIGS);
      await swallow(async () => {
        const { json } = await call(base, "GET", `/v1/configs/${config}`);
        const latest = json.latestVersion as number | undefined;
        if (!latest) return;
        const version = 1 + Math.floor(random() * latest);
        if (random() < 0.8) {
          await call(base, "POST", `/v1/configs/${config}/activate`, { version });
        } else {
          await call(base, "POST", `/v1/configs/${config}/rollback`, {});
        }
      });
    }
  };
  const roller = async () => {
    for (let i = 0; !stopped && i < 200; i++) {
      const config = pick(CONFIGS);
      await swallow(async () => {
        const { json } = await call(base, "GET", `/v1/configs/${config}`);
        const latest = json.latestVersion as number | undefined;
        if (!latest) return;
        const started = await call(base, "POST", `/v1/configs/${config}/rollouts`, {
          version: latest,
          strategy: "immediate",
          allowNoCoordinator: true,
        });
        if (started.status !== 201 && started.status !== 200) return;
        const id = started.json.id as string;
        if (random() < 0.5) await call(base, "POST", `/v1/rollouts/${id}/pause`, {});
        await call(base, "POST", `/v1/rollouts/${id}/abort`, {});
      });
    }
  };
  await Promise.all([publisher(1), publisher(2), publisher(3), mover(), roller()]);
}

/** What a run left: per kind of change, the changes and the events that record them. */
export async function auditHoles(nats: AtlasNats) {
  const events = await allAudit(nats);
  const problems: string[] = [];
  let versions = 0;
  let publishEvents = 0;
  let moves = 0;
  let transitions = 0;
  const count = (f: (e: AuditEvent) => boolean) => events.filter(f).length;
  const configsKv = await nats.kv(Buckets.configs);
  for (const config of CONFIGS) {
    const keys = await listKeys(nats, Buckets.versions, `${config}.*`);
    const numbers = keys.map((k) => Number(k.slice(config.length + 1))).sort((a, b) => a - b);
    versions += numbers.length;
    numbers.forEach((n, i) => {
      if (n !== i + 1) problems.push(`${config}: version ${i + 1} is missing (gap)`);
    });
    for (const n of numbers) {
      const c = count((e) =>
        e.action === "version.publish" && e.config === config && e.version === n
      );
      if (c !== 1) problems.push(`${config}@v${n}: ${c} version.publish events`);
    }
    publishEvents += count((e) => e.action === "version.publish" && e.config === config);
    const stored = await readKv(configsKv, config, ConfigRecord);
    const latest = stored?.value.latestVersion ?? 0;
    const newest = numbers.at(-1) ?? 0;
    if (latest !== newest) problems.push(`${config}: latestVersion ${latest}, newest v${newest}`);
    for (const region of REGIONS) {
      const kv = await nats.kv(pointerBucket(region));
      const seqs: number[] = [];
      for await (const entry of await kv.history({ key: config })) {
        if (entry.operation !== "PUT") continue;
        seqs.push(PointerRecord.parse(entry.json()).seq);
      }
      // Only the control plane moves pointers here, one seq per move: the newest seq is
      // the number of moves, and every one of them (not only the 64 kept) has its event.
      const newestSeq = seqs.at(-1) ?? 0;
      moves += newestSeq;
      for (let seq = 1; seq <= newestSeq; seq++) {
        const c = count((e) =>
          (e.action === "pointer.activate" || e.action === "pointer.rollback") &&
          e.config === config && e.region === region && e.details["seq"] === seq &&
          e.details["changed"] !== false
        );
        if (c !== 1) problems.push(`pointer ${region}/${config} seq ${seq}: ${c} events`);
      }
      for (const seq of seqs) {
        const stored = seqs.indexOf(seq) === seqs.lastIndexOf(seq);
        if (!stored) problems.push(`pointer ${region}/${config} seq ${seq} stored twice`);
      }
    }
  }
  const rolloutsKv = await nats.kv(Buckets.rollouts);
  for (const id of await listKeys(nats, Buckets.rollouts, "*")) {
    const rollout = (await readKv(rolloutsKv, id, RolloutRecord))!.value;
    for (const t of rollout.transitions) {
      transitions++;
      const c = t.from === "pending"
        ? count((e) => e.action === "rollout.start" && e.details["rolloutId"] === id)
        : count((e) =>
          e.action.startsWith("rollout.") && e.action !== "rollout.start" &&
          e.details["rolloutId"] === id && e.details["from"] === t.from &&
          e.details["to"] === t.to
        );
      if (c !== 1) problems.push(`rollout ${id} ${t.from}→${t.to}: ${c} events`);
    }
  }
  if (publishEvents !== versions) {
    problems.push(`${publishEvents} version.publish events for ${versions} versions`);
  }
  const ids = new Set(events.map((e) => e.id));
  if (ids.size !== events.length) problems.push(`${events.length - ids.size} repeated event ids`);
  return {
    versions,
    publishEvents,
    moves,
    transitions,
    events: events.length,
    recovered: count((e) => e.recovered === true),
    abandoned: count((e) => e.action === "audit.abandoned"),
    problems,
  };
}

natsTest("a control plane killed mid-burst leaves every change with one audit event", async (
  { urls, nats, auth },
) => {
  const seed = Number(Deno.env.get("ATLAS_TEST_SEED") ?? Date.now() % 1_000_000);
  console.log(`audit crash test seed: ${seed} (ATLAS_TEST_SEED=${seed} replays it)`);
  const random = seededRandom(seed);
  const dir = await Deno.makeTempDir({ prefix: "atlas-crash-" });
  await Deno.writeTextFile(`${dir}/signing.key`, JSON.stringify(generateSigningKey()));
  await Deno.writeTextFile(`${dir}/control.creds`, await auth.creds("control"), { mode: 0o600 });
  await Deno.writeTextFile(
    `${dir}/tokens.json`,
    JSON.stringify([tokenFileEntry("crash-admin", "admin", TOKEN)]),
  );
  const port = reservePort();
  const base = `http://127.0.0.1:${port}`;
  const outputs: string[] = [];
  let child: Child | null = startChild(urls[0]!, port, dir);
  try {
    await waitReady(base);
    for (const config of CONFIGS) {
      assert.equal((await call(base, "PUT", `/v1/configs/${config}`, {})).status, 201);
    }
    for (let kill = 1; kill <= KILLS; kill++) {
      const delayMs = 300 + Math.floor(random() * 1_500);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stop = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          child!.process.kill("SIGKILL");
          resolve();
        }, delayMs);
      });
      await load(base, random, stop);
      await stop;
      clearTimeout(timer);
      await child.process.status;
      outputs.push(await child.output);
      child = startChild(urls[0]!, port, dir);
      await waitReady(base);
    }
    const result = await auditHoles(nats);
    console.log(
      `after ${KILLS} kills: ${result.versions} versions, ${result.publishEvents} ` +
        `version.publish events, ${result.moves} pointer moves, ${result.transitions} ` +
        `rollout transitions, ${result.events} audit events (${result.recovered} recovered, ` +
        `${result.abandoned} abandoned), ${result.problems.length} holes`,
    );
    assert.ok(result.versions > 0, "the load published nothing: the test proves nothing");
    assert.deepEqual(result.problems, [], `seed ${seed}`);
  } catch (e) {
    if (child) {
      child.process.kill("SIGKILL");
      await child.process.status;
      outputs.push(await child.output);
      child = null;
    }
    console.log(outputs.join("\n----\n").slice(-8_000));
    throw e;
  } finally {
    if (child) {
      child.process.kill("SIGTERM");
      await child.process.status;
      await child.output;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
