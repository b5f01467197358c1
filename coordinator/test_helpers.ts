/**
 * Test helpers of the coordinator: a fleet of real agents managing the configs each is
 * given (a mixed fleet), coordinators on a fake wall clock, rollouts started the way the
 * control plane starts them, and readers of what they wrote.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  activateVersion,
  agentRecord,
  enrolAgent,
  type NatsTestContext,
  storeVersion,
  waitFor,
  withMember,
} from "@atlas/testkit";
import {
  activeRolloutKey,
  agentKey,
  Buckets,
  generateSigningKey,
  RolloutRecord,
  type RolloutStage,
  Signer,
  Streams,
  Verifier,
  type VersionRecord,
} from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import type { KV } from "@nats-io/kv";
import { Agent, AgentConfigFile } from "@atlas/agent";
import { type CoordinatorOptions, RegionCoordinator } from "./engine.ts";

/** The control plane's key in these tests. */
export const signer = new Signer(generateSigningKey());

/** Content of v1 and v2 of every config of a test fleet. */
export const V1 = '{"v":1}';
export const V2 = '{"v":2}';

/** A wall clock the test moves. */
export class FakeClock {
  constructor(public t: number = Date.now()) {}
  now(): number {
    return this.t;
  }
}

/** One agent of a fleet: its id, region and the configs it manages (with their commands). */
export interface AgentSpec {
  id: string;
  region: string;
  configs: Record<string, { reload?: string; verify?: string }>;
}

/** A running agent of a fleet and the files it manages, by config. */
export interface FleetAgent {
  id: string;
  region: string;
  files: Record<string, string>;
  agent: Agent;
}

/** Agents running, every config on v1; v2 of each stored, not active. */
export interface Fleet extends AsyncDisposable {
  agents: FleetAgent[];
  dir: string;
  v2: Record<string, VersionRecord>;
  /** The agent named `id`. */
  get(id: string): FleetAgent;
}

/**
 * Starts `specs` as real agents after storing v1 and v2 of every config they name and
 * activating v1 in every region they are in (unless `versions: false`: agents joining a
 * fleet already running); resolves once each file holds v1 (or, joining, what is active).
 */
