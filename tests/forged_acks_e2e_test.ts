/**
 * The attack of issue 13, end to end: while a good canary rollout runs (HTTP API, real
 * coordinator loops, real agents), 100 forged `failed` acks are published in the names of
 * us-east's agents. None counts: the rollout succeeds, status reports no failure, and the
 * evidence names exactly the agents that applied the version.
 */
import assert from "node:assert/strict";
import { makeCredentials, natsTest, waitFor } from "@atlas/testkit";
import { type AckRecord, type RolloutRecord, Subjects } from "@atlas/core";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

natsTest("100 forged failed acks during a good canary change nothing", async (ctx) => {
  await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
  const ids = ["us-east-1", "us-east-2", "us-east-3", "us-east-4"];
  const agents = await startTestAgents(
    t,
    ids.map((id) => ({ id, region: "us-east", nats: ctx.urls, heartbeatSeconds: 1 })),
    ctx.addLog,
  );
  const stop = await runCoordinators(ctx.urls, t, ["us-east"]);
  try {
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
    const v2 = await t.expect<{ digest: string }>(
      "POST",
      "/v1/configs/web/versions",
      { content: '{"v":2}' },
      201,
    );
    await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
    for (const a of agents) {
      await waitFor(
        "v1",
        async () => (await Deno.readTextFile(a.file).catch(() => "")) === '{"v":1}',
      );
    }
    const started = await t.expect<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
      version: 2,
      strategy: { name: "canary", canaryPercent: 50, bakeSeconds: 1 },
      regions: ["us-east"],
    }, 201);
    const forger = (await makeCredentials("forger")).identity;
    for (let i = 0; i < 100; i++) {
      const agent = ids[i % ids.length]!;
      const forged: AckRecord = {
        agent,
        region: "us-east",
        config: "web",
        version: 2,
        digest: v2.digest,
        seq: 1_000 + i,
        status: "failed",
        reason: "forged",
        rolloutId: started.id,
        latencyMs: 1,
        at: new Date().toISOString(),
      };
      const body = i % 2 ? forger.sign(forged) : { ...forged, signature: "AAAA" };
      await ctx.nats.js.publish(Subjects.ack("us-east", "web", agent), JSON.stringify(body));
    }
    const done = await waitFor("the rollout ends", async () => {
      const r = await t.expect<RolloutRecord>("GET", `/v1/rollouts/${started.id}`);
      return r.state !== "running" && r;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    assert.equal(done.state, "succeeded", JSON.stringify(done.transitions));
    for (const a of agents) {
      await waitFor("v2 everywhere", async () => (await Deno.readTextFile(a.file)) === '{"v":2}');
    }
    const status = await t.expect<{
      regions: {
        region: string;
        agents: { total: number; onActive: string[]; rejects: unknown[]; unverified: unknown[] };
      }[];
    }>("GET", "/v1/configs/web/status");
    const us = status.regions.find((r) => r.region === "us-east")?.agents;
    assert.deepEqual(us?.rejects, [], "no forged failure in status");
    assert.deepEqual(us?.unverified, []);
    // A rollout reads succeeded only once its pointer names v2 (coordinator/stages.ts): a
    // status read right after it sees every agent on the active version.
    assert.deepEqual(us?.onActive, ids, JSON.stringify(status));
    const evidence = await t.expect<{ hosts: { agent: string }[]; unverified: number }>(
      "GET",
      "/v1/configs/web/versions/2/evidence",
    );
    assert.deepEqual(evidence.hosts.map((h) => h.agent), ids);
    assert.equal(evidence.unverified, 100);
  } finally {
    await stop();
    await Promise.all(agents.map((a) => a.agent.close()));
  }
});
