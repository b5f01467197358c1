import assert from "node:assert/strict";
import { processCpuMicros } from "./proc_cpu.ts";

Deno.test("a process's CPU grows with its work; a gone process reads 0", async () => {
  const before = await processCpuMicros(Deno.pid);
  const until = performance.now() + 60;
  while (performance.now() < until) Math.sqrt(Math.random()); // ~60 ms of CPU: 6 ticks
  const after = await processCpuMicros(Deno.pid);
  assert.ok(after - before >= 20_000, `${after - before} µs for ~60 ms of work`);
  assert.equal(await processCpuMicros(2 ** 22 + 1), 0); // above Linux's pid_max
  assert.equal(await processCpuMicros(undefined), 0);
});
