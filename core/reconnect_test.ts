import assert from "node:assert/strict";
import {
  MAX_RECONNECT_SPREAD_MS,
  reconcileSplayAfterReconnectMs,
  reconnectDelayMs,
  reconnectSpreadMs,
} from "./reconnect.ts";

Deno.test("a region's reconnect window grows with its agents, up to the cap", () => {
  assert.equal(reconnectSpreadMs(0), 0);
  assert.equal(reconnectSpreadMs(1), 2);
  assert.equal(reconnectSpreadMs(10_000), 20_000);
  assert.equal(reconnectSpreadMs(10_000, 1_000), 10_000);
  assert.equal(reconnectSpreadMs(1_000_000), MAX_RECONNECT_SPREAD_MS);
  assert.equal(reconnectSpreadMs(-5), 0);
  for (const rate of [0, -1, Number.NaN]) {
    assert.throws(() => reconnectSpreadMs(10, rate), /positive number/);
  }
});

Deno.test("an agent waits 1 s plus a share of the wider window, clamped", () => {
  const at = (beaconSpreadMs: number | undefined, random: number, jitterMs = 2_000) =>
    reconnectDelayMs({ jitterMs, beaconSpreadMs, random });
  assert.equal(at(undefined, 0), 1_000, "no beacon: the agent's own jitter");
  assert.equal(at(undefined, 0.5), 2_000);
  assert.equal(at(500, 0.5), 2_000, "a narrower window never shrinks the agent's jitter");
  assert.equal(at(20_000, 0.5), 11_000);
  // A forged or absurd window is clamped, never obeyed.
  assert.equal(at(1e12, 0.5), 1_000 + MAX_RECONNECT_SPREAD_MS / 2);
  assert.equal(at(Number.POSITIVE_INFINITY, 0.5), 1_000 + MAX_RECONNECT_SPREAD_MS / 2);
  assert.equal(at(Number.NaN, 0.5), 2_000);
  assert.equal(at(-10_000, 0.5), 2_000);
});

Deno.test("the reconcile after a reconnect splays only beyond the reconnect window", () => {
  assert.equal(reconcileSplayAfterReconnectMs(10_000, 0), 10_000);
  assert.equal(reconcileSplayAfterReconnectMs(10_000, 2_000), 8_000);
  assert.equal(reconcileSplayAfterReconnectMs(10_000, 20_000), 0);
  assert.equal(reconcileSplayAfterReconnectMs(0, 20_000), 0);
});
