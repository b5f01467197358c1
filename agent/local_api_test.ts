/**
 * The agent's local API as an application sees it, over real HTTP from a real agent
 * connected to a real nats-server.
 */
import assert from "node:assert/strict";
import { activateVersion, natsTest, storeVersion, waitFor } from "@atlas/testkit";
import type { Agent } from "./agent.ts";
import { makeAgentConfig, signer, startTestAgent } from "./test_helpers.ts";
import { MAX_WAIT_MS, parseListen } from "./local_api.ts";

/** An agent in us-east managing `web` and `db`, serving its local API on a free port. */
async function agentWithApi(ctx: Parameters<Parameters<typeof natsTest>[1]>[0]) {
  const cfg = await makeAgentConfig(ctx.urls, { configs: { web: {}, db: {} } });
  const agent = await startTestAgent(ctx, { ...cfg, http: "127.0.0.1:0" });
  const addr = agent.localApiAddr!;
  return { agent, base: `http://${addr.hostname}:${addr.port}` };
}

async function publish(ctx: { nats: Parameters<typeof storeVersion>[0] }, v: number) {
  const content = JSON.stringify({ v });
  const record = await storeVersion(ctx.nats, signer, "web", v, content);
  await activateVersion(ctx.nats, signer, "us-east", record, { content });
  return record;
}

function applied(agent: Agent, version: number) {
  return waitFor(`v${version} applied`, () => agent.stateOf("web").applied?.version === version);
}

natsTest(
  "GET /configs/{name}: the applied bytes, their ETag and version; 304 on a match",
  async (ctx) => {
    const { agent, base } = await agentWithApi(ctx);
    try {
      const before = await fetch(`${base}/configs/web`);
      assert.equal(before.status, 503, "nothing applied yet");
      assert.equal(before.headers.get("Retry-After"), "1");
      assert.match((await before.json()).error.message, /Nothing of web is applied yet/);

      const v1 = await publish(ctx, 1);
      await applied(agent, 1);
      const res = await fetch(`${base}/configs/web`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '{"v":1}');
      assert.equal(res.headers.get("ETag"), `"${v1.digest}"`);
      assert.equal(res.headers.get("X-Atlas-Version"), "1");
      assert.equal(res.headers.get("Content-Type"), "application/json");
      assert.equal(res.headers.get("X-Atlas-Disconnected-Seconds"), null);

      const same = await fetch(`${base}/configs/web`, {
        headers: { "If-None-Match": `"${v1.digest}"` },
      });
      assert.equal(same.status, 304);
      assert.equal(await same.text(), "");
      const other = await fetch(`${base}/configs/web`, { headers: { "If-None-Match": '"abc"' } });
      assert.equal(other.status, 200);
      await other.body?.cancel();

      const unknown = await fetch(`${base}/configs/payments`);
      assert.equal(unknown.status, 404);
      assert.match(
        (await unknown.json()).error.message,
        /does not manage "payments": it manages web, db/,
      );
      for (const wait of ["soon", "-1s", `${MAX_WAIT_MS / 1000 + 1}s`]) {
        const bad = await fetch(`${base}/configs/web?wait=${wait}`);
        assert.equal(bad.status, 400, wait);
        await bad.body?.cancel();
      }
      const list = await (await fetch(`${base}/configs`)).json();
      assert.deepEqual(
        list.configs.map((c: { config: string; version: number | null }) => [c.config, c.version]),
        [
          ["web", 1],
          ["db", null],
        ],
      );
    } finally {
      await agent.close();
    }
  },
);

natsTest(
  "a long-poll answers as soon as another version is applied, else 304 at the end",
  async (ctx) => {
    const { agent, base } = await agentWithApi(ctx);
    try {
      const v1 = await publish(ctx, 1);
      await applied(agent, 1);
      const etag = `"${v1.digest}"`;
      const quiet = await fetch(`${base}/configs/web?wait=200ms`, {
        headers: { "If-None-Match": etag },
      });
      assert.equal(quiet.status, 304, "no new version within the wait");

      const poll = fetch(`${base}/configs/web?wait=60s`, { headers: { "If-None-Match": etag } });
      await new Promise((r) => setTimeout(r, 100)); // the poll is waiting
      await publish(ctx, 2);
      const res = await poll;
      const answeredAt = Date.now();
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '{"v":2}');
      assert.equal(res.headers.get("X-Atlas-Version"), "2");
      const appliedAt = Date.parse(res.headers.get("X-Atlas-Applied-At")!);
      console.log(`  long-poll answered ${answeredAt - appliedAt} ms after the apply`);
    } finally {
      await agent.close();
    }
  },
);

natsTest("GET /configs/{name}/events streams each applied version", async (ctx) => {
  const { agent, base } = await agentWithApi(ctx);
  const abort = new AbortController();
  try {
    await publish(ctx, 1);
    await applied(agent, 1);
    const res = await fetch(`${base}/configs/web/events`, { signal: abort.signal });
    assert.equal(res.headers.get("Content-Type"), "text/event-stream");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const nextEvent = async (version: number) => {
      while (!text.includes(`"version":${version}`)) {
        const { value, done } = await reader.read();
        if (done) assert.fail(`the stream ended before v${version}: ${text}`);
        text += value;
      }
    };
    await nextEvent(1);
    assert.match(text, /event: applied\ndata: \{"config":"web","version":1,/);
    await publish(ctx, 2);
    await nextEvent(2);
    assert.match(text, /id: 2\n/);
    await reader.cancel();
  } finally {
    abort.abort();
    await agent.close();
  }
});

natsTest("with NATS down the last good bytes are served, saying for how long", async (ctx) => {
  const { agent, base } = await agentWithApi(ctx);
  try {
    await publish(ctx, 1);
    await applied(agent, 1);
    const health = await (await fetch(`${base}/healthz`)).json();
    assert.equal(health.connected, true);
    assert.deepEqual(health.configs[0].version, 1);

    await ctx.servers[0]!.stop();
    await waitFor("the agent sees NATS gone", () => !agent.connected);
    const res = await fetch(`${base}/configs/web`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"v":1}');
    assert.match(res.headers.get("X-Atlas-Disconnected-Seconds") ?? "", /^[0-9]+$/);
    const down = await (await fetch(`${base}/healthz`)).json();
    assert.equal(down.connected, false);
    await ctx.servers[0]!.restart();
    await waitFor("reconnected", () => agent.connected, { timeoutMs: 20_000 });
  } finally {
    await agent.close();
  }
});

natsTest("curl reads a config from the local API", async (ctx) => {
  const { agent, base } = await agentWithApi(ctx);
  try {
    const v1 = await publish(ctx, 1);
    await applied(agent, 1);
    const out = await new Deno.Command("curl", {
      args: ["-sS", "-i", `${base}/configs/web`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, new RegExp(`\r\netag: "${v1.digest}"\r\n`, "i"));
    assert.ok(text.endsWith('\r\n\r\n{"v":1}'));
  } finally {
    await agent.close();
  }
}, {
  ignore: !(() => {
    try {
      return Deno.statSync("/usr/bin/curl").isFile;
    } catch {
      return false;
    }
  })(),
});

Deno.test("listen addresses are host:port", () => {
  assert.deepEqual(parseListen("127.0.0.1:2772"), { hostname: "127.0.0.1", port: 2772 });
  assert.deepEqual(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
  assert.throws(() => parseListen("2772"), /use host:port/);
  assert.throws(() => parseListen("h:99999"), /use host:port/);
});
