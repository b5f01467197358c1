/**
 * Staged rollouts of a real program's config: three hosts each run Debian's nginx, whose
 * whole `nginx.conf` their agent keeps (`verify: nginx -t -c {path}`, `reload: nginx -s
 * reload`), beside a host that manages only `demo.app` and a batch host that manages
 * nothing. Everything goes through the HTTP API and real coordinator loops. Skipped,
 * loudly, where /usr/sbin/nginx is missing.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import type { RolloutRecord } from "@atlas/core";
import { nginxConfig, nginxMissing, TestNginx } from "@atlas/agent/nginx_testing";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

const MISSING = nginxMissing();
if (MISSING) console.warn(`tests/nginx_rollout_test.ts: SKIPPING: ${MISSING}`);

natsTest(
  "nginx hosts: a good version rolls out, a broken one is refused by nginx -t at every stage",
  async (ctx) => {
    const regions = ["us-east", "eu-west"];
    await using t = await startTestControl(ctx.urls, { regions });
    const hosts = [
      { id: "web-1", region: "us-east" },
      { id: "web-2", region: "us-east" },
      { id: "web-3", region: "eu-west" },
    ];
    const nginx = await Promise.all(hosts.map(() => TestNginx.create()));
    await using _stop = {
      [Symbol.asyncDispose]: async () => {
        await Promise.all(nginx.map((n) => n[Symbol.asyncDispose]()));
      },
    };
    nginx.forEach((n, i) =>
      ctx.addLog({ name: `nginx ${hosts[i]!.id}`, logTail: (k) => n.logTail(k) })
    );
    await Promise.all(nginx.map((n) => n.start("v0")));
    const user = nginx[0]!.user;
    const agents = await startTestAgents(t, [
      ...hosts.map((h, i) => ({
        ...h,
        nats: ctx.urls,
        heartbeatSeconds: 1,
        configs: { "web.nginx": nginx[i]!.managed() },
      })),
      { id: "app-1", region: "us-east", nats: ctx.urls, heartbeatSeconds: 1, config: "demo.app" },
      { id: "batch-1", region: "us-east", nats: ctx.urls, heartbeatSeconds: 1, configs: {} },
    ], ctx.addLog);
    const stop = await runCoordinators(ctx.urls, t, regions, ctx.addLog);
    try {
      const served = async () => await Promise.all(nginx.map(async (n) => (await n.get()).body));
      const publish = async (body: string) =>
        (await t.expect<{ version: number }>("POST", "/v1/configs/web.nginx/versions", {
          content: body,
        }, 201)).version;
      const rollout = async (version: number, preflight: boolean) => {
        const started = await t.expect<RolloutRecord>("POST", "/v1/configs/web.nginx/rollouts", {
          version,
          strategy: { name: "canary", canaryPercent: 50, bakeSeconds: 0 },
          gates: { ackTimeoutSeconds: 20 },
          regions,
          preflight,
        }, 201);
        return await waitFor(`rollout of v${version} ends`, async () => {
          const r = await t.expect<RolloutRecord>("GET", `/v1/rollouts/${started.id}`);
          return r.state !== "running" && r;
        }, { timeoutMs: 60_000, intervalMs: 100 });
      };

      await t.expect("PUT", "/v1/configs/web.nginx", { contentType: "text/plain" }, 201);
      await t.expect("POST", "/v1/configs/web.nginx/activate", {
        version: await publish(nginxConfig("v1", user)),
      });
      await waitFor(
        "v1 served everywhere",
        async () => (await served()).every((b) => b === "v1\n"),
      );

      const good = await rollout(await publish(nginxConfig("v2", user)), false);
      assert.equal(good.state, "succeeded", JSON.stringify(good.transitions));
      assert.equal(good.regions["us-east"]!.targeted, 2, "the two nginx hosts, not app or batch");
      await waitFor(
        "v2 served everywhere",
        async () => (await served()).every((b) => b === "v2\n"),
      );
      const files = await Promise.all(nginx.map((n) => Deno.readTextFile(n.conf)));
      const reloads = await Promise.all(nginx.map((n) => n.reloads()));

      // Broken, staged: the canary host's nginx -t refuses it; the region rolls back.
      const broken = (body: string) => nginxConfig(body, user).replace("return 200", "retrun 200");
      const bad = await rollout(await publish(broken("v3")), false);
      assert.equal(bad.state, "rolled_back");
      assert.equal(bad.stage, 0, "stopped at the canary");
      assert.match(bad.transitions.at(-1)!.reason, /unknown directive "retrun"/);
      const { agents: views } = await t.expect<{
        agents: { id: string; region: string; quarantined: { config: string | null }[] }[];
      }>("GET", "/v1/agents");
      const fenced = views.filter((a) => a.quarantined.length > 0);
      assert.ok(fenced.length > 0, "the canary host that refused it");
      assert.ok(
        fenced.every((a) => a.region === "us-east" && a.id.startsWith("web-")),
        "never the app or batch host, nor eu-west",
      );
      assert.ok(fenced.flatMap((a) => a.quarantined).every((q) => q.config === "web.nginx"));
      for (const a of fenced) await t.expect("POST", `/v1/agents/${a.region}/${a.id}/release`);

      // Broken, with a preflight: every host checks it, none installs it, no stage follows.
      const pre = await rollout(await publish(broken("v4")), true);
      assert.equal(pre.state, "rolled_back");
      assert.equal(pre.stage, 0, "ended in the preflight");
      assert.equal(pre.stages[0]!.preflight, true);
      const after = await t.expect<{ agents: { quarantined: unknown[] }[] }>("GET", "/v1/agents");
      assert.ok(after.agents.every((a) => a.quarantined.length === 0), "a preflight fences nobody");

      assert.deepEqual(await Promise.all(nginx.map((n) => Deno.readTextFile(n.conf))), files);
      assert.deepEqual(await Promise.all(nginx.map((n) => n.reloads())), reloads, "no reload");
      assert.deepEqual(await served(), ["v2\n", "v2\n", "v2\n"]);
    } finally {
      await stop();
      await Promise.all(agents.map((a) => a.agent.close()));
    }
  },
  { ignore: MISSING !== undefined },
);
