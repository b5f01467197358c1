import assert from "node:assert/strict";
import { JsonDepthError, MAX_JSON_DEPTH, numberIsExact, scanJson } from "./json_scan.ts";

Deno.test("scanJson measures depth outside strings and stops past the limit", () => {
  assert.equal(scanJson('{"a": [1, {"b": "[[[[{{{{"}]}').depth, 3);
  assert.equal(scanJson("[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH)).depth, 64);
  const deep = "[".repeat(9_000) + "]".repeat(9_000);
  assert.throws(() => scanJson(deep), JsonDepthError);
  assert.throws(() => scanJson(deep), /the limit is 64 levels/);
  assert.equal(scanJson('"\\"[[[["').depth, 0, "escaped quotes do not end a string");
});

Deno.test("scanJson finds numbers a JavaScript number cannot hold exactly", () => {
  assert.deepEqual(
    scanJson('{"a": 1e400, "b": 12345678901234567890, "c": 1.50, "d": -0, "e": "1e400"}')
      .inexactNumbers,
    ["1e400", "12345678901234567890"],
  );
  for (const ok of ["0", "1", "-1", "1.5", "1E2", "0.1", "9007199254740991", "1e-7", "-0.0"]) {
    assert.equal(numberIsExact(ok), true, ok);
  }
  for (const bad of ["1e400", "-1e400", "12345678901234567890", "0.1000000000000000000001"]) {
    assert.equal(numberIsExact(bad), false, bad);
  }
});

Deno.test("a YAML scan skips comments but counts flow brackets", () => {
  assert.equal(scanJson("a: [[1]] # [[[[[[", { hashComments: true, numbers: false }).depth, 2);
  assert.throws(
    () => scanJson(`a: ${"[".repeat(100)}`, { hashComments: true, numbers: false }),
    JsonDepthError,
  );
});
