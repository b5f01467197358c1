/**
 * A pause racing the end of a rollout: the control plane's pause and the coordinator's
 * first write of the end (the one that commits it: its region `promoting`, before its
 * pointer is promoted) write the same record. Whichever lands first wins and the other is
 * decided again against it, so a rollout never goes paused → succeeded: either it was
 * committed before the pause (and the pause is a 409), or it is paused and stays paused.
 */
import assert from "node:assert/strict";
import { natsTest, type NatsTestContext, waitFor, withMember } from "@atlas/testkit";
import { activeRolloutKey, Buckets, RolloutRecord } from "@atlas/core";
import { type AtlasNats, loadSigner, readPointer } from "@atlas/store";
import { RegionCoordinator } from "@atlas/coordinator";
import { startTestControl, type TestControl } from "./harness.ts";

/**
 * `nats` with `before` run ahead of every KV write, whether through `kvWrite` or a KV
 * handle's `update`: a hook between a writer's read and its compare-and-set.
 */
function hookWrites(
  nats: AtlasNats,
  before: (bucket: string, key: string, value: string) => Promise<void>,
): AtlasNats {
  const text = (v: string | Uint8Array) => typeof v === "string" ? v : new TextDecoder().decode(v);
  const hooked = withMember(nats, "kvWrite", (kvWrite) => async (bucket, key, value, revision) => {
    await before(bucket, key, value);
    return await kvWrite(bucket, key, value, revision);
  });
  return withMember(
    hooked,
    "kv",
    (kv) => async (bucket, options) =>
      withMember(await kv(bucket, options), "update", (update) => async (key, value, revision) => {
        await before(bucket, key, text(value));
        return await update(key, value, revision);
      }),
  );
}

/** Config `name` on v1 in us-east, v2 published, and a one-stage rollout of v2 started. */
async function rolloutOf(t: TestControl, name: string): Promise<string> {
  await t.expect("PUT", `/v1/configs/${name}`, {}, 201);
  await t.expect("POST", `/v1/configs/${name}/versions`, { content: '{"v":1}' }, 201);
  await t.expect("POST", `/v1/configs/${name}/versions`, { content: '{"v":2}' }, 201);
  await t.expect("POST", `/v1/configs/${name}/activate`, { version: 1 });
  // No agents: the stage's gates hold as soon as it starts, and it bakes for 0 s. The
  // test steps the coordinator itself, so none holds the lease yet.
  const started = await t.expect<RolloutRecord>("POST", `/v1/configs/${name}/rollouts`, {
    version: 2,
    stages: [{ regions: ["us-east"], bakeSeconds: 0 }],
    allowNoCoordinator: true,
  }, 201);
  return started.id;
}

async function rollout(t: TestControl, id: string): Promise<RolloutRecord> {
  return RolloutRecord.parse(await t.expect("GET", `/v1/rollouts/${id}`));
}

/** Steps `c` until the rollout's only stage is done in us-east, its end still to write. */
async function untilLastStageDone(t: TestControl, c: RegionCoordinator, id: string) {
  await waitFor("the last stage done", async () => {
    const r = await rollout(t, id);
    if (r.state === "running" && r.regions["us-east"]!.doneStage === 0) return true;
    await c.step();
    return false;
  });
}

/** True for the write that commits a rollout's end: its first region `promoting`. */
function commitsTheEnd(value: string): boolean {
  const r = RolloutRecord.parse(JSON.parse(value));
  return r.state === "succeeded" || Object.values(r.regions).some((p) => p.settle);
}

function path(r: RolloutRecord): string[] {
  return r.transitions.map((x) => `${x.from}>${x.to}`);
}

async function coordinatorOver(ctx: NatsTestContext, t: TestControl, nats = ctx.nats) {
  return await RegionCoordinator.create(nats, await loadSigner(t.signingKeyFile), {
    region: "us-east",
    log: () => {},
  });
}

natsTest(
  "a pause between the coordinator's read and its final write holds the rollout paused",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
    const id = await rolloutOf(t, "web");
    let paused: number | undefined;
    const hooked = hookWrites(ctx.nats, async (bucket, key, value) => {
      if (bucket !== Buckets.rollouts || key !== id || paused !== undefined) return;
      if (!commitsTheEnd(value)) return;
      // The coordinator has read the record and decided to end it: pause it now.
      paused = (await t.call("POST", `/v1/rollouts/${id}/pause`)).status;
    });
    const c = await coordinatorOver(ctx, t, hooked);
    await untilLastStageDone(t, c, id);
    await c.step();
    assert.equal(paused, 200, "the pause landed between the read and the write");
    for (let i = 0; i < 3; i++) await c.step();
    const r = await rollout(t, id);
    assert.equal(r.state, "paused");
    assert.deepEqual(path(r), ["pending>running", "running>paused"]);
    const p = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
    assert.equal(p.active.version, 1, "not promoted");
    assert.equal(p.candidate?.version.version, 2, "the candidate share stays while paused");
    const active = await (await ctx.nats.kv(Buckets.rollouts)).get(activeRolloutKey("web"));
    assert.deepEqual(active?.json(), { rolloutId: id }, "still the config's active rollout");

    await t.expect("POST", `/v1/rollouts/${id}/resume`);
    await waitFor("succeeded after the resume", async () => {
      await c.step();
      return (await rollout(t, id)).state === "succeeded";
    });
    assert.deepEqual(path(await rollout(t, id)), [
      "pending>running",
      "running>paused",
      "paused>running",
      "running>succeeded",
    ]);
    assert.equal((await readPointer(ctx.nats, "us-east", "web"))!.pointer.active.version, 2);
  },
);

natsTest(
  "a pause racing the coordinator's succeed: succeeded and 409, or paused for good",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
    // The pause is sent before the coordinator's final write, with it (both in flight:
    // a real race of two compare-and-sets), or after it, in turn.
    const modes = ["before", "with", "after"] as const;
    let target: { id: string; mode: typeof modes[number] } | undefined;
    let pause: Promise<{ status: number; json: unknown }> | undefined;
    const sendPause = (id: string) => (pause = t.call("POST", `/v1/rollouts/${id}/pause`));
    const hooked = hookWrites(ctx.nats, async (bucket, key, value) => {
      if (bucket !== Buckets.rollouts || key !== target?.id || pause) return;
      if (!commitsTheEnd(value)) return;
      if (target.mode === "before") await sendPause(key);
      if (target.mode === "with") sendPause(key);
    });
    const c = await coordinatorOver(ctx, t, hooked);
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const id = await rolloutOf(t, `web${i}`);
      await untilLastStageDone(t, c, id);
      pause = undefined;
      target = { id, mode: modes[i % modes.length]! };
      await c.step();
      const { status, json } = await (pause ?? sendPause(id));
      await c.step();
      await c.step();
      const r = await rollout(t, id);
      assert.ok(!path(r).includes("paused>succeeded"), path(r).join(", "));
      if (status === 200) {
        assert.equal(r.state, "paused", `${id}: paused, and stays paused`);
        assert.deepEqual(path(r), ["pending>running", "running>paused"]);
      } else {
        assert.equal(status, 409, JSON.stringify(json));
        assert.match(
          (json as { error: { message: string } }).error.message,
          /it is succeeded and has ended|it is completing/,
        );
        assert.equal(r.state, "succeeded");
        assert.deepEqual(path(r), ["pending>running", "running>succeeded"]);
      }
      seen.add(`${target.mode}: ${r.state}`);
    }
    assert.ok(seen.has("before: paused") && seen.has("after: succeeded"), [...seen].join(", "));
  },
);
