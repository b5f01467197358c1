import assert from "node:assert/strict";
import { loadAgentConfig, MAX_RELOAD_SPLAY_MS } from "./config.ts";

const BASE = {
  id: "web-17",
  region: "us-east",
  nats: "nats://127.0.0.1:4222",
  stateDir: "state",
  trustedKeys: "keys.json",
};

/** Loads `json` as agent.json from a temp dir; returns the config or the error message. */
async function load(json: unknown): Promise<Awaited<ReturnType<typeof loadAgentConfig>> | string> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/agent.json`, JSON.stringify(json));
    return await loadAgentConfig(`${dir}/agent.json`);
  } catch (e) {
    return (e as Error).message;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("agent.json refuses a misspelt key of a managed config, naming it", async () => {
  const err = await load({
    ...BASE,
    configs: { web: { path: "/etc/web.json", reloadd: "systemctl reload web" } },
  });
  assert.equal(typeof err, "string");
  assert.match(err as string, /configs\.web/);
  assert.match(err as string, /"reloadd" \(known keys: path, verify, reload,/);
});

Deno.test("agent.json refuses an unknown top-level key, naming it", async () => {
  const err = await load({ ...BASE, configs: {}, heartbeatSecs: 5 });
  assert.equal(typeof err, "string");
  assert.match(err as string, /\(root\): .*"heartbeatSecs"/);
});

Deno.test("agent.json takes verify in both forms and reloadSplayMs, defaulting to 0", async () => {
  const cfg = await load({
    ...BASE,
    configs: {
      nginx: {
        path: "/etc/nginx/nginx.conf",
        verify: "nginx -t -c {path}",
        reload: "nginx -s reload",
        reloadSplayMs: 2_000,
      },
      app: { path: "app.json", verify: ["jq", ".", "{path}"] },
    },
  });
  assert.notEqual(typeof cfg, "string", String(cfg));
  if (typeof cfg === "string") return;
  assert.equal(cfg.configs.nginx!.verify, "nginx -t -c {path}");
  assert.equal(cfg.configs.nginx!.reloadSplayMs, 2_000);
  assert.deepEqual(cfg.configs.app!.verify, ["jq", ".", "{path}"]);
  assert.equal(cfg.configs.app!.reloadSplayMs, 0);
});

Deno.test("agent.json refuses a negative or huge reloadSplayMs and an empty verify", async () => {
  for (
    const bad of [{ reloadSplayMs: -1 }, { reloadSplayMs: MAX_RELOAD_SPLAY_MS + 1 }, {
      verify: "",
    }, { verify: [] }]
  ) {
    const err = await load({ ...BASE, configs: { web: { path: "/etc/web.json", ...bad } } });
    assert.equal(typeof err, "string", `accepted ${JSON.stringify(bad)}`);
    assert.match(err as string, /configs\.web\.(reloadSplayMs|verify)/);
  }
});

Deno.test("agent.json's tls paths are relative to the file; a certificate needs its key", async () => {
  const cfg = await load({ ...BASE, configs: {}, tls: { caFile: "tls/ca.pem" } });
  assert.ok(typeof cfg !== "string", cfg as string);
  assert.match(cfg.tls?.caFile ?? "", /^\/.*\/tls\/ca\.pem$/);
  assert.equal(cfg.tls?.certFile, undefined);

  const half = await load({ ...BASE, configs: {}, tls: { caFile: "ca.pem", certFile: "c.pem" } });
  assert.match(half as string, /tls: certFile and keyFile go together/);
  const typo = await load({ ...BASE, configs: {}, tls: { caFiel: "ca.pem" } });
  assert.match(typo as string, /tls: .*"caFiel"/);
});

Deno.test("agent.json defaults: a long keep-alive, beacon-driven reconciles, spread reconnects", async () => {
  const cfg = await load({ ...BASE, configs: {} });
  assert.notEqual(typeof cfg, "string", String(cfg));
  const c = cfg as Exclude<typeof cfg, string>;
  assert.equal(c.heartbeatSeconds, 600);
  assert.equal(c.aliveSeconds, 60);
  assert.equal(c.reconcileSeconds, 300);
  assert.equal(c.driftCheckSeconds, 30);
  assert.equal(c.watchFiles, true);
  assert.equal(c.watchIntervalMs, 1_000);
  assert.equal(c.reconcileSplaySeconds, 10);
  assert.equal(c.reconnectJitterMs, 2_000);
});

Deno.test("agent.json refuses a splay or jitter out of range, naming the key", async () => {
  for (
    const [bad, key] of [
      [{ reconcileSplaySeconds: -1 }, "reconcileSplaySeconds"],
      [{ reconcileSplaySeconds: 3600 }, "reconcileSplaySeconds"],
      [{ reconnectJitterMs: 1.5 }, "reconnectJitterMs"],
      [{ reconnectJitterMs: 10_000_000 }, "reconnectJitterMs"],
      [{ driftCheckSeconds: 0 }, "driftCheckSeconds"],
      [{ watchIntervalMs: 10 }, "watchIntervalMs"],
      [{ watchIntervalMs: 120_000 }, "watchIntervalMs"],
    ] as const
  ) {
    const err = await load({ ...BASE, configs: {}, ...bad });
    assert.equal(typeof err, "string", `${JSON.stringify(bad)} was accepted`);
    assert.match(err as string, new RegExp(`${key}: `));
  }
});
