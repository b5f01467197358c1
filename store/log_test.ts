import assert from "node:assert/strict";
import { componentLogger, configureLogging, logInfo } from "./log.ts";

const TEXT_LINE =
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN agent cannot read pointer; will retry /;

Deno.test("a record is one text line: time, level, component, message, then fields", () => {
  const lines: string[] = [];
  configureLogging({ format: "text", output: (l) => lines.push(l) });
  using log = componentLogger("agent", { agent: "web-1", region: "us-east" });
  log.logger.warn("cannot read pointer; will retry", { config: "web", error: "timed out" });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, TEXT_LINE);
  assert.ok(
    lines[0]!.endsWith(' agent=web-1 region=us-east config=web error="timed out"'),
    lines[0],
  );
});

Deno.test("a record is one JSON line with its fields in json format", () => {
  const lines: string[] = [];
  configureLogging({ format: "json", output: (l) => lines.push(l) });
  try {
    using log = componentLogger("coordinator", { region: "us-east", replica: "a" });
    log.logger.info("stage started", { rolloutId: "r1", seq: 4, error: new Error("boom") });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes("\n"));
    const record = JSON.parse(lines[0]!);
    assert.equal(typeof record.time, "string");
    assert.deepEqual({ ...record, time: "" }, {
      time: "",
      level: "info",
      component: "coordinator",
      msg: "stage started",
      region: "us-east",
      replica: "a",
      rolloutId: "r1",
      seq: 4,
      error: "boom",
    });
  } finally {
    configureLogging({ output: () => {} });
  }
});

Deno.test("an instance's sink gets its records; a record below the level is not built", () => {
  const out: string[] = [];
  configureLogging({ level: "warning", output: (l) => out.push(l) });
  try {
    const mine: string[] = [];
    const log = componentLogger("agent", { agent: "web-2" }, { sink: (l) => mine.push(l) });
    let built = 0;
    log.logger.info("applied", () => ({ version: ++built }));
    log.logger.error("apply attempt failed; will retry", { config: "web" });
    assert.equal(built, 0);
    assert.equal(mine.length, 1);
    assert.match(mine[0]!, / ERROR agent apply attempt failed; will retry agent=web-2 config=web$/);
    log[Symbol.dispose]();
    log.logger.error("after close");
    assert.deepEqual([out, mine.length], [[], 1]);
  } finally {
    configureLogging({ output: () => {} });
  }
});

Deno.test("text stays unquoted for plain values and JSON for the rest", () => {
  const lines: string[] = [];
  configureLogging({ output: (l) => lines.push(l) });
  try {
    using log = componentLogger("control");
    log.logger.info("request", { method: "GET", ok: true, at: [1, 2], note: 'a"b' });
    assert.ok(lines[0]!.endsWith(' INFO control request method=GET ok=true at=[1,2] note="a\\"b"'));
  } finally {
    configureLogging({ output: () => {} });
  }
});

Deno.test("a record's field overrides its instance's in place; a closed instance writes bare", () => {
  const lines: string[] = [];
  configureLogging({ output: (l) => lines.push(l) });
  try {
    const log = componentLogger("agent", { agent: "web-1", region: "us-east" });
    log.logger.info("moved", { region: "eu-west", config: "web" });
    assert.ok(lines[0]!.endsWith(" INFO agent moved agent=web-1 region=eu-west config=web"));
    log[Symbol.dispose]();
    log.logger.warn("after close", { config: "web" });
    assert.ok(lines[1]!.endsWith(" WARN agent after close config=web"), lines[1]);
    // Many loggers without fields or sink (one per record in mains) each write as usual.
    for (let i = 0; i < 3; i++) componentLogger("control").logger.warn("malformed", { i });
    assert.deepEqual(lines.slice(2).map((l) => l.slice(25)), [
      "WARN control malformed i=0",
      "WARN control malformed i=1",
      "WARN control malformed i=2",
    ]);
  } finally {
    configureLogging({ output: () => {} });
  }
});

Deno.test("logInfo writes the line logger.info writes, and nothing below the level", () => {
  const lines: string[] = [];
  configureLogging({ output: (l) => lines.push(l) });
  try {
    const mine: string[] = [];
    using log = componentLogger("agent", { agent: "web-1" }, { sink: (l) => mine.push(l) });
    const fields = { config: "web", version: 3, ms: "1.5", note: "a b" };
    log.logger.info("applied", fields);
    logInfo(log.logger, "applied", fields);
    assert.equal(mine.length, 2);
    assert.equal(mine[1]!.slice(24), mine[0]!.slice(24));
    assert.ok(
      mine[1]!.endsWith(' INFO agent applied agent=web-1 config=web version=3 ms=1.5 note="a b"'),
    );
    logInfo(componentLogger("control").logger, "request", { ok: true });
    assert.ok(lines[0]!.endsWith(" INFO control request ok=true"), lines[0]);
    configureLogging({ level: "warning", output: (l) => lines.push(l) });
    logInfo(log.logger, "applied", fields);
    logInfo(componentLogger("control").logger, "request", { ok: true });
    assert.deepEqual([mine.length, lines.length], [2, 1]);
  } finally {
    configureLogging({ output: () => {} });
  }
});
