import assert from "node:assert/strict";
import { judgeMetricGate, MetricGate, metricQuery, type MetricReading } from "./metric_gate.ts";
import { Gates, RolloutStage } from "./rollout.ts";

const read = (...values: number[]): MetricReading => ({
  ok: true,
  samples: values.map((value, i) => ({ labels: { i: String(i) }, value })),
});
const Q = "sum(rate(errors[1m]))";

Deno.test("a max gate passes in bound and breaches at once above it with no for", () => {
  const gate = MetricGate.parse({ query: Q, max: 5 });
  assert.equal(gate.forSeconds, 0);
  assert.equal(judgeMetricGate(gate, Q, read(5), { now: 0 }).status, "pass");
  const v = judgeMetricGate(gate, Q, read(1, 7), { now: 10 });
  assert.equal(v.status, "breach");
  assert.equal(v.value, 7, "the worst series");
  assert.match(v.note, /sum\(rate\(errors\[1m\]\)\) = 7, not <= 5/);
});

Deno.test("a min gate breaches below its bound", () => {
  const gate = MetricGate.parse({ query: "up", min: 1 });
  assert.equal(judgeMetricGate(gate, "up", read(1, 1), { now: 0 }).status, "pass");
  const v = judgeMetricGate(gate, "up", read(1, 0), { now: 0 });
  assert.equal(v.status, "breach");
  assert.match(v.note, /up = 0, not >= 1/);
});

Deno.test("a gate with for breaches only once out of bound that long", () => {
  const gate = MetricGate.parse({ query: Q, max: 1, forSeconds: 30 });
  const first = judgeMetricGate(gate, Q, read(2), { now: 1_000 });
  assert.equal(first.status, "holding");
  assert.equal(first.outOfBoundSince, 1_000);
  const still = judgeMetricGate(gate, Q, read(3), { now: 30_999, outOfBoundSince: 1_000 });
  assert.equal(still.status, "holding");
  assert.match(still.note, /for 29 s of 30 s/);
  const breach = judgeMetricGate(gate, Q, read(3), { now: 31_000, outOfBoundSince: 1_000 });
  assert.equal(breach.status, "breach");
  assert.match(breach.note, /not <= 1 for 30 s/);
  // Back in bound: the count starts again.
  const back = judgeMetricGate(gate, Q, read(0), { now: 32_000, outOfBoundSince: 1_000 });
  assert.equal(back.status, "pass");
  assert.equal(back.outOfBoundSince, undefined);
});

Deno.test("no data and a failed query are never a pass", () => {
  const gate = MetricGate.parse({ query: Q, max: 1 });
  const none = judgeMetricGate(gate, Q, read(), { now: 0 });
  assert.equal(none.status, "unknown");
  assert.match(none.note, /no data.*or vector\(0\)/);
  assert.equal(judgeMetricGate(gate, Q, read(NaN), { now: 0 }).status, "unknown");
  const failed = judgeMetricGate(gate, Q, { ok: false, error: "parse error" }, {
    now: 0,
    outOfBoundSince: 0,
  });
  assert.equal(failed.status, "unknown");
  assert.equal(failed.outOfBoundSince, undefined);
  assert.match(failed.note, /query failed: parse error/);
});

Deno.test("placeholders name the region and the config", () => {
  const gate = MetricGate.parse({ query: 'x{region="$region",config="$config"}', max: 1 });
  assert.equal(
    metricQuery(gate, { region: "us-east", config: "web.nginx" }),
    'x{region="us-east",config="web.nginx"}',
  );
});

Deno.test("bad metric gates are refused with what to do", () => {
  const cases: [unknown, RegExp][] = [
    [{ query: Q }, /exactly one of max or min/],
    [{ query: Q, max: 1, min: 0 }, /exactly one of max or min/],
    [{ query: Q, max: 1, window: 5 }, /Unrecognized key: "window"/],
    [{ query: "  ", max: 1 }, /too_small|at least 1|>=1/i],
    [{ query: 'x{r="$regoin"}', max: 1 }, /unknown placeholder \$regoin.*\$region or \$config/],
    [{ query: Q, max: 1, forSeconds: -1 }, />=0|too_small/i],
  ];
  for (const [input, message] of cases) {
    const r = MetricGate.safeParse(input);
    assert.equal(r.success, false, JSON.stringify(input));
    assert.match(r.error!.issues.map((i) => `${i.code}: ${i.message}`).join("; "), message);
  }
});

Deno.test("gates default to no metric gates, and old stages still parse", () => {
  assert.deepEqual(Gates.parse({}).metrics, []);
  const stage = RolloutStage.parse({
    regions: ["us-east"],
    gates: { maxFailureRatio: 0.1, minAckedRatio: 1, ackTimeoutSeconds: 60 },
  });
  assert.deepEqual(stage.gates.metrics, []);
});
