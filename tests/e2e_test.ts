/**
 * End to end over real HTTP and a real nats-server: operator → control plane → NATS →
 * agents in two regions → acks visible in status.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/nats/testing";
import { generateSigningKey, TrustedKeysFile } from "@atlas/nats";
import { startControl } from "@atlas/control";
import { Agent, AgentConfigFile } from "@atlas/agent";

const TOKEN = "e2e-admin-token";

async function api(base: string, method: string, path: string, body?: unknown): Promise<Response> {
  return await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/json",
    },
    signal: AbortSignal.timeout(10_000),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function json<T = Record<string, unknown>>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text) as T;
}

natsTest(
  "publish → activate reaches agents in two regions; rollback comes from their cache",
  async (ctx) => {
    const dir = await Deno.makeTempDir({ prefix: "atlas-e2e-" });
    await Deno.writeTextFile(`${dir}/signing.key`, JSON.stringify(generateSigningKey()));
    await using control = await startControl({
      nats: ctx.urls,
      port: 0,
      signingKey: `${dir}/signing.key`,
      tokens: [{ name: "e2e", token: TOKEN, role: "admin" }],
      regions: ["us-east", "eu-west"],
    });
    const keys = TrustedKeysFile.parse(await json(await api(control.url, "GET", "/v1/keys"), 200));
    await Deno.writeTextFile(`${dir}/trusted-keys.json`, JSON.stringify(keys));

    const agents = await Promise.all(["us-east", "eu-west"].map(async (region) => {
      const id = `${region}-1`;
      const config = AgentConfigFile.parse({
        id,
        region,
        nats: ctx.urls,
        stateDir: `${dir}/${id}/state`,
        trustedKeys: `${dir}/trusted-keys.json`,
        configs: { "demo.app": { path: `${dir}/${id}/demo.app.json` } },
      });
      const lines: string[] = [];
      const agent = await Agent.start(config, { log: (l) => lines.push(l) });
      ctx.addLog({ name: id, logTail: () => Promise.resolve(lines.join("\n")) });
      await agent.whenConnected();
      return { id, agent, file: config.configs["demo.app"]!.path };
    }));
    try {
      const schema = JSON.parse(await Deno.readTextFile("examples/demo.app.schema.json"));
      await json(await api(control.url, "PUT", "/v1/configs/demo.app", { schema }), 201);
      const v1Text = await Deno.readTextFile("examples/demo.app.json");
      const v2Text = await Deno.readTextFile("examples/demo.app.v2.json");

      const t0 = performance.now();
      const v1 = await json<{ version: number }>(
        await api(control.url, "POST", "/v1/configs/demo.app/versions", { content: v1Text }),
        201,
      );
      await json(
        await api(control.url, "POST", "/v1/configs/demo.app/activate", { version: v1.version }),
        200,
      );
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
        const s = await json<Status>(
          await api(control.url, "GET", "/v1/configs/demo.app/status"),
          200,
        );
        return s.regions.every((r) => r.agents.onActive.length === 1) && s;
      });
      assert.deepEqual(
        status.regions.map((r) => [r.region, r.pointer?.version, r.agents.onActive]).sort(),
        [["eu-west", 1, ["eu-west-1"]], ["us-east", 1, ["us-east-1"]]],
      );

      const v2 = await json<{ version: number }>(
        await api(control.url, "POST", "/v1/configs/demo.app/versions", { content: v2Text }),
        201,
      );
      assert.equal(v2.version, 2);
      await json(
        await api(control.url, "POST", "/v1/configs/demo.app/activate", { version: 2 }),
        200,
      );
      for (const a of agents) {
        await waitFor(`${a.id} has v2`, async () => (await Deno.readTextFile(a.file)) === v2Text);
      }
      const fetchesBefore = agents.map((a) => a.agent.stats.fetches);
      await json(await api(control.url, "POST", "/v1/configs/demo.app/rollback", {}), 200);
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

      const audit = await json<{ events: { action: string }[] }>(
        await api(control.url, "GET", "/v1/audit?config=demo.app&limit=50"),
        200,
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
