/**
 * Fault test: SIGKILL the stream leader of a 3-node JetStream cluster (R3) in the middle of
 * a stream of publishes and a rollout. Every accepted publish must be readable afterwards,
 * version numbers gapless and unique, and the rollout must complete.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import type { RolloutRecord } from "@atlas/core";
import { runCoordinators, startTestAgents, startTestControl, TOKEN } from "./harness.ts";

natsTest(
  "killing the stream leader loses no accepted publish and the rollout completes",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: ["us-east"], replicas: 3 });
    const call = t.call;
    assert.equal((await call("PUT", "/v1/configs/web", {})).status, 201);
    assert.equal(
      (await call("POST", "/v1/configs/web/versions", { content: '{"n":0}' })).status,
      201,
    );
    assert.equal((await call("POST", "/v1/configs/web/activate", { version: 1 })).status, 200);
    const agents = await startTestAgents(
      t,
      [1, 2].map((i) => ({
        id: `a${i}`,
        region: "us-east",
        nats: ctx.urls,
        heartbeatSeconds: 1,
        reconcileSeconds: 2,
      })),
      ctx.addLog,
    );
    const stop = await runCoordinators(ctx.urls, t, ["us-east"], ctx.addLog);
    try {
      // A rollout whose target is published before the kill; it must still complete.
      const target = await call("POST", "/v1/configs/web/versions", { content: '{"n":"target"}' });
      assert.equal(target.status, 201);
      const rollout = await call("POST", "/v1/configs/web/rollouts", {
        version: target.json.version,
        strategy: { name: "linear", steps: 2, bakeSeconds: 1 },
      });
      assert.equal(rollout.status, 201, JSON.stringify(rollout.json));

      const accepted: { version: number; content: string }[] = [];
      const refused: number[] = [];
      let killed = "";
      let slowest = 0;
      for (let i = 1; i <= 30; i++) {
        if (i === 8) {
          const info = await ctx.nats.jsm.streams.info("KV_atlas_versions");
          const leader = ctx.servers.find((s) => s.name === info.cluster?.leader)!;
          killed = leader.name;
          await leader.kill(); // SIGKILL: no hand-over
        }
        const content = `{"n":${i}}`;
        const t0 = performance.now();
        const res = await call("POST", "/v1/configs/web/versions", { content });
        slowest = Math.max(slowest, performance.now() - t0);
        if (res.status === 201) accepted.push({ version: res.json.version as number, content });
        else refused.push(res.status);
      }
      assert.ok(killed, "a leader was killed");
      console.log(
        `  leader ${killed} killed: ${accepted.length} publishes accepted, ${refused.length} refused, ` +
          `slowest publish (the election) ${slowest.toFixed(0)} ms`,
      );
      assert.ok(refused.every((s) => s === 503), `only 503s may be refused: ${refused}`);
      assert.ok(
        accepted.length >= 20,
        `most publishes accepted through the election: ${accepted.length}`,
      );
      await ctx.servers.find((s) => s.name === killed)!.restart();

      const numbers = accepted.map((a) => a.version);
      assert.equal(new Set(numbers).size, numbers.length, "unique");
      const list = await call("GET", "/v1/configs/web/versions");
      const all = (list.json.versions as { version: number }[]).map((v) => v.version);
      assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => i + 1), "gapless");
      for (const a of accepted) {
        const res = await fetch(`${t.url}/v1/configs/web/versions/${a.version}/content`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        assert.equal(await res.text(), a.content, `v${a.version} readable`);
      }
      const done = await waitFor("rollout ends", async () => {
        const r = (await call("GET", `/v1/rollouts/${rollout.json.id}`))
          .json as unknown as RolloutRecord;
        return r.state !== "running" && r;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      assert.equal(done.state, "succeeded", JSON.stringify(done.transitions));
      for (const a of agents) {
        await waitFor(
          "agents on the target",
          async () => (await Deno.readTextFile(a.file)) === '{"n":"target"}',
          {
            timeoutMs: 30_000,
          },
        );
      }
    } finally {
      await stop();
      await Promise.all(agents.map((a) => a.agent.close()));
    }
  },
  { nodes: 3, regions: ["us-east"] },
);
