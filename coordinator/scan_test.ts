import assert from "node:assert/strict";
import { agentKey, Buckets } from "@atlas/core";
import { provisionRegion } from "@atlas/store";
import { agentRecord, natsTest } from "@atlas/testkit";
import { coordinator, FakeClock } from "./test_helpers.ts";

const REGION = "us-east";
const D1 = "1".repeat(64);
const D2 = "2".repeat(64);

/** `n` records on web v1, the `drifted` ones with another file on disk than they applied. */
async function records(
  nats: Parameters<typeof provisionRegion>[0],
  n: number,
  drifted: number[],
): Promise<string[]> {
  await provisionRegion(nats, REGION);
  const kv = await nats.kv(Buckets.agents);
  const at = new Date().toISOString();
  const ids = Array.from({ length: n }, (_, i) => `s${i}`);
  for (const [i, id] of ids.entries()) {
    await kv.put(
      agentKey(REGION, id),
      JSON.stringify(agentRecord(id, REGION, {
        web: {
          applied: { version: 1, digest: D1, seq: 1, appliedAt: at },
          diskDigest: drifted.includes(i) ? D2 : D1,
        },
      }, { at, heartbeatSeconds: 3600 })),
    );
  }
  return ids;
}

natsTest(
  "a fleet scan larger than a slice spans steps and raises its alerts at the last",
  async (ctx) => {
    // Five members, two per step: the scan looks at s0-s1, s2-s3, then s4 and writes.
    const ids = await records(ctx.nats, 5, [0, 2, 4]);
    const clock = new FakeClock(); // not moved: one scan, begun by the first step
    await using c = await coordinator(ctx, REGION, clock, { scanSlice: 2 });
    const alerts = await ctx.nats.kv(Buckets.alerts);
    const open = async () =>
      (await Promise.all(ids.map((id) => alerts.get(`drift-${REGION}-${id}-web`))))
        .filter((e) => e?.operation === "PUT").map((e) => e!.key);
    await c.step(); // s0, s1
    assert.ok(c.lease.isLeader);
    assert.deepEqual(await open(), [], "no alert before the scan's last slice");
    await c.step(); // s2, s3
    assert.deepEqual(await open(), [], "no alert before the scan's last slice");
    await c.step(); // s4: the region's alerts written
    assert.deepEqual(
      await open(),
      ["drift-us-east-s0-web", "drift-us-east-s2-web", "drift-us-east-s4-web"],
      "the drift of every slice is raised",
    );
    await c.step(); // the scan's window has not passed: no new scan, nothing resolved
    assert.equal((await open()).length, 3);
  },
);

natsTest("a scan slice that is not a positive whole number is refused", async (ctx) => {
  const clock = new FakeClock();
  for (const scanSlice of [0, -1, 1.5, NaN]) {
    await assert.rejects(
      coordinator(ctx, REGION, clock, { scanSlice }),
      /Cannot scan .* members per step: give a positive whole number/,
    );
  }
});
