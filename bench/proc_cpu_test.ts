import assert from "node:assert/strict";
import { processCpuMicros, threadCpuByKind, threadCpuSince } from "./proc_cpu.ts";

Deno.test("a process's CPU grows with its work; a gone process reads 0", async () => {
  const before = await processCpuMicros(Deno.pid);
  const until = performance.now() + 60;
  while (performance.now() < until) Math.sqrt(Math.random()); // ~60 ms of CPU: 6 ticks
  const after = await processCpuMicros(Deno.pid);
  assert.ok(after - before >= 20_000, `${after - before} µs for ~60 ms of work`);
  assert.equal(await processCpuMicros(2 ** 22 + 1), 0); // above Linux's pid_max
  assert.equal(await processCpuMicros(undefined), 0);
});

Deno.test("a worker's CPU is counted under its own kind, apart from the JS thread", async () => {
  const before = threadCpuByKind();
  if (Object.keys(before).length === 0) return; // no /proc: nothing to tell apart
  // 60 ms of CPU on the worker's own thread (by its CPU clock, not wall time: on a busy
  // machine 60 ms of wall time can be half that on a core); it then stays alive to be read.
  const code = "const cpu = () => Number(Deno.readTextFileSync('/proc/thread-self/schedstat')" +
    ".split(' ')[0]) / 1e6;" +
    "const from = cpu(), until = performance.now() + 10000;" +
    "while (cpu() - from < 60 && performance.now() < until) Math.sqrt(Math.random());" +
    "postMessage(0); setInterval(() => {}, 1000);";
  const worker = new Worker(`data:text/javascript,${encodeURIComponent(code)}`, {
    type: "module",
  });
  try {
    await new Promise((resolve) => worker.onmessage = resolve);
    const spent = threadCpuSince(before, threadCpuByKind());
    assert.ok((spent["worker"] ?? 0) >= 55_000, `worker ${spent["worker"]} µs`);
    assert.ok((spent["deno"] ?? 0) < spent["worker"]!, `JS thread ${spent["deno"]} µs`);
  } finally {
    worker.terminate();
  }
});
