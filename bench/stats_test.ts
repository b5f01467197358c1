import assert from "node:assert/strict";
import { summarize, table } from "./stats.ts";

Deno.test("percentiles are nearest-rank over the sorted sample", () => {
  const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i));
  assert.deepEqual(s, { n: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  assert.deepEqual(summarize([7]), { n: 1, p50: 7, p95: 7, p99: 7, max: 7 });
  assert.throws(() => summarize([]), RangeError);
});

Deno.test("tables align the first column left and the rest right", () => {
  assert.equal(table(["row", "ms"], [["a", 1], ["bbb", 10]]), "row  ms\n---  --\na     1\nbbb  10");
});
