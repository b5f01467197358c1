import assert from "node:assert/strict";
import { agentKey, Buckets, RolloutStage, shareCutoff } from "@atlas/core";
import { provisionRegion, readPointer } from "@atlas/store";
import { activateVersion, agentRecord, natsTest, storeVersion } from "@atlas/testkit";
import { coordinator, FakeClock, signer, startRollout, stepUntil, V1, V2 } from "./test_helpers.ts";

const REGION = "us-east";

natsTest(
  "a stage's share is found again at each step: members that join widen it",
  async (ctx) => {
    const { nats } = ctx;
    await provisionRegion(nats, REGION);
    const v1 = await storeVersion(nats, signer, "web", 1, V1);
    await storeVersion(nats, signer, "web", 2, V2);
    await activateVersion(nats, signer, REGION, v1, { content: V1 });
    const kv = await nats.kv(Buckets.agents);
    const record = async (id: string) => {
      const at = new Date().toISOString();
      await kv.put(
        agentKey(REGION, id),
        JSON.stringify(agentRecord(id, REGION, {
          web: { applied: { version: 1, digest: v1.digest, seq: 1, appliedAt: at } },
        }, { at, heartbeatSeconds: 3600 })),
      );
    };
    const first = ["a0", "a1", "a2", "a3"];
    const all = [...first, "a4", "a5", "a6", "a7"];
    // A rollout whose half of all eight reaches further than its half of the first four.
    let id = "";
    for (let i = 0; i < 100 && !id; i++) {
      const candidate = `r-share-${i}`;
      if (shareCutoff(candidate, all, 50)! > shareCutoff(candidate, first, 50)!) id = candidate;
    }
    assert.ok(id, "a rollout id that tells four members from eight");
    for (const a of first) await record(a);
    const clock = new FakeClock(); // not moved: every record stays live
    await using c = await coordinator(ctx, REGION, clock);
    await startRollout(nats, id, [RolloutStage.parse({ regions: [REGION], percent: 50 })]);
    const cutoff = async () =>
      (await readPointer(nats, REGION, "web"))?.pointer.candidate?.selector.hashCutoff;
    await stepUntil(
      "half of four",
      [c],
      async () => (await cutoff()) === shareCutoff(id, first, 50),
    );
    for (const a of all.slice(4)) await record(a);
    // Each step looks at the members again: once the follow has the new ones, the share
    // widens (a step's own list of eligible members is not kept into the next).
    await stepUntil(
      "half of eight",
      [c],
      async () => (await cutoff()) === shareCutoff(id, all, 50),
    );
  },
);