export async function startFleet(
  ctx: NatsTestContext,
  specs: AgentSpec[],
  options: { versions?: boolean; agentJson?: Record<string, unknown> } = {},
): Promise<Fleet> {
  const configs = [...new Set(specs.flatMap((s) => Object.keys(s.configs)))];
  const regions = [...new Set(specs.map((s) => s.region))];
  const v2: Record<string, VersionRecord> = {};
  for (const config of options.versions === false ? [] : configs) {
    const v1 = await storeVersion(ctx.nats, signer, config, 1, V1);
    v2[config] = await storeVersion(ctx.nats, signer, config, 2, V2);
    for (const region of regions) {
      await activateVersion(ctx.nats, signer, region, v1, { content: V1 });
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "atlas-coord-test-" });
  const agents = await Promise.all(specs.map(async (spec) => {
    const config = AgentConfigFile.parse({
      id: spec.id,
      region: spec.region,
      nats: ctx.urls,
      credentials: await ctx.auth.creds({ kind: "agent", region: spec.region, agent: spec.id }),
      stateDir: `${dir}/${spec.id}/state`,
      trustedKeys: "(in memory)",
      configs: Object.fromEntries(
        Object.entries(spec.configs).map(([name, cmds]) => [name, {
          path: `${dir}/${spec.id}/${name}.json`,
          ...cmds,
        }]),
      ),
      ...options.agentJson,
    });
    // Enrolled, as `atlas agents enroll` does: only its signed acks count.
    const { identity } = await enrolAgent(ctx.nats, spec.region, spec.id);
    const agent = await Agent.start(config, {
      identity,
      verifier: new Verifier([signer.trustedKey]),
      log: () => {},
    });
    await agent.whenConnected();
    const files = Object.fromEntries(
      Object.entries(config.configs).map(([name, c]) => [name, c.path]),
    );
    return { id: spec.id, region: spec.region, files, agent };
  }));
  for (const a of options.versions === false ? [] : agents) {
    for (const [name, file] of Object.entries(a.files)) {
      await waitFor(`${a.id} on ${name} v1`, async () => (await readOr(file)) === V1);
    }
  }
  return {
    agents,
    dir,
    v2,
    get(id) {
      const found = agents.find((a) => a.id === id);
      if (!found) throw new RangeError(`No agent ${id} in this fleet`);
      return found;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(agents.map((a) => a.agent.close()));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The text of `file`, or "" when it is missing. */
export function readOr(file: string): Promise<string> {
  return Deno.readTextFile(file).catch(() => "");
}

/** A quiet coordinator of `region` on `clock`, connected with the region's coordinator creds. */
export async function coordinator(
  ctx: NatsTestContext,
  region: string,
  clock: FakeClock,
  options: Partial<CoordinatorOptions> & {
    signer?: Signer;
    /** Wraps its connection (a test's hook on its writes: {@linkcode hookedWrites}). */
    wrap?: (nats: AtlasNats) => AtlasNats;
  } = {},
): Promise<RegionCoordinator> {
  const { wrap, ...rest } = options;
  const nats = await ctx.connect({ kind: "coordinator", region });
  return await RegionCoordinator.create(wrap ? wrap(nats) : nats, options.signer ?? signer, {
    region,
    clock,
    log: () => {},
    ...rest,
  });
}

/** Starts a rollout of v2 of `config` the way the control plane does: active key, then record. */
export async function startRollout(
  nats: AtlasNats,
  id: string,
  stages: RolloutStage[],
  config = "web",
): Promise<void> {
  const kv = await nats.kv(Buckets.rollouts);
  await kv.create(activeRolloutKey(config), JSON.stringify({ rolloutId: id }));
  const at = new Date().toISOString();
  const regions = Object.fromEntries(
    stages.flatMap((s) => s.regions).map((r) => [r, {
      targeted: 0,
      applied: 0,
      rejected: 0,
      failed: 0,
      pending: 0,
    }]),
  );
  const record = RolloutRecord.parse({
    id,
    config,
    version: 2,
    stages,
    state: "running",
    stage: 0,
    regions,
    transitions: [],
    createdAt: at,
    createdBy: "test",
    updatedAt: at,
  });
  await kv.create(id, JSON.stringify(record));
}

/** The stored rollout `id`. */
export async function rollout(nats: AtlasNats, id: string): Promise<RolloutRecord> {
  const e = await (await nats.kv(Buckets.rollouts)).get(id);
  return RolloutRecord.parse(e!.json());
}

/** Steps every coordinator until `done` holds (each round moves `clock` by `advanceMs`). */
export async function stepUntil(
  what: string,
  coordinators: RegionCoordinator[],
  done: () => Promise<boolean>,
  options: { clock?: FakeClock; advanceMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  await waitFor(what, async () => {
    if (options.clock) options.clock.t += options.advanceMs ?? 0;
    for (const c of coordinators) await c.step();
    return await done();
  }, { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: 50 });
}

/**
 * For {@linkcode stepUntil}: true once rollout `id` succeeded; throws, with the reason, if
 * it rolled back.
 */
export function succeeded(nats: AtlasNats, id: string): () => Promise<boolean> {
  return async () => {
    const r = await rollout(nats, id);
    assert.notEqual(r.state, "rolled_back", r.transitions.at(-1)?.reason);
    return r.state === "succeeded";
  };
}

/** Audit actions in order, as `action@region`. */
export async function auditActions(nats: AtlasNats): Promise<string[]> {
  const info = await nats.jsm.streams.info(Streams.audit);
  const out: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await nats.jsm.streams.getMessage(Streams.audit, { seq }).catch(() => null);
    const e = m?.json() as { action: string; region?: string } | undefined;
    if (e) out.push(`${e.action}${e.region ? `@${e.region}` : ""}`);
  }
  return out;
}

/**
 * Writes a heartbeat record for an agent that is alive but never applies anything (a hung
 * host), stamped at `clock`'s now.
 */
export async function hungAgent(
  nats: AtlasNats,
  region: string,
  id: string,
  configs: string[],
  clock: FakeClock,
): Promise<void> {
  const at = new Date(clock.now()).toISOString();
  const record = agentRecord(id, region, Object.fromEntries(configs.map((c) => [c, {}])), { at });
  await (await nats.kv(Buckets.agents)).put(agentKey(region, id), JSON.stringify(record));
}

/** What {@linkcode hookedWrites} does with one write. */
export type WriteHook = "crash-before" | "crash-after" | undefined;

/** The error a write fails with in {@linkcode hookedWrites}: the process "died" there. */
export class SimulatedCrash extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimulatedCrash";
  }
}

/**
 * `nats` whose `kvWrite` (the rollout record's writes, store/rollout_update.ts) first
 * awaits `hook`: `crash-before` fails the write unwritten, `crash-after` fails it once
 * written (a coordinator that died right before or right after it); else it goes through.
 */
export function hookedWrites(
  nats: AtlasNats,
  hook: (bucket: string, key: string, value: string) => Promise<WriteHook> | WriteHook,
): AtlasNats {
  return withMember(nats, "kvWrite", (kvWrite) => async (bucket, key, value, revision) => {
    const what = await hook(bucket, key, value);
    if (what === "crash-before") throw new SimulatedCrash(`died before writing ${key}`);
    const written = await kvWrite(bucket, key, value, revision);
    if (what === "crash-after") throw new SimulatedCrash(`died after writing ${key}`);
    return written;
  });
}

/**
 * `nats` whose KV handles of `bucket` have their member `name` replaced (`withMember`), the
 * handles of other buckets as they are: a bucket that refuses writes, a watch that never
 * delivers.
 */
export function withKvMember<K extends keyof KV>(
  nats: AtlasNats,
  bucket: string,
  name: K,
  replace: (original: KV[K]) => KV[K],
): AtlasNats {
  return withMember(nats, "kv", (kv) => async (b, options) => {
    const handle = await kv(b, options);
    return b === bucket ? withMember(handle, name, replace) : handle;
  });
}
