/**
 * End to end over real HTTP and a real nats-server: operator → control plane → NATS →
 * agents in two regions → acks visible in status.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import { startTestAgents, startTestControl } from "./harness.ts";

natsTest(
  "publish → activate reaches agents in two regions; rollback comes from their cache",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: ["us-east", "eu-west"] });
    const agents = await startTestAgents(
      t,
      ["us-east", "eu-west"].map((region) => ({
        id: `${region}-1`,
        region,
        nats: ctx.urls,
        config: "demo.app",
      })),
      ctx.addLog,
    );
    try {
      const schema = JSON.parse(await Deno.readTextFile("examples/demo.app.schema.json"));
      await t.expect("PUT", "/v1/configs/demo.app", { schema }, 201);
      const v1Text = await Deno.readTextFile("examples/demo.app.json");
      const v2Text = await Deno.readTextFile("examples/demo.app.v2.json");

      const t0 = performance.now();
      const v1 = await t.expect<{ version: number }>("POST", "/v1/configs/demo.app/versions", {
        content: v1Text,
      }, 201);
      await t.expect("POST", "/v1/configs/demo.app/activate", { version: v1.version });
      for (const a of agents) {
        await waitFor(
          `${a.id} has v1`,
          async () => (await Deno.readTextFile(a.file).catch(() => "")) === v1Text,
        );
      }
      console.log(
        `  publish + activate → both agents applied: ${(performance.now() - t0).toFixed(1)} ms`,
      );

      type Status = {
        regions: {
          region: string;
          pointer: { version: number } | null;
          agents: { onActive: string[] };
        }[];
      };
      const status = await waitFor("acks in status", async () => {
        const s = await t.expect<Status>("GET", "/v1/configs/demo.app/status");
        return s.regions.every((r) => r.agents.onActive.length === 1) && s;
      });
      assert.deepEqual(
        status.regions.map((r) => [r.region, r.pointer?.version, r.agents.onActive]).sort(),
        [["eu-west", 1, ["eu-west-1"]], ["us-east", 1, ["us-east-1"]]],
      );

      const v2 = await t.expect<{ version: number }>("POST", "/v1/configs/demo.app/versions", {
        content: v2Text,
      }, 201);
      assert.equal(v2.version, 2);
      await t.expect("POST", "/v1/configs/demo.app/activate", { version: 2 });
      for (const a of agents) {
        await waitFor(`${a.id} has v2`, async () => (await Deno.readTextFile(a.file)) === v2Text);
      }
      const fetchesBefore = agents.map((a) => a.agent.stats.fetches);
      await t.expect("POST", "/v1/configs/demo.app/rollback", {});
      for (const a of agents) {
        await waitFor(
          `${a.id} back on v1`,
          async () => (await Deno.readTextFile(a.file)) === v1Text,
        );
      }
      assert.deepEqual(
        agents.map((a) => a.agent.stats.fetches),
        fetchesBefore,
        "rollback fetched nothing",
      );
      assert.ok(agents.every((a) => a.agent.stats.cacheHits >= 1));

      const audit = await t.expect<{ events: { action: string }[] }>(
        "GET",
        "/v1/audit?config=demo.app&limit=50",
      );
      const actions = audit.events.map((e) => e.action);
      for (const a of ["config.put", "version.publish", "pointer.activate", "pointer.rollback"]) {
        assert.ok(actions.includes(a), `audit has ${a}: ${actions.join(", ")}`);
      }
    } finally {
      await Promise.all(agents.map((a) => a.agent.close()));
    }
  },
);
