import assert from "node:assert/strict";
import {
  activeRolloutKey,
  canTransition,
  isFinal,
  planStages,
  releaseActiveRollout,
  RolloutStage,
  Strategy,
} from "./rollouts.ts";
import { Buckets } from "./names.ts";
import { natsTest } from "./testing.ts";

const shares = (stages: RolloutStage[]) => stages.map((s) => `${s.regions.join("+")}@${s.percent}`);

Deno.test("a canary takes a share of the first region, then all of it, then each region", () => {
  const stages = planStages(Strategy.parse({ name: "canary", canaryPercent: 10, bakeSeconds: 5 }), [
    "us-east",
    "eu-west",
    "ap-south",
  ]);
  assert.deepEqual(shares(stages), ["us-east@10", "us-east@100", "eu-west@100", "ap-south@100"]);
  assert.ok(stages.every((s) => s.bakeSeconds === 5));
});

Deno.test("linear, exponential and immediate strategies end with everyone", () => {
  const r = ["a", "b"];
  assert.deepEqual(shares(planStages(Strategy.parse({ name: "linear", steps: 3 }), r)), [
    "a+b@33.33",
    "a+b@66.67",
    "a+b@100",
  ]);
  assert.deepEqual(
    shares(planStages(Strategy.parse({ name: "exponential", startPercent: 10 }), r)),
    ["a+b@10", "a+b@20", "a+b@40", "a+b@80", "a+b@100"],
  );
  assert.deepEqual(shares(planStages(Strategy.parse({ name: "immediate" }), r)), ["a+b@100"]);
});

Deno.test("gates given to a plan reach every stage; defaults are strict", () => {
  const stages = planStages(Strategy.parse({ name: "linear" }), ["a"], { maxFailureRatio: 0.1 });
  assert.ok(stages.every((s) => s.gates.maxFailureRatio === 0.1 && s.gates.minAckedRatio === 1));
  assert.deepEqual(RolloutStage.parse({ regions: ["a"] }).gates, {
    maxFailureRatio: 0,
    minAckedRatio: 1,
    ackTimeoutSeconds: 60,
  });
  assert.throws(() => planStages(Strategy.parse({ name: "immediate" }), []), RangeError);
});

Deno.test("rollout states only move forward, and the final ones stay", () => {
  assert.ok(canTransition("running", "paused") && canTransition("paused", "running"));
  assert.ok(!canTransition("succeeded", "running") && !canTransition("aborted", "running"));
  assert.ok(!canTransition("pending", "succeeded"));
  assert.ok(isFinal("rolled_back") && !isFinal("paused"));
});

natsTest(
  "a rollout that ended releases the config's key only if it still holds it",
  async ({ nats }) => {
    const kv = await nats.kv(Buckets.rollouts);
    const key = activeRolloutKey("web");
    await kv.create(key, JSON.stringify({ rolloutId: "r-new" })); // taken by a newer rollout
    await releaseActiveRollout(nats, "web", "r-old");
    assert.equal((await kv.get(key))?.json<{ rolloutId: string }>().rolloutId, "r-new");
    await releaseActiveRollout(nats, "web", "r-new");
    assert.notEqual((await kv.get(key))?.operation, "PUT");
    await releaseActiveRollout(nats, "web", "r-new"); // nothing held: nothing to do
  },
);

Deno.test("a preflight stage over every region comes before the installing stages", () => {
  const regions = ["us-east", "eu-west"];
  const stages = planStages(
    Strategy.parse({ name: "canary", canaryPercent: 10, bakeSeconds: 5 }),
    regions,
    { maxFailureRatio: 0.1 },
    { preflight: true },
  );
  assert.deepEqual(shares(stages), [
    "us-east+eu-west@100",
    "us-east@10",
    "us-east@100",
    "eu-west@100",
  ]);
  const [preflight, ...installing] = stages;
  assert.equal(preflight?.preflight, true);
  assert.equal(preflight?.bakeSeconds, 0);
  assert.equal(preflight?.gates.maxFailureRatio, 0.1);
  assert.ok(installing.every((s) => !s.preflight && s.gates.maxFailureRatio === 0.1));
  assert.deepEqual(
    planStages(Strategy.parse({ name: "immediate" }), regions, {}, { preflight: false }),
    planStages(Strategy.parse({ name: "immediate" }), regions),
  );
});
