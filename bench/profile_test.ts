import assert from "node:assert/strict";
import { busyMsByPart, type CpuProfile } from "./profile.ts";

// root → step (agent/applier.ts) → op_node_verify_ed25519; root → (idle); root → the
// profiler's own post (bench/profile.ts) → post; root → step → (other JS leaf).
const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0 });
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 4, 5] },
    { id: 2, callFrame: frame("step", "file:///a/agent/applier.ts"), children: [3, 7] },
    { id: 3, callFrame: frame("op_node_verify_ed25519") },
    { id: 4, callFrame: frame("(idle)") },
    { id: 5, callFrame: frame("#post", "file:///a/bench/profile.ts"), children: [6] },
    { id: 6, callFrame: frame("post", "ext:deno_node/inspector.js") },
    { id: 7, callFrame: frame("parse", "file:///a/node_modules/zod/v4/core.js") },
  ],
  startTime: 0,
  endTime: 100,
  samples: [3, 3, 4, 6, 7, 2],
  timeDeltas: [1000, 2000, 5000, 9000, 4000, 500],
};

Deno.test("busy time goes to the first part whose match takes the stack", () => {
  const { byPart, busyMs } = busyMsByPart(profile, [
    { name: "ed25519", match: (s) => s[0]!.functionName.includes("ed25519") },
    // Also matches the ed25519 samples (their caller is step): the first part wins.
    { name: "applier", match: (s) => s.some((f) => f.url.endsWith("/agent/applier.ts")) },
  ]);
  // Idle and the profiler's own samples are not busy; the zod leaf is under step too.
  assert.equal(busyMs, 7.5);
  assert.deepEqual(byPart, [["ed25519", 3], ["applier", 4.5]]);
});

Deno.test("samples no part takes are other; parts nothing took stay at 0", () => {
  const { byPart } = busyMsByPart(profile, [
    { name: "zod", match: (s) => s[0]!.url.includes("/zod/") },
    { name: "never", match: () => false },
  ]);
  assert.deepEqual(byPart, [["zod", 4], ["never", 0], ["other", 3.5]]);
});
