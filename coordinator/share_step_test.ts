import assert from "node:assert/strict";
import { agentKey, Buckets, RolloutStage, shareCutoff } from "@atlas/core";
import { type AtlasNats, provisionRegion, readPointer } from "@atlas/store";
import { activateVersion, agentRecord, natsTest, storeVersion } from "@atlas/testkit";
import { coordinator, FakeClock, signer, startRollout, stepUntil, V1, V2 } from "./test_helpers.ts";

const REGION = "us-east";

/**
 * The region with v1 of web active and v2 stored; returns what writes a live member's
 * record: one that manages web (v1 applied) or, with `web` false, only another config.
 */
async function webRegion(nats: AtlasNats): Promise<(id: string, web?: boolean) => Promise<void>> {
  await provisionRegion(nats, REGION);
  const v1 = await storeVersion(nats, signer, "web", 1, V1);
  await storeVersion(nats, signer, "web", 2, V2);
  await activateVersion(nats, signer, REGION, v1, { content: V1 });
  const kv = await nats.kv(Buckets.agents);
  return async (id, web = true) => {
    const at = new Date().toISOString();
    const configs = web
      ? { web: { applied: { version: 1, digest: v1.digest, seq: 1, appliedAt: at } } }
      : { api: {} };
    await kv.put(
      agentKey(REGION, id),
      JSON.stringify(agentRecord(id, REGION, configs, { at, heartbeatSeconds: 3600 })),
    );
  };
}

natsTest(
  "a stage's share is found again at each step: members that join widen it",
  async (ctx) => {
    const { nats } = ctx;
    const record = await webRegion(nats);
    const first = ["a0", "a1", "a2", "a3"];
    const five = [...first, "a4"];
    const all = [...five, "a5", "a6", "a7"];
    // A rollout whose half of all eight reaches further than its half of the first five,
    // which reaches further than its half of the first four.
    let id = "";
    for (let i = 0; i < 1000 && !id; i++) {
      const candidate = `r-share-${i}`;
      const [c4, c5, c8] = [first, five, all].map((ids) => shareCutoff(candidate, ids, 50)!);
      if (c8! > c5! && c5! > c4!) id = candidate;
    }
    assert.ok(id, "a rollout id that tells four members from five and eight");
    for (const a of first) await record(a);
    await record("a4", false); // a mixed region: a4 manages another config only
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
    // The members are kept between steps while none comes, goes or changes its configs:
    // a4 taking on web is such a change, though no record came.
    await record("a4");
    await stepUntil(
      "half of five",
      [c],
      async () => (await cutoff()) === shareCutoff(id, five, 50),
    );
    for (const a of all.slice(5)) await record(a);
    await stepUntil(
      "half of eight",
      [c],
      async () => (await cutoff()) === shareCutoff(id, all, 50),
    );
  },
);

natsTest(
  "a large region's share is ranked between steps, then staged in the step it asks for",
  async (ctx) => {
    const { nats } = ctx;
    const record = await webRegion(nats);
    // A mixed region: twelve hosts manage web, five only another config.
    const web = Array.from({ length: 12 }, (_, i) => `w${i}`);
    for (const id of web) await record(id);
    for (let i = 0; i < 5; i++) await record(`o${i}`, false);
    const clock = new FakeClock(); // not moved: every record stays live
    // Five hashes per turn: the twelve web hosts are more than one slice.
    await using c = await coordinator(ctx, REGION, clock, { rankSlice: 5 });
    await stepUntil("leading and following", [c], () => Promise.resolve(c.following));
    const id = "r-between-steps";
    await startRollout(nats, id, [RolloutStage.parse({ regions: [REGION], percent: 25 })]);
    const candidate = async () => (await readPointer(nats, REGION, "web"))?.pointer.candidate;

    await c.step(); // finds the rollout, starts its hashes and leaves the pointer alone
    assert.equal(await candidate(), undefined, "the first step only starts the ranking");
    // The ranking asks for the next step: far sooner than the minute given as the tick.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no step was asked for")), 10_000);
    });
    try {
      await Promise.race([c.untilNextStep(60_000), late]);
    } finally {
      clearTimeout(timer);
    }
    await c.step();
    const staged = await candidate();
    assert.ok(staged, "the step after the ranking stages the candidate");
    // Exactly the share a ranking inside one step gives: a quarter of the web hosts only.
    assert.equal(staged.selector.hashCutoff, shareCutoff(id, web, 25));
    assert.equal(staged.version.version, 2);
  },
);

natsTest("a rank slice that is not a positive whole number is refused", async (ctx) => {
  const clock = new FakeClock();
  for (const rankSlice of [0, -1, 1.5, NaN]) {
    await assert.rejects(
      coordinator(ctx, REGION, clock, { rankSlice }),
      /Cannot rank .* share hashes per turn: give a positive whole number/,
    );
  }
});
