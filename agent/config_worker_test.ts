import assert from "node:assert/strict";
import type { PointerRecord } from "@atlas/core";
import { ConfigWorkers, type Pending } from "./config_worker.ts";

/** Only the fields the queue reads: the config and the seq. */
function pointer(config: string, seq: number): PointerRecord {
  return { config, seq } as unknown as PointerRecord;
}

/** A process function that holds each call until released. */
function gated() {
  const calls: Pending[] = [];
  const gates: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const process = (p: Pending): Promise<void> => {
    calls.push(p);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    return new Promise<void>((resolve) => gates.push(resolve)).finally(() => inFlight--);
  };
  const releaseAll = async (): Promise<void> => {
    while (gates.length) {
      gates.shift()!();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { calls, process, releaseAll, maxInFlight: () => maxInFlight };
}

Deno.test("the config worker processes one pointer at a time and the latest one wins", async () => {
  const g = gated();
  const workers = new ConfigWorkers({
    process: g.process,
    superseded: () => false,
    maxRetryMs: 1_000,
  });
  workers.push(pointer("web", 1), {});
  workers.push(pointer("web", 2), {}); // waits behind 1
  workers.push(pointer("web", 4), {}); // replaces 2
  workers.push(pointer("web", 3), {}); // older than the waiting 4: dropped
  assert.equal(workers.busy("web"), true);
  await g.releaseAll();
  await workers.idle();
  assert.deepEqual(g.calls.map((c) => c.pointer.seq), [1, 4]);
  assert.equal(g.maxInFlight(), 1);
  assert.equal(workers.busy("web"), false);
  workers.close();
});

Deno.test("the config worker merges the inline blobs of a repeated pointer", async () => {
  const g = gated();
  const workers = new ConfigWorkers({ process: g.process, superseded: () => false, maxRetryMs: 1 });
  workers.push(pointer("web", 1), {});
  workers.push(pointer("web", 2), { a: "1" });
  workers.push(pointer("web", 2), { b: "2" });
  await g.releaseAll();
  await workers.idle();
  assert.deepEqual(g.calls[1]!.blobs, { a: "1", b: "2" });
  workers.close();
});

Deno.test("the config worker runs configs side by side", async () => {
  const g = gated();
  const workers = new ConfigWorkers({ process: g.process, superseded: () => false, maxRetryMs: 1 });
  workers.push(pointer("web", 1), {});
  workers.push(pointer("db", 1), {});
  assert.equal(g.maxInFlight(), 2);
  await g.releaseAll();
  await workers.idle();
  workers.close();
});

Deno.test("the config worker retries a failed pointer unless it was superseded", async () => {
  const seen: number[] = [];
  const failures: number[] = [];
  let done = false;
  const workers = new ConfigWorkers({
    process: ({ pointer }) => {
      seen.push(pointer.seq);
      return seen.length === 1 ? Promise.reject(new Error("not yet")) : Promise.resolve();
    },
    superseded: () => done,
    maxRetryMs: 5,
    onFailure: (_p, _e, inMs) => failures.push(inMs),
  });
  workers.push(pointer("web", 7), {});
  const deadline = Date.now() + 2_000;
  while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await workers.idle();
  assert.deepEqual(seen, [7, 7]);
  assert.deepEqual(failures, [5]); // 1 s, capped at maxRetryMs
  done = true;
  workers.close();
});

Deno.test("the config worker schedules no retry once closed", async () => {
  let calls = 0;
  const workers = new ConfigWorkers({
    process: () => (calls++, Promise.reject(new Error("down"))),
    superseded: () => false,
    maxRetryMs: 1,
  });
  workers.push(pointer("web", 1), {});
  workers.close();
  await workers.idle();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls, 1); // the sanitizers also see no timer left behind
});

Deno.test("the config worker keeps the trace context of the notice that brought a pointer", async () => {
  const g = gated();
  const workers = new ConfigWorkers({
    process: g.process,
    superseded: () => false,
    maxRetryMs: 1_000,
  });
  workers.push(pointer("web", 1), {}, "tp-1");
  workers.push(pointer("web", 2), {}, "tp-2"); // waits behind 1
  workers.push(pointer("web", 2), {}); // the same seq again (a reconcile): keeps tp-2
  workers.push(pointer("api", 5), {}); // no context: none invented
  await g.releaseAll();
  await workers.idle();
  assert.deepEqual(g.calls.map((c) => [c.pointer.config, c.pointer.seq, c.trace]), [
    ["web", 1, "tp-1"],
    ["api", 5, undefined],
    ["web", 2, "tp-2"],
  ]);
  workers.close();
});
