/**
 * Staged rollouts end to end: started over the HTTP API, driven by real coordinator loops
 * (real clock, short bakes), applied by real agents.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import { loadSigner, readPointer } from "@atlas/store";
import type { RolloutRecord } from "@atlas/core";
import { RegionCoordinator } from "@atlas/coordinator";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

natsTest("a canary started over HTTP is driven by the coordinators to every agent", async (ctx) => {
  const regions = ["us-east", "eu-west"];
  await using t = await startTestControl(ctx.urls, { regions });
  const agents = await startTestAgents(
    t,
    regions.flatMap((region) =>
      [1, 2, 3].map((i) => ({ id: `${region}-${i}`, region, nats: ctx.urls, heartbeatSeconds: 1 }))
    ),
    ctx.addLog,
  );
  const stop = await runCoordinators(ctx.urls, t, regions);
  try {
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
    await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
    for (const a of agents) {
      await waitFor(
        "v1 everywhere",
        async () => (await Deno.readTextFile(a.file).catch(() => "")) === '{"v":1}',
      );
    }
    const started = await t.expect<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
      version: 2,
      strategy: { name: "canary", canaryPercent: 50, bakeSeconds: 1 },
      regions,
    }, 201);
    await t.expect("POST", "/v1/configs/web/rollouts", { version: 2, strategy: "immediate" }, 409);
    const done = await waitFor("rollout ends", async () => {
      const r = await t.expect<RolloutRecord>("GET", `/v1/rollouts/${started.id}`);
      return r.state !== "running" && r;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    assert.equal(done.state, "succeeded", JSON.stringify(done.transitions));
    for (const a of agents) {
      await waitFor("v2 everywhere", async () => (await Deno.readTextFile(a.file)) === '{"v":2}');
    }
  } finally {
    await stop();
    await Promise.all(agents.map((a) => a.agent.close()));
  }
});

natsTest(
  "an immediate rollback during a rollout aborts it, and the coordinator does not undo it",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
    const coordinator = await RegionCoordinator.create(
      ctx.nats,
      await loadSigner(t.signingKeyFile),
      {
        region: "us-east",
        log: () => {},
      },
    );
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
    await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
    await t.expect("POST", "/v1/configs/web/activate", { version: 2 }); // history: [1]
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":3}' }, 201);
    await coordinator.step(); // takes the lease: a rollout needs a live coordinator
    const started = await t.expect<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
      version: 3,
      strategy: { name: "linear", steps: 2, bakeSeconds: 600 },
      regions: ["us-east"], // the region with a coordinator
    }, 201);
    await coordinator.step(); // the candidate is on the pointer now
    assert.equal(
      (await readPointer(ctx.nats, "us-east", "web"))?.pointer.candidate?.version.version,
      3,
    );
    await t.expect("POST", "/v1/configs/web/rollback", {});
    const r = await t.expect<RolloutRecord>("GET", `/v1/rollouts/${started.id}`);
    assert.equal(r.state, "aborted");
    assert.match(r.transitions.at(-1)!.reason, /superseded by an immediate rollback/);
    await coordinator.step();
    await coordinator.step();
    const p = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
    assert.equal(p.active.version, 1);
    assert.equal(p.candidate, undefined, "the coordinator did not put the candidate back");
  },
);
