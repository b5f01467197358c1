/**
 * The end of a successful rollout: each region's pointer names the version active before
 * the rollout reads `succeeded` (stages.ts `#complete`), and a coordinator that dies
 * between those writes leaves the job to the next, which finishes it exactly once.
 */
import assert from "node:assert/strict";
import { natsTest, type NatsTestContext, waitFor } from "@atlas/testkit";
import {
  Buckets,
  planStages,
  type PointerRecord,
  RolloutRecord,
  type RolloutStage,
  Strategy,
} from "@atlas/core";
import { readPointer, releaseActiveRollout, updateRollout } from "@atlas/store";
import {
  type AgentSpec,
  auditActions,
  coordinator,
  FakeClock,
  hookedWrites,
  readOr,
  rollout,
  SimulatedCrash,
  startFleet,
  startRollout,
  stepUntil,
  V2,
  type WriteHook,
} from "./test_helpers.ts";

const REGIONS = ["us-east", "eu-west"];

/** One stage: all of us-east at once, no bake. */
function immediate(): RolloutStage[] {
  return planStages(Strategy.parse({ name: "immediate" }), ["us-east"]);
}

/** A canary over both regions: 50 % of us-east, all of it, then eu-west; no bake. */
function canary(): RolloutStage[] {
  return planStages(Strategy.parse({ name: "canary", canaryPercent: 50, bakeSeconds: 0 }), REGIONS);
}

function parse(value: string): RolloutRecord {
  return RolloutRecord.parse(JSON.parse(value));
}

async function pointers(ctx: NatsTestContext, config = "web") {
  const out: Record<string, PointerRecord> = {};
  for (const region of REGIONS) {
    const p = await readPointer(ctx.nats, region, config);
    if (p) out[region] = p.pointer;
  }
  return out;
}

/** Promoted exactly once from v1: v2 active, no candidate, v1 (not v2) last in history. */
function promotedOnce(p: PointerRecord | undefined, what: string): void {
  assert.equal(p?.active.version, 2, `${what}: v2 active`);
  assert.equal(p.candidate, undefined, `${what}: no candidate left`);
  assert.equal(p.history[0], 1, `${what}: promoted from v1`);
  assert.ok(!p.history.includes(2), `${what}: promoted once (history ${p.history})`);
}

/**
 * Runs a canary of web v2 over both regions with `specs`, reading both regions' pointers
 * right before the write that makes the rollout `succeeded`; returns what it read.
 */
async function pointersWhenSucceeded(ctx: NatsTestContext, specs: AgentSpec[]) {
  await using _f = await startFleet(ctx, specs);
  const clock = new FakeClock();
  const seen: Record<string, PointerRecord>[] = [];
  const hook = async (bucket: string, key: string, value: string): Promise<WriteHook> => {
    if (bucket === Buckets.rollouts && key === "r-end" && parse(value).state === "succeeded") {
      seen.push(await pointers(ctx));
    }
    return undefined;
  };
  const cs = await Promise.all(
    REGIONS.map((region) =>
      coordinator(ctx, region, clock, { wrap: (n) => hookedWrites(n, hook) })
    ),
  );
  await startRollout(ctx.nats, "r-end", canary());
  await stepUntil("succeeded", cs, async () => {
    const r = await rollout(ctx.nats, "r-end");
    assert.equal(r.state === "rolled_back" || r.state === "aborted", false, r.state);
    return r.state === "succeeded";
  }, { clock, advanceMs: 100 });
  assert.equal(seen.length, 1, "one write ends the rollout");
  // Nothing is promoted again once it has ended.
  const after = await pointers(ctx);
  for (const c of cs) await c.step();
  assert.deepEqual(await pointers(ctx), after, "no write after the end");
  await Promise.all(cs.map((c) => c.close()));
  return { atEnd: seen[0]!, after };
}

natsTest(
  "a rollout first reads succeeded when its version is already active in every region",
  async (ctx) => {
    const { atEnd, after } = await pointersWhenSucceeded(
      ctx,
      REGIONS.flatMap((region) =>
        [0, 1, 2].map((i) => ({ id: `${region}-${i}`, region, configs: { web: {} } }))
      ),
    );
    for (const region of REGIONS) {
      promotedOnce(atEnd[region], `${region} when the rollout first read succeeded`);
      assert.equal(after[region]!.seq, atEnd[region]!.seq, `${region}: not moved since`);
    }
  },
);

