/**
 * Agents write no record after an apply (their signed ack stands for it): with a keep-alive
 * of an hour, their records say nothing of what they applied, yet `status` and the
 * coordinator's gates see every apply at once, on a fleet where some hosts manage the
 * config and others do not, and a forged ack still counts for nothing (core/agent_state.ts).
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import {
  type AckRecord,
  agentKey,
  type AgentRecord,
  Buckets,
  type RolloutRecord,
  Subjects,
} from "@atlas/core";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

type AgentView = Pick<AgentRecord, "id" | "configs">;

interface Status {
  regions: {
    region: string;
    pointer: { version: number } | null;
    agents: { total: number; onActive: string[]; onOther: { agent: string }[] };
    propagation: { acked: number } | null;
  }[];
}

natsTest(
  "status and the gates see applies on a mixed fleet whose records are an hour apart",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
    const hour = { region: "us-east", nats: ctx.urls, heartbeatSeconds: 3600 };
    const webIds = ["web-0", "web-1", "web-2"];
    const agents = await startTestAgents(t, [
      ...webIds.map((id) => ({ ...hour, id, configs: { web: {} } })),
      ...["cache-0", "cache-1"].map((id) => ({ ...hour, id, configs: { cache: {} } })),
    ], ctx.addLog);
    const stop = await runCoordinators(ctx.urls, t, ["us-east"], ctx.addLog);
    const usOf = async (config: string) =>
      (await t.expect<Status>("GET", `/v1/configs/${config}/status`)).regions
        .find((r) => r.region === "us-east")!;
    try {
      for (const config of ["web", "cache"]) {
        await t.expect("PUT", `/v1/configs/${config}`, {}, 201);
        await t.expect("POST", `/v1/configs/${config}/versions`, { content: '{"v":1}' }, 201);
        await t.expect("POST", `/v1/configs/${config}/activate`, { version: 1 });
      }
      await waitFor("v1 everywhere", async () => {
        for (const a of agents) {
          if ((await Deno.readTextFile(a.file).catch(() => "")) !== '{"v":1}') return false;
        }
        return true;
      });
      const web1 = await usOf("web");
      assert.equal(web1.agents.total, 3);
      assert.deepEqual(web1.agents.onActive.toSorted(), webIds);
      assert.deepEqual(web1.agents.onOther, []);
      assert.deepEqual((await usOf("cache")).agents.onActive.toSorted(), ["cache-0", "cache-1"]);

      // A rollout's gates pass on the acks alone; status follows at once.
      await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
      const started = await t.expect<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
        version: 2,
        strategy: { name: "canary", canaryPercent: 34, bakeSeconds: 0 },
        regions: ["us-east"],
      }, 201);
      const done = await waitFor("rollout ends", async () => {
        const r = await t.expect<RolloutRecord>("GET", `/v1/rollouts/${started.id}`);
        return r.state !== "running" && r;
      }, { timeoutMs: 60_000, intervalMs: 200 });
      assert.equal(done.state, "succeeded", JSON.stringify(done.transitions));
      assert.equal(done.regions["us-east"]!.targeted, 3, "the web hosts, no other");
      const web2 = await usOf("web");
      assert.equal(web2.pointer?.version, 2);
      assert.deepEqual(web2.agents.onActive.toSorted(), webIds);
      assert.equal(web2.propagation?.acked, 3);

      // A forged ack, newer than any genuine one, saying web-0 went back to v1: not counted.
      const forged: AckRecord = {
        agent: "web-0",
        region: "us-east",
        config: "web",
        version: 1,
        digest: "0".repeat(64),
        seq: 1_000,
        status: "applied",
        latencyMs: 1,
        at: new Date().toISOString(),
        signature: "AAAA",
      };
      await ctx.nats.js.publish(Subjects.ack("us-east", "web", "web-0"), JSON.stringify(forged));
      const web3 = await usOf("web");
      assert.deepEqual(web3.agents.onActive.toSorted(), webIds);
      assert.deepEqual(web3.agents.onOther, []);

      // What made that view: the acks. The records are still the ones written at start, and
      // the agents list brings them up to each agent's verified acks.
      const kv = await ctx.nats.kv(Buckets.agents);
      for (const id of [...webIds, "cache-0"]) {
        const record = (await kv.get(agentKey("us-east", id)))?.json() as AgentRecord;
        assert.ok(Object.values(record.configs).every((c) => c.applied === null), id);
      }
      const listed = await t.expect<{ agents: AgentView[] }>("GET", "/v1/agents");
      for (const a of listed.agents) {
        const want = a.configs.web ? 2 : 1;
        assert.ok(Object.values(a.configs).every((c) => c.applied?.version === want), a.id);
      }
    } finally {
      await stop();
      await Promise.all(agents.map((a) => a.agent.close()));
    }
  },
);
