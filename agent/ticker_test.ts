import assert from "node:assert/strict";
import { onTick, runningTimers } from "./ticker.ts";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("tasks of one period share a timer, a throw stops no other, the last stop clears it", async () => {
  const runs = { a: 0, b: 0 };
  const errors: unknown[] = [];
  const stopA = onTick(20, () => {
    runs.a++;
    throw new Error("a fails");
  }, (e) => errors.push(e));
  const stopB = onTick(20, () => runs.b++);
  assert.equal(runningTimers(), 1, "one timer for the period");
  await pause(110);
  assert.ok(runs.a >= 3 && runs.b >= 3, `both ran: ${JSON.stringify(runs)}`);
  assert.equal(Math.abs(runs.a - runs.b) <= 1, true, "on the same firings");
  assert.equal(errors.length, runs.a, "every throw reported");
  stopA();
  stopA(); // a second stop is no error and stops nothing else
  const b = runs.b;
  await pause(70);
  assert.ok(runs.b > b, "b still runs after a stopped");
  const a = runs.a;
  stopB();
  await pause(70);
  assert.equal(runs.a, a, "a stopped");
  assert.equal(runningTimers(), 0, "the last stop cleared the timer");
});

Deno.test("a process whose tasks all stopped exits: no timer is left", async () => {
  const ticker = new URL("./ticker.ts", import.meta.url).href;
  const script = `import { onTick } from "${ticker}";
    const stops = [onTick(50, () => {}), onTick(50, () => {}), onTick(70, () => {})];
    setTimeout(() => stops.forEach((stop) => stop()), 120);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill(), 10_000);
  const { code, signal, stderr } = await child.output();
  clearTimeout(timer);
  assert.equal(signal, null, "killed after 10 s: a timer kept the process alive");
  assert.equal(code, 0, new TextDecoder().decode(stderr));
});
