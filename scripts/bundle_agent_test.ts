import assert from "node:assert/strict";
import { activateVersion, natsTest, storeVersion, tempDir, waitFor } from "@atlas/testkit";
import { bundleAgent } from "./bundle_agent.ts";
import { ServiceProcess } from "../deploy/service_process.ts";
// The agent tests' own fixture: an agent.json with NATS credentials and trusted keys.
import { fileOf, makeAgentConfig, signer } from "../agent/test_helpers.ts";

natsTest(
  "the bundled agent runs from a directory of its own and applies a version",
  async (ctx) => {
    const host = await tempDir({ prefix: "atlas-bundle-host-" });
    const file = await bundleAgent({ output: `${host}/atlas-agent.js`, log: () => {} });
    const text = await Deno.readTextFile(file);
    assert.doesNotMatch(text, /from ["'](npm:|jsr:|@atlas\/|\.\.?\/)/, "one self-contained file");

    const cfg = await makeAgentConfig(ctx.urls);
    assert.ok(cfg.credentials, "the agent connects with credentials of its own");
    await Deno.writeTextFile(`${host}/agent.json`, JSON.stringify(cfg));
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"bundled":true}');
    await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"bundled":true}' });

    const agent = ServiceProcess.spawn(
      "bundled agent",
      [Deno.execPath(), "run", "-A", "--no-config", "atlas-agent.js", "--config", "agent.json"],
      { cwd: host, env: { NO_COLOR: "1" } },
    );
    ctx.addLog(agent);
    try {
      await waitFor(
        "the bundled agent applied v1",
        async () => (await Deno.readTextFile(fileOf(cfg)).catch(() => "")) === '{"bundled":true}',
        { timeoutMs: 30_000 },
      );
      const record = await waitFor("its heartbeat", async () => {
        const kv = await ctx.nats.kv("atlas_agents");
        return (await kv.get("us-east.a1"))?.json<{ id?: string }>();
      });
      assert.equal(record.id, "a1");
    } finally {
      const status = await agent.stop("SIGTERM");
      assert.equal(status.code, 0, "SIGTERM stops it cleanly");
    }
  },
);
