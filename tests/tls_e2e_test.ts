/**
 * The whole path over mutual TLS: control plane, coordinators and agents each verify the
 * server's certificate against the throw-away CA and present a client certificate.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

natsTest("over mutual TLS, a version is published, rolled out and applied", async (ctx) => {
  assert.ok(ctx.urls.every((u) => u.startsWith("tls://")));
  await using t = await startTestControl(ctx.urls, {
    regions: ["us-east"],
    natsTls: ctx.clientTls,
  });
  ctx.addLog(t);
  const agents = await startTestAgents(
    t,
    [1, 2].map((i) => ({
      id: `tls-${i}`,
      region: "us-east",
      nats: ctx.urls,
      tls: ctx.clientTls,
    })),
    ctx.addLog,
  );
  const stop = await runCoordinators(ctx.urls, t, ["us-east"], ctx.addLog, { tls: ctx.clientTls });
  try {
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    const publish = (content: string) =>
      t.expect<{ version: number }>("POST", "/v1/configs/web/versions", { content }, 201);
    const applied = async (content: string) => {
      for (const a of agents) {
        await waitFor(
          `${a.id} applied ${content}`,
          async () => (await Deno.readTextFile(a.file).catch(() => "")) === content,
        );
      }
    };
    const v1 = await publish('{"v":1}');
    await t.expect("POST", "/v1/configs/web/activate", { version: v1.version });
    await applied('{"v":1}');
    const v2 = await publish('{"v":2}');
    await t.expect("POST", "/v1/configs/web/rollouts", {
      version: v2.version,
      regions: ["us-east"],
      strategy: { name: "canary", canaryPercent: 50, bakeSeconds: 0 },
    }, 201);
    await applied('{"v":2}');
  } finally {
    await stop();
    await Promise.all(agents.map((a) => a.agent.close()));
  }
}, { regions: ["us-east"], tls: { mutual: true } });
