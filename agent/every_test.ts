import assert from "node:assert/strict";
import { waitFor } from "@atlas/testkit";
import { every } from "./every.ts";

Deno.test("every runs its task again after each run ends, never two at once", async () => {
  let runs = 0;
  let running = 0;
  let overlapped = false;
  const timer = every(5, async () => {
    overlapped ||= running > 0;
    running++;
    runs++;
    await new Promise((r) => setTimeout(r, 10));
    running--;
    if (runs === 2) throw new Error("a failed run does not stop the next");
  });
  try {
    await waitFor("three runs", () => runs >= 3, { timeoutMs: 2_000 });
  } finally {
    timer.close();
  }
  assert.equal(overlapped, false);
  await waitFor("the last run to end", () => running === 0, { timeoutMs: 2_000 });
});

Deno.test("every starts no run once closed", async () => {
  let runs = 0;
  const timer = every(1, () => (runs++, Promise.resolve()));
  timer.close();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(runs, 0);
});
