import assert from "node:assert/strict";
import {
  canTransition,
  isFinal,
  planStages,
  RolloutRecord,
  RolloutStage,
  RolloutState,
  Strategy,
} from "./rollout.ts";
import {
  isCompleting,
  type RolloutEvent,
  RolloutEventType,
  RolloutTransitionError,
  transition,
} from "./rollout_state.ts";

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
    metrics: [],
  });
  assert.throws(() => planStages(Strategy.parse({ name: "immediate" }), []), RangeError);
});

Deno.test("rollout states only move forward, and the final ones stay", () => {
  assert.ok(canTransition("running", "paused") && canTransition("paused", "running"));
  assert.ok(!canTransition("succeeded", "running") && !canTransition("aborted", "running"));
  assert.ok(!canTransition("pending", "succeeded"));
  assert.ok(isFinal("rolled_back") && !isFinal("paused"));
});

const AT = "2026-01-02T03:04:05.000Z";
const CTX = { at: AT, by: "alice" };

/** A two-stage rollout over regions a (both stages) and b (the second) in `state`. */
function record(
  state: RolloutState,
  options: { stage?: number; doneStage?: number; settle?: "promoting" | "promoted" } = {},
): RolloutRecord {
  const stage = options.stage ?? 0;
  const progress = (doneStage: number) => ({
    targeted: 2,
    applied: 2,
    rejected: 0,
    failed: 0,
    pending: 0,
    doneStage,
    healthySince: "2026-01-02T03:00:00.000Z",
    ...(options.settle ? { settle: options.settle } : {}),
  });
  return RolloutRecord.parse({
    id: "r-20260102030000-abcdef",
    config: "web",
    version: 2,
    stages: [{ regions: ["a"], percent: 50 }, { regions: ["a", "b"] }],
    state,
    stage,
    regions: {
      a: progress(options.doneStage ?? -1),
      b: progress(stage === 1 ? options.doneStage ?? -1 : -1),
    },
    transitions: [],
    createdAt: "2026-01-02T03:00:00.000Z",
    createdBy: "alice",
    updatedAt: "2026-01-02T03:00:00.000Z",
  });
}

/** One event of each type, on a record where only its state can make it illegal. */
function fixture(state: RolloutState, type: RolloutEventType): [RolloutRecord, RolloutEvent] {
  switch (type) {
    case "advance":
      return [record(state, { stage: 0, doneStage: 0 }), { type, from: 0 }];
    case "succeed":
      return [record(state, { stage: 1, doneStage: 1, settle: "promoted" }), { type }];
    case "rollBack":
      return [record(state), { type, reason: "gate breached", region: "a", update: { failed: 2 } }];
    case "progress":
      return [record(state), { type, region: "a", update: { applied: 1, pending: 1 } }];
    default:
      return [record(state), { type }];
  }
}

/** The rules, written out: the states each event is legal in, and where it leads. */
const LEGAL: Record<RolloutEventType, { in: RolloutState[]; to?: RolloutState }> = {
  pause: { in: ["running"], to: "paused" },
  resume: { in: ["paused"], to: "running" },
  abort: { in: ["pending", "running", "paused"], to: "aborted" },
  promote: { in: ["running"] },
  advance: { in: ["running"] },
  succeed: { in: ["running"], to: "succeeded" },
  rollBack: { in: ["running", "paused"], to: "rolled_back" },
  progress: { in: ["running", "paused"] },
};

Deno.test("every event is legal in exactly the states of the table, and illegal elsewhere", () => {
  for (const state of Object.values(RolloutState)) {
    for (const type of Object.values(RolloutEventType)) {
      const [before, event] = fixture(state, type);
      const frozen = structuredClone(before);
      const rule = LEGAL[type];
      const what = `${type} in ${state}`;
      if (!rule.in.includes(state)) {
        assert.throws(() => transition(before, event, CTX), (e) => {
          assert.ok(e instanceof RolloutTransitionError, what);
          assert.equal(e.from, state, what);
          assert.equal(e.event, type, what);
          assert.match(e.message, new RegExp(`rollout ${before.id}: it is ${state}`), what);
          return true;
        });
        continue;
      }
      const after = RolloutRecord.parse(transition(before, event, CTX));
      assert.deepEqual(before, frozen, `${what}: the input record is not changed`);
      assert.equal(after.updatedAt, AT, what);
      if (rule.to) {
        assert.ok(canTransition(state, rule.to), `${what}: the table behind it agrees`);
        assert.equal(after.state, rule.to, what);
        assert.deepEqual(after.transitions, [{
          at: AT,
          from: state,
          to: rule.to,
          stage: before.stage,
          reason: event.type === "rollBack"
            ? "gate breached"
            : event.type === "succeed"
            ? "every stage completed"
            : `${
              { pause: "paused", resume: "resumed", abort: "aborted" }[type as "pause"]
            } by alice`,
          by: "alice",
        }], what);
      } else {
        assert.equal(after.state, state, `${what}: no state change`);
        assert.deepEqual(after.transitions, [], `${what}: no transition recorded`);
      }
    }
  }
});

