/**
 * The region beacon at the agent (core/beacon.ts, coordinator/beacon.ts): an agent that
 * missed a notice catches up on the next beacon; one in step does nothing; only the
 * region's coordinator may publish a beacon, and even a forged one can only cause a read.
 */
import assert from "node:assert/strict";
import { type RegionBeacon, Subjects } from "@atlas/core";
import { readPointer } from "@atlas/store";
import {
  activateVersion,
  moveWithoutNotice,
  natsTest,
  storeVersion,
  waitFor,
} from "@atlas/testkit";
import { makeAgentConfig, signer, startTestAgent } from "./test_helpers.ts";

const REGION = "us-east";

/** An agent on v1 of `web` that reconciles at once when asked (no splay). */
async function agentOnV1(ctx: Parameters<Parameters<typeof natsTest>[1]>[0]) {
  const cfg = { ...(await makeAgentConfig(ctx.urls)), reconcileSplaySeconds: 0 };
  const agent = await startTestAgent(ctx, cfg);
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  await activateVersion(ctx.nats, signer, REGION, v1, { content: '{"v":1}' });
  await waitFor("v1 applied", () => agent.stats.applies === 1);
  return { cfg, agent, v1 };
}

natsTest("an agent that missed a notice catches up on the coordinator's beacon", async (ctx) => {
  const { agent } = await agentOnV1(ctx);
  try {
    // What the region's coordinator publishes (coordinator/beacon.ts builds it from the store).
    const coordinator = await ctx.connect({ kind: "coordinator", region: REGION });
    const beacon = {
      send: async () => {
        const stored = await readPointer(coordinator, REGION, "web");
        const message: RegionBeacon = {
          region: REGION,
          at: new Date().toISOString(),
          everySeconds: 10,
          configs: { web: stored!.pointer.seq },
        };
        coordinator.nc.publish(Subjects.beacon(REGION), JSON.stringify(message));
        await coordinator.nc.flush();
      },
    };
    const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
    const moved = await moveWithoutNotice(ctx.nats, signer, "us-east", v2);
    assert.equal(agent.stateOf("web").applied?.version, 1, "no notice: still on v1");

    await beacon.send();
    await waitFor("v2 applied after the beacon", () => agent.stateOf("web").applied?.version === 2);
    assert.equal(agent.stats.beaconsBehind, 1);
    assert.equal(agent.stateOf("web").maxSeq, moved.seq);

    // In step now: the next beacon is received (counted as a notice) and changes nothing.
    const notices = agent.stats.notices;
    await beacon.send();
    await waitFor("the second beacon received", () => agent.stats.notices === notices + 1);
    assert.equal(agent.stats.beaconsBehind, 1, "an agent in step does not reconcile");
  } finally {
    await agent.close();
  }
});

natsTest("an agent may not publish a region beacon; its coordinator may", async (ctx) => {
  const forger = await ctx.connect({ kind: "agent", region: REGION, agent: "a9" });
  const coordinator = await ctx.connect({ kind: "coordinator", region: REGION });
  const reader = await ctx.connect("reader");
  const violations: string[] = [];
  const watch = (async () => {
    for await (const s of forger.nc.status()) {
      const text = `${s.type} ${String((s as { error?: unknown }).error ?? "")}`;
      if (/permission/i.test(text)) violations.push(text);
    }
  })();
  const sub = reader.nc.subscribe(Subjects.beacon(REGION), { max: 1 });
  await reader.nc.flush();
  const forged: RegionBeacon = {
    region: REGION,
    at: new Date().toISOString(),
    everySeconds: 10,
    configs: { web: 999 },
  };
  forger.nc.publish(Subjects.beacon(REGION), JSON.stringify(forged));
  // The server has handled the forged publish before the flush returns: had it been
  // allowed, it would reach the reader before the coordinator's.
  await forger.nc.flush();
  coordinator.nc.publish(Subjects.beacon(REGION), JSON.stringify({ ...forged, configs: {} }));
  let first: RegionBeacon | undefined;
  for await (const m of sub) first = m.json<RegionBeacon>();
  assert.deepEqual(first?.configs, {}, "the first beacon the reader got is the coordinator's");
  await waitFor("the server refused the agent's publish", () => violations.length > 0);
  void watch;
});

natsTest("a forged beacon can only make an agent read its pointers", async (ctx) => {
  const { agent } = await agentOnV1(ctx);
  try {
    // The control plane may publish anything under atlas.>: the worst a beacon can claim.
    const reconciles = agent.stats.reconciles;
    const forged: RegionBeacon = {
      region: REGION,
      at: new Date().toISOString(),
      everySeconds: 10,
      configs: { web: 999 },
    };
    ctx.nats.nc.publish(Subjects.beacon(REGION), JSON.stringify(forged));
    await waitFor(
      "the forged beacon made it reconcile",
      () => agent.stats.reconciles > reconciles && agent.stats.beaconsBehind === 1,
    );
    await agent.idle();
    assert.equal(agent.stateOf("web").applied?.version, 1, "nothing applied");
    assert.equal(agent.stateOf("web").maxSeq, 1, "the claimed seq is not taken");
    assert.equal(agent.stats.applies, 1);

    // A beacon of another region, or malformed, is ignored.
    const notices = agent.stats.notices;
    ctx.nats.nc.publish(Subjects.beacon(REGION), JSON.stringify({ ...forged, region: "eu-west" }));
    ctx.nats.nc.publish(Subjects.beacon(REGION), '{"configs":"nope"}');
    await waitFor("both received", () => agent.stats.notices === notices + 2);
    assert.equal(agent.stats.beaconsBehind, 1);
  } finally {
    await agent.close();
  }
});

natsTest("with the file watcher off, the local drift check heals a hand edit", async (ctx) => {
  // No file events and a reconcile timer of an hour: only the drift check can find it.
  const cfg = {
    ...(await makeAgentConfig(ctx.urls)),
    watchFiles: false,
    driftCheckSeconds: 0.2,
  };
  const agent = await startTestAgent(ctx, cfg);
  try {
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
    await activateVersion(ctx.nats, signer, REGION, v1, { content: '{"v":1}' });
    await waitFor("v1 applied", () => agent.stats.applies === 1);
    await Deno.writeTextFile(cfg.configs.web!.path, '{"v":"edited by hand"}');
    await waitFor(
      "the hand edit healed",
      async () => (await Deno.readTextFile(cfg.configs.web!.path)) === '{"v":1}',
    );
    await waitFor("the heal counted", () => agent.stats.driftHealed === 1);
  } finally {
    await agent.close();
  }
});
