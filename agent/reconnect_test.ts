/**
 * The agent side of a reconnect storm: after its NATS node restarts, every agent
 * reconnects (jittered) and reconciles once after its splay, catching up on what moved
 * meanwhile, and applies nothing twice; an agent spreads its reconnect over the window its
 * region's beacon states (core/reconnect.ts).
 */
import assert from "node:assert/strict";
import { type RegionBeacon, Subjects, Verifier } from "@atlas/core";
import { activateVersion, natsTest, storeVersion, waitFor } from "@atlas/testkit";
import { retryTransient } from "@atlas/store";
import { Agent } from "./agent.ts";
import { makeAgentConfig, signer, startTestAgent } from "./test_helpers.ts";

natsTest(
  "agents reconnect after a restart, reconcile after their splay and apply nothing twice",
  async (ctx) => {
    const agents: Agent[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const cfg = await makeAgentConfig(ctx.urls, { id: `a${i}` });
        agents.push(
          await startTestAgent(ctx, { ...cfg, reconcileSplaySeconds: 2, reconnectJitterMs: 500 }),
        );
      }
      const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
      await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
      await waitFor("v1 everywhere", () => agents.every((a) => a.stats.applies === 1));
      const reconciles = agents.map((a) => a.stats.reconciles);

      const server = ctx.servers[0]!;
      await server.stop();
      await waitFor("every agent saw the cut", () => agents.every((a) => !a.connected));
      await server.restart();
      await waitFor("every agent reconnected", () => agents.every((a) => a.connected), {
        timeoutMs: 20_000,
      });
      await waitFor(
        "every agent reconciled after its splay",
        () => agents.every((a, i) => a.stats.reconciles > reconciles[i]!),
        { timeoutMs: 20_000 },
      );
      for (const a of agents) {
        await a.idle();
        assert.equal(a.stats.applies, 1, `${a.config.id} applied v1 once`);
      }

      // A version activated after the storm reaches everyone, once.
      const v2 = await retryTransient(() => storeVersion(ctx.nats, signer, "web", 2, '{"v":2}'));
      await retryTransient(() =>
        activateVersion(ctx.nats, signer, "us-east", v2, { content: '{"v":2}' })
      );
      await waitFor("v2 everywhere", () => agents.every((a) => a.stats.applies === 2), {
        timeoutMs: 20_000,
      });
    } finally {
      await Promise.all(agents.map((a) => a.close()));
    }
  },
);

natsTest("an agent waits out the reconnect window its region's beacon states", async (ctx) => {
  // Both draw 0.5: "told" waits 1 s + 0.5 × 60 s once the beacon said 60 s; "late", which
  // joined after the beacon, 1 s + 0.5 × its own 0.5 s jitter.
  const start = async (id: string) => {
    const cfg = { ...(await makeAgentConfig(ctx.urls, { id })), reconnectJitterMs: 500 };
    const agent = await Agent.start(cfg, {
      verifier: new Verifier([signer.trustedKey]),
      log: () => {},
      random: () => 0.5,
    });
    await agent.whenConnected();
    return agent;
  };
  const told = await start("told");
  let late: Agent | undefined;
  try {
    const coordinator = await ctx.connect({ kind: "coordinator", region: "us-east" });
    const beacon: RegionBeacon = {
      region: "us-east",
      at: new Date().toISOString(),
      everySeconds: 30,
      configs: {},
      reconnectSpreadMs: 60_000,
    };
    coordinator.nc.publish(Subjects.beacon("us-east"), JSON.stringify(beacon));
    await coordinator.nc.flush();
    await waitFor("the beacon reached the agent", () => told.stats.notices === 1);
    late = await start("late");

    const server = ctx.servers[0]!;
    await server.stop();
    await waitFor("both saw the cut", () => !told.connected && !late!.connected);
    await server.restart();
    await waitFor("the agent with no window reconnected", () => late!.connected, {
      timeoutMs: 20_000,
    });
    assert.equal(told.connected, false, "the told agent still waits out its 31 s");
  } finally {
    await late?.close();
    await told.close();
  }
});