Deno.test("each event does what it says to the record", () => {
  const promoted = transition(record("running", { stage: 1 }), { type: "promote" }, CTX);
  assert.equal(promoted.skipBakeStage, 1);
  const advanced = transition(
    record("running", { doneStage: 0 }),
    { type: "advance", from: 0 },
    CTX,
  );
  assert.equal(advanced.stage, 1);
  const rolledBack = transition(
    record("paused"),
    { type: "rollBack", reason: "2 of 2 failed", region: "a", update: { failed: 2, applied: 0 } },
    CTX,
  );
  assert.deepEqual([rolledBack.regions.a!.failed, rolledBack.regions.a!.applied], [2, 0]);
  assert.equal(rolledBack.transitions.at(-1)?.reason, "2 of 2 failed");
  const progressed = transition(record("running"), {
    type: "progress",
    region: "a",
    update: { seq: 7, stage: 0, healthySince: null, note: "waiting", doneStage: 0 },
  }, CTX);
  const a = progressed.regions.a!;
  assert.deepEqual([a.seq, a.stage, a.healthySince, a.note, a.doneStage], [
    7,
    0,
    undefined,
    "waiting",
    0,
  ]);
  const paused = transition(record("running"), { type: "pause", reason: "holiday" }, CTX);
  assert.equal(paused.transitions.at(-1)?.reason, "holiday");
});

Deno.test("a re-applied advance is refused: a stage is never skipped", () => {
  const once = transition(record("running", { doneStage: 0 }), { type: "advance", from: 0 }, CTX);
  assert.throws(
    () => transition(once, { type: "advance", from: 0 }, CTX),
    (e) => e instanceof RolloutTransitionError && /advanced already/.test(e.message),
  );
});

Deno.test("advance and succeed need every region of the stage done, succeed the last stage", () => {
  const refused = (r: RolloutRecord, event: RolloutEvent, message: RegExp) =>
    assert.throws(
      () => transition(r, event, CTX),
      (e) => e instanceof RolloutTransitionError && message.test(e.message),
    );
  refused(record("running"), { type: "advance", from: 0 }, /stage 1 is not done in a/);
  refused(record("running", { stage: 1, doneStage: 0 }), { type: "succeed" }, /not done in a, b/);
  refused(record("running", { doneStage: 0 }), { type: "succeed" }, /stage 1 of 2, not the last/);
  refused(
    record("running", { stage: 1, doneStage: 1 }),
    { type: "advance", from: 1 },
    /its last: it can only complete/,
  );
});

Deno.test("a rollout succeeds only once every region has made its version active", () => {
  const done = record("running", { stage: 1, doneStage: 1 });
  const at = (r: RolloutRecord, region: string, settle: "promoting" | "promoted") =>
    transition(r, { type: "progress", region, update: { settle } }, CTX);
  assert.throws(
    () => transition(done, { type: "succeed" }, CTX),
    (e) => e instanceof RolloutTransitionError && /not yet active in a, b/.test(e.message),
  );
  const aPromoted = at(at(done, "a", "promoting"), "a", "promoted");
  assert.throws(
    () => transition(aPromoted, { type: "succeed" }, CTX),
    (e) => e instanceof RolloutTransitionError && /not yet active in b$/.test(e.message),
  );
  const both = at(aPromoted, "b", "promoted");
  assert.equal(transition(both, { type: "succeed" }, CTX).state, "succeeded");
  // Forward only, and only once every stage is done, while running.
  assert.throws(
    () => at(aPromoted, "a", "promoting"),
    (e) => e instanceof RolloutTransitionError && /made v2 active already/.test(e.message),
  );
  assert.throws(
    () => at(record("running", { stage: 1, doneStage: 0 }), "a", "promoting"),
    (e) => e instanceof RolloutTransitionError && /not done in a, b/.test(e.message),
  );
  assert.throws(
    () => at(record("running", { doneStage: 0 }), "a", "promoting"),
    (e) => e instanceof RolloutTransitionError && /stage 1, not the last/.test(e.message),
  );
  assert.throws(
    () => at(record("paused", { stage: 1, doneStage: 1 }), "a", "promoting"),
    (e) => e instanceof RolloutTransitionError && /it is paused: v2 cannot be made/.test(e.message),
  );
});

Deno.test("a completing rollout refuses a pause and a roll back, not an abort", () => {
  const completing = record("running", { stage: 1, doneStage: 1, settle: "promoting" });
  assert.ok(isCompleting(completing));
  assert.ok(!isCompleting(record("running", { stage: 1, doneStage: 1 })));
  for (const event of [{ type: "pause" }, { type: "rollBack", reason: "late" }] as const) {
    assert.throws(
      () => transition(completing, event, CTX),
      (e) => e instanceof RolloutTransitionError && /it is completing/.test(e.message),
      event.type,
    );
  }
  assert.equal(transition(completing, { type: "abort" }, CTX).state, "aborted");
});

Deno.test("a paused rollout records counts, but none of its stages completes", () => {
  const counted = transition(
    record("paused"),
    { type: "progress", region: "a", update: { applied: 1, pending: 1, seq: 3 } },
    CTX,
  );
  assert.deepEqual([counted.regions.a!.applied, counted.regions.a!.seq], [1, 3]);
  assert.throws(
    () =>
      transition(record("paused"), {
        type: "progress",
        region: "a",
        update: { doneStage: 0 },
      }, CTX),
    (e) =>
      e instanceof RolloutTransitionError &&
      /it is paused: stage 1 cannot complete/.test(e.message),
  );
  assert.throws(
    () =>
      transition(
        record("running"),
        { type: "progress", region: "a", update: { doneStage: 1 } },
        CTX,
      ),
    (e) => e instanceof RolloutTransitionError && /stage 2 cannot complete/.test(e.message),
  );
  assert.throws(
    () => transition(record("running"), { type: "progress", region: "mars", update: {} }, CTX),
    RangeError,
  );
});

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
