import assert from "node:assert/strict";
import { stopWithin } from "./process.ts";

Deno.test("stopWithin says a stop finished when it did", async () => {
  let closed = false;
  assert.equal(
    await stopWithin(60_000, async () => {
      await Promise.resolve();
      closed = true;
    }),
    true,
  );
  assert.ok(closed);
});

Deno.test("stopWithin gives up on a stop that never finishes", async () => {
  // a close waiting on a NATS that is gone: it never settles
  assert.equal(await stopWithin(20, () => new Promise<void>(() => {})), false);
});

Deno.test("stopWithin passes a failed stop on", async () => {
  await assert.rejects(stopWithin(60_000, () => Promise.reject(new Error("boom"))), /boom/);
});
