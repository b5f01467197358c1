/**
 * A staged rollout end to end: started over the HTTP API, driven by real coordinator
 * loops (real clock, 1 s bakes), applied by real agents in two regions.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/nats/testing";
import { generateSigningKey, loadSigner, readPointer, type RolloutRecord } from "@atlas/nats";
import { startControl } from "@atlas/control";
import { Agent, AgentConfigFile } from "@atlas/agent";
import { RegionCoordinator } from "@atlas/coordinator";

const TOKEN = "rollout-e2e";

natsTest("a canary started over HTTP is driven by the coordinators to every agent", async (ctx) => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-rollout-e2e-" });
  await Deno.writeTextFile(`${dir}/signing.key`, JSON.stringify(generateSigningKey()));
  await using control = await startControl({
    nats: ctx.urls,
    port: 0,
    signingKey: `${dir}/signing.key`,
    tokens: [{ name: "e2e", token: TOKEN, role: "admin" }],
    regions: ["us-east", "eu-west"],
  });
  const api = async <T>(method: string, path: string, body?: unknown, status = 200): Promise<T> => {
    const res = await fetch(`${control.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    assert.equal(res.status, status, text);
    return JSON.parse(text) as T;
  };
  await Deno.writeTextFile(`${dir}/keys.json`, JSON.stringify(await api("GET", "/v1/keys")));
  const agents = await Promise.all(
    ["us-east", "eu-west"].flatMap((region) =>
      [1, 2, 3].map(async (i) => {
        const id = `${region}-${i}`;
        const config = AgentConfigFile.parse({
          id,
          region,
          nats: ctx.urls,
          stateDir: `${dir}/${id}/state`,
          trustedKeys: `${dir}/keys.json`,
          heartbeatSeconds: 1,
          configs: { web: { path: `${dir}/${id}/web.json` } },
        });
        const agent = await Agent.start(config, { log: () => {} });
        await agent.whenConnected();
        return { agent, file: config.configs.web!.path };
      })
    ),
  );
  const signer = await loadSigner(`${dir}/signing.key`);
  const coordinators = await Promise.all(
    ["us-east", "eu-west"].map((region) =>
      RegionCoordinator.create(ctx.nats, signer, { region, log: () => {} })
    ),
  );
  let running = true;
  const loops = coordinators.map(async (c) => {
    while (running) {
      await c.step().catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  try {
    await api("PUT", "/v1/configs/web", {}, 201);
    await api("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
    await api("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
    await api("POST", "/v1/configs/web/activate", { version: 1 });
    for (const a of agents) {
      await waitFor(
        "v1 everywhere",
        async () => (await Deno.readTextFile(a.file).catch(() => "")) === '{"v":1}',
      );
    }
    const started = await api<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
      version: 2,
      strategy: { name: "canary", canaryPercent: 50, bakeSeconds: 1 },
      regions: ["us-east", "eu-west"],
    }, 201);
    await api("POST", "/v1/configs/web/rollouts", { version: 2, strategy: "immediate" }, 409);
    const done = await waitFor("rollout ends", async () => {
      const r = await api<RolloutRecord>("GET", `/v1/rollouts/${started.id}`);
      return r.state !== "running" && r;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    assert.equal(done.state, "succeeded", JSON.stringify(done.transitions));
    for (const a of agents) {
      await waitFor("v2 everywhere", async () => (await Deno.readTextFile(a.file)) === '{"v":2}');
    }
  } finally {
    running = false;
    await Promise.all(loops);
    await Promise.all(agents.map((a) => a.agent.close()));
  }
});

natsTest(
  "an immediate rollback during a rollout aborts it, and the coordinator does not undo it",
  async (ctx) => {
    const dir = await Deno.makeTempDir({ prefix: "atlas-rollout-e2e-" });
    await Deno.writeTextFile(`${dir}/signing.key`, JSON.stringify(generateSigningKey()));
    await using control = await startControl({
      nats: ctx.urls,
      port: 0,
      signingKey: `${dir}/signing.key`,
      tokens: [{ name: "e2e", token: TOKEN, role: "admin" }],
      regions: ["us-east"],
    });
    const api = async <T>(
      method: string,
      path: string,
      body?: unknown,
      status = 200,
    ): Promise<T> => {
      const res = await fetch(`${control.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      assert.equal(res.status, status, text);
      return JSON.parse(text) as T;
    };
    const coordinator = await RegionCoordinator.create(
      ctx.nats,
      await loadSigner(`${dir}/signing.key`),
      {
        region: "us-east",
        log: () => {},
      },
    );
    await api("PUT", "/v1/configs/web", {}, 201);
    await api("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
    await api("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
    await api("POST", "/v1/configs/web/activate", { version: 1 });
    await api("POST", "/v1/configs/web/activate", { version: 2 }); // history: [1]
    await api("POST", "/v1/configs/web/versions", { content: '{"v":3}' }, 201);
    const started = await api<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
      version: 3,
      strategy: { name: "linear", steps: 2, bakeSeconds: 600 },
    }, 201);
    await coordinator.step(); // the candidate is on the pointer now
    assert.equal(
      (await readPointer(ctx.nats, "us-east", "web"))?.pointer.candidate?.version.version,
      3,
    );
    await api("POST", "/v1/configs/web/rollback", {});
    const r = await api<RolloutRecord>("GET", `/v1/rollouts/${started.id}`);
    assert.equal(r.state, "aborted");
    assert.match(r.transitions.at(-1)!.reason, /superseded by an immediate rollback/);
    await coordinator.step();
    await coordinator.step();
    const p = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
    assert.equal(p.active.version, 1);
    assert.equal(p.candidate, undefined, "the coordinator did not put the candidate back");
  },
);