natsTest(
  "a mixed fleet, one region with no host managing the config, still succeeds promoted",
  async (ctx) => {
    const { atEnd } = await pointersWhenSucceeded(ctx, [
      { id: "us-web-0", region: "us-east", configs: { web: {} } },
      { id: "us-web-1", region: "us-east", configs: { web: {}, cache: {} } },
      { id: "us-cache-0", region: "us-east", configs: { cache: {} } },
      { id: "us-batch-0", region: "us-east", configs: {} },
      { id: "eu-cache-0", region: "eu-west", configs: { cache: {} } },
    ]);
    for (const region of REGIONS) promotedOnce(atEnd[region], region);
  },
);

/** Where a coordinator dies: at the write of the rollout record that `at` picks. */
interface Window {
  name: string;
  at: (written: RolloutRecord) => boolean;
  hook: WriteHook;
  /** The pointer had been promoted when it died. */
  promoted: boolean;
}

const WINDOWS: Window[] = [
  {
    name: "committed (promoting), pointer not yet promoted",
    at: (v) => v.regions["us-east"]?.settle === "promoting",
    hook: "crash-after",
    promoted: false,
  },
  {
    name: "pointer promoted, the region not yet marked promoted",
    at: (v) => v.regions["us-east"]?.settle === "promoted",
    hook: "crash-before",
    promoted: true,
  },
  {
    name: "every region promoted, not yet succeeded",
    at: (v) => v.state === "succeeded",
    hook: "crash-before",
    promoted: true,
  },
];

natsTest(
  "a coordinator that dies between promoting and succeeding: the next finishes it once",
  async (ctx) => {
    const configs = WINDOWS.map((_, i) => `web${i}`);
    await using f = await startFleet(
      ctx,
      [0, 1].map((i) => ({
        id: `us-east-${i}`,
        region: "us-east",
        configs: Object.fromEntries(configs.map((c) => [c, {}])),
      })),
    );
    const clock = new FakeClock();
    for (const [i, w] of WINDOWS.entries()) {
      const id = `r-crash-${i}`;
      const config = configs[i]!;
      let crashed = false;
      const dying = await coordinator(ctx, "us-east", clock, {
        wrap: (n) =>
          hookedWrites(n, (bucket, key, value) => {
            if (crashed || bucket !== Buckets.rollouts || key !== id) return undefined;
            if (!w.at(parse(value))) return undefined;
            crashed = true;
            return w.hook;
          }),
      });
      await startRollout(ctx.nats, id, immediate(), config);
      await waitFor(`${w.name}: the coordinator died there`, async () => {
        clock.t += 100;
        await dying.step().catch((e) => {
          if (!(e instanceof SimulatedCrash)) throw e;
        });
        return crashed;
      }, { timeoutMs: 20_000, intervalMs: 50 });
      await dying.close();
      const died = (await readPointer(ctx.nats, "us-east", config))!.pointer;
      const r = await rollout(ctx.nats, id);
      assert.equal(r.state, "running", `${w.name}: still running when it died`);
      assert.equal(died.active.version, w.promoted ? 2 : 1, `${w.name}: pointer when it died`);
      // The next leader finishes the job.
      const next = await coordinator(ctx, "us-east", clock);
      await stepUntil(`${w.name}: succeeded`, [next], async () => {
        return (await rollout(ctx.nats, id)).state === "succeeded";
      }, { clock, advanceMs: 100 });
      for (let k = 0; k < 2; k++) await next.step();
      const p = (await readPointer(ctx.nats, "us-east", config))!.pointer;
      promotedOnce(p, w.name);
      assert.equal(p.seq, died.seq + (w.promoted ? 0 : 1), `${w.name}: one promotion in all`);
      const ended = await rollout(ctx.nats, id);
      assert.deepEqual(
        ended.transitions.map((t) => `${t.from}>${t.to}`),
        ["running>succeeded"],
        w.name,
      );
      await next.close();
      for (const a of f.agents) {
        await waitFor(
          `${a.id} on ${config} v2`,
          async () => (await readOr(a.files[config]!)) === V2,
        );
      }
    }
    const succeeded = (await auditActions(ctx.nats)).filter((a) =>
      a === "rollout.succeeded@us-east"
    );
    assert.equal(succeeded.length, WINDOWS.length, "one success event per rollout");
  },
);

