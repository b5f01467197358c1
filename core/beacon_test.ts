import assert from "node:assert/strict";
import { configsBehind, RegionBeacon } from "./beacon.ts";

const beacon: RegionBeacon = {
  region: "us-east",
  at: "2026-11-28T12:00:00.000Z",
  everySeconds: 10,
  configs: { web: 7, "payments.limits": 3 },
};

Deno.test("a beacon names the managed configs whose newest pointer the agent has not read", () => {
  const seen: Record<string, number> = { web: 6, "payments.limits": 3 };
  assert.deepEqual(configsBehind(beacon, ["web", "payments.limits"], (c) => seen[c] ?? 0), [
    "web",
  ]);
  seen.web = 7;
  assert.deepEqual(configsBehind(beacon, ["web", "payments.limits"], (c) => seen[c] ?? 0), []);
});

Deno.test("a beacon ignores configs the agent does not manage and pointers not stored", () => {
  assert.deepEqual(configsBehind(beacon, ["cache"], () => 0), [], "no pointer of cache yet");
  assert.deepEqual(configsBehind(beacon, [], () => 0), [], "an agent that manages nothing");
  assert.deepEqual(configsBehind(beacon, ["payments.limits"], () => 0), ["payments.limits"]);
});

Deno.test("a malformed beacon is refused by its schema", () => {
  assert.equal(RegionBeacon.safeParse({ ...beacon, everySeconds: 0 }).success, false);
  assert.equal(RegionBeacon.safeParse({ ...beacon, configs: { web: 0 } }).success, false);
  assert.equal(RegionBeacon.safeParse({ ...beacon, configs: { "Bad Name": 1 } }).success, false);
  assert.equal(RegionBeacon.safeParse({ ...beacon, region: "a.b" }).success, false);
  assert.equal(RegionBeacon.safeParse(beacon).success, true);
});
