import assert from "node:assert/strict";
import {
  cpuPercentSeries,
  gatesMetAt,
  saturation,
  shareSize,
  stageOverheads,
  stepCpuSplit,
} from "./rows.ts";

Deno.test("saturation counts seconds at or over the threshold and the longest run", () => {
  assert.deepEqual(saturation([20, 95, 99, 40, 90, 91, 92, 10], 90), {
    maxPercent: 99,
    saturatedSeconds: 5,
    longestRunSeconds: 3,
  });
  assert.deepEqual(saturation([], 90), {
    maxPercent: 0,
    saturatedSeconds: 0,
    longestRunSeconds: 0,
  });
});

Deno.test("saturation refuses a threshold that is not positive", () => {
  assert.throws(() => saturation([50], 0), /threshold of 0 %: give a positive percent/);
});

Deno.test("cpuPercentSeries turns cumulative CPU into % of a core per interval", () => {
  assert.deepEqual(cpuPercentSeries([0, 500_000, 2_500_000], [0, 1_000, 2_000]), [50, 200]);
  assert.throws(() => cpuPercentSeries([0, 1], [0]), /Cannot pair 2 CPU readings with 1 times/);
});

Deno.test("stageOverheads measures from gates met to the next pointer", () => {
  assert.deepEqual(stageOverheads([1_000, 2_000, undefined], [1_400, 2_700, 3_000]), [
    400,
    700,
    NaN,
  ]);
});

Deno.test("shareSize takes ceil(percent × members), at least one, at most all", () => {
  assert.equal(shareSize(1, 1_000), 10);
  assert.equal(shareSize(1, 50), 1);
  assert.equal(shareSize(10, 10_000), 1_000);
  assert.equal(shareSize(100, 7), 7);
});

Deno.test("gatesMetAt takes the share's last ack, or the stage's notice when it came later", () => {
  // 3 agents: the 1st stage needs 1 ack, the 2nd all 3; a 3rd stage of the same 3 agents
  // begins (its notice at 400) after all had applied.
  assert.deepEqual(gatesMetAt([100, 200, 300], [1, 3, 3], [50, 250, 400]), [100, 300, 400]);
  assert.deepEqual(gatesMetAt([100], [1, 2], [50, 150]), [100, undefined]);
});

Deno.test("stepCpuSplit leaves the follows' part out of each step, never below 0", () => {
  assert.deepEqual(
    stepCpuSplit([{ cpuMicros: 30_000, followMs: 12 }, { cpuMicros: 2_000, followMs: 3 }]),
    { totalMs: [30, 2], followMs: [12, 3], ownMs: [18, 0] },
  );
  assert.throws(
    () => stepCpuSplit([{ cpuMicros: -1, followMs: 0 }]),
    /Cannot split a step of -1 µs CPU with 0 ms in follows and 0 µs of ack checks: give what/,
  );
  assert.throws(
    () => stepCpuSplit([{ cpuMicros: 0, followMs: 0, ackCheckMicros: -5 }]),
    RangeError,
  );
});

Deno.test("stepCpuSplit leaves the ack check threads' CPU out of the step", () => {
  assert.deepEqual(
    stepCpuSplit([
      { cpuMicros: 50_000, followMs: 10, ackCheckMicros: 30_000 },
      { cpuMicros: 5_000, followMs: 1, ackCheckMicros: 8_000 }, // read at other moments
    ]),
    { totalMs: [20, 0], followMs: [10, 1], ownMs: [10, 0] },
  );
});