natsTest(
  "a rollout left succeeded with its candidate still on the pointer is promoted once",
  async (ctx) => {
    // What a coordinator of before this order left when it died between its two writes.
    await using f = await startFleet(
      ctx,
      [0, 1].map((i) => ({ id: `us-east-${i}`, region: "us-east", configs: { web: {} } })),
    );
    const clock = new FakeClock();
    const id = "r-old-order";
    const first = await coordinator(ctx, "us-east", clock);
    await startRollout(ctx.nats, id, immediate());
    await stepUntil("the last stage done", [first], async () => {
      const r = await rollout(ctx.nats, id);
      assert.equal(r.regions["us-east"]!.settle, undefined, "stopped before it commits");
      return r.regions["us-east"]!.doneStage === 0;
    }, { clock, advanceMs: 100 });
    await first.close();
    const kv = await ctx.nats.kv(Buckets.rollouts);
    const e = await kv.get(id);
    const r = RolloutRecord.parse(e!.json());
    const at = new Date(clock.now()).toISOString();
    await kv.update(
      id,
      JSON.stringify({
        ...r,
        state: "succeeded",
        updatedAt: at,
        transitions: [...r.transitions, {
          at,
          from: "running",
          to: "succeeded",
          stage: 0,
          reason: "every stage completed",
          by: "coordinator/us-east",
        }],
      }),
      e!.revision,
    );
    await releaseActiveRollout(ctx.nats, "web", id);
    const died = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
    assert.equal(died.candidate?.rolloutId, id, "the candidate is still on the pointer");
    const next = await coordinator(ctx, "us-east", clock);
    await stepUntil("promoted", [next], async () => {
      return (await readPointer(ctx.nats, "us-east", "web"))!.pointer.active.version === 2;
    }, { clock, advanceMs: 100 });
    for (let k = 0; k < 2; k++) await next.step();
    const p = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
    promotedOnce(p, "old order");
    assert.equal(p.seq, died.seq + 1, "one promotion");
    assert.equal((await rollout(ctx.nats, id)).state, "succeeded");
    await next.close();
    for (const a of f.agents) {
      await waitFor(`${a.id} on v2`, async () => (await readOr(a.files.web!)) === V2);
    }
  },
);

natsTest(
  "a completing rollout refuses a pause; an abort keeps promoted regions, restores the rest",
  async (ctx) => {
    await using _f = await startFleet(
      ctx,
      REGIONS.map((region) => ({ id: `${region}-0`, region, configs: { web: {} } })),
    );
    const clock = new FakeClock();
    const id = "r-abort-late";
    let crashed = false;
    const us = await coordinator(ctx, "us-east", clock);
    // eu-west's leader dies at its commit: us-east has promoted, eu-west has not.
    const eu = await coordinator(ctx, "eu-west", clock, {
      wrap: (n) =>
        hookedWrites(n, (bucket, key, value) => {
          if (crashed || bucket !== Buckets.rollouts || key !== id) return undefined;
          if (parse(value).regions["eu-west"]?.settle !== "promoting") return undefined;
          crashed = true;
          return "crash-before";
        }),
    });
    await startRollout(ctx.nats, id, canary());
    await waitFor("us-east promoted, eu-west died at its commit", async () => {
      clock.t += 100;
      await us.step();
      await eu.step().catch((e) => {
        if (!(e instanceof SimulatedCrash)) throw e;
      });
      return crashed && (await rollout(ctx.nats, id)).regions["us-east"]!.settle === "promoted";
    }, { timeoutMs: 20_000, intervalMs: 50 });
    await eu.close();
    const usPromoted = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
    promotedOnce(usPromoted, "us-east");
    const by = { by: "alice" };
    const pause = await updateRollout(ctx.nats, id, () => ({ type: "pause" }), by);
    assert.ok("skipped" in pause && pause.skipped === "illegal", "a pause is refused");
    assert.match(pause.error.message, /it is completing/);
    const abort = await updateRollout(ctx.nats, id, () => ({ type: "abort" }), by);
    assert.ok(!("skipped" in abort), "an abort is not");
    const next = await coordinator(ctx, "eu-west", clock);
    await stepUntil("eu-west restored", [us, next], async () => {
      const p = (await readPointer(ctx.nats, "eu-west", "web"))!.pointer;
      return p.candidate === undefined;
    }, { clock, advanceMs: 100 });
    const eu1 = (await readPointer(ctx.nats, "eu-west", "web"))!.pointer;
    assert.equal(eu1.active.version, 1, "eu-west back on the stable version");
    assert.deepEqual(
      (await readPointer(ctx.nats, "us-east", "web"))!.pointer,
      usPromoted,
      "us-east's promoted version is never rolled back",
    );
    assert.equal((await rollout(ctx.nats, id)).state, "aborted");
    await us.close();
    await next.close();
  },
);
