/**
 * The agent side of a reconnect storm: after its NATS node restarts, every agent
 * reconnects (jittered) and reconciles once after its splay, catching up on what moved
 * meanwhile, and applies nothing twice.
 */
import assert from "node:assert/strict";
import { activateVersion, natsTest, storeVersion, waitFor } from "@atlas/testkit";
import { retryTransient } from "@atlas/store";
import type { Agent } from "./agent.ts";
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
