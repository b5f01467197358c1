import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  activateVersion,
  connectAs,
  GatewayProxy,
  natsTest,
  reservePort,
  startNatsServer,
  storeVersion,
  tempDir,
  TestAuth,
  waitFor,
} from "@atlas/testkit";
import { type AtlasNats, provision, provisionRegion } from "@atlas/store";
import { generateSigningKey, Signer } from "@atlas/core";
import { openConfig } from "../mod.ts";

const signer = new Signer(generateSigningKey());

Deno.test("SDK file source follows atomic replacements and keeps the last value that parsed", async () => {
  const dir = await tempDir();
  const file = `${dir}/app.json`;
  await Deno.writeTextFile(file, '{"n":1}');
  const errors: string[] = [];
  {
    await using cfg = await openConfig<{ n: number }>({
      file,
      onError: (e) => errors.push(e.message),
    });
    assert.equal(cfg.value.n, 1);
    await Deno.writeTextFile(`${file}.tmp`, '{"n":2}');
    await Deno.rename(`${file}.tmp`, file);
    await waitFor("n=2", () => cfg.value.n === 2);
    await Deno.writeTextFile(file, "{not json");
    await waitFor("the parse error reported", () => errors.length > 0);
    assert.equal(cfg.value.n, 2, "a file that does not parse leaves the last good value");
    assert.match(errors[0]!, /Cannot parse/);
  }
  await Deno.remove(dir, { recursive: true });
});

/** Options of openConfig in NATS mode for config `web` in us-east, cached in `dir`. */
function natsOptions(
  servers: string | string[],
  dir: string,
  credentials: string,
  name = "web.json",
) {
  return {
    nats: servers,
    credentials,
    region: "us-east",
    config: "web",
    trustedKeys: [signer.trustedKey],
    cacheFile: `${dir}/${name}`,
  };
}

natsTest(
  "SDK NATS source verifies, follows activations, and falls back to its cache",
  async (ctx) => {
    const dir = await tempDir();
    const opts = natsOptions(ctx.urls, dir, await ctx.auth.creds("reader"));
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"n":1}');
    await activateVersion(ctx.nats, signer, "us-east", v1, { inline: false });
    {
      await using cfg = await openConfig<{ n: number }>(opts);
      assert.deepEqual([cfg.value.n, cfg.version], [1, 1]);
      const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"n":2}');
      await activateVersion(ctx.nats, signer, "us-east", v2, { content: '{"n":2}' });
      await waitFor("v2", () => cfg.version === 2);
      assert.equal(cfg.value.n, 2);
    }
    const stranger = new Signer(generateSigningKey());
    await assert.rejects(
      openConfig({
        ...opts,
        trustedKeys: [stranger.trustedKey],
        cacheFile: `${dir}/none.json`,
        onError: () => {},
      }),
      /untrusted key/,
      "a pointer signed by a key the application does not trust is refused at once",
    );
    await ctx.servers[0]!.stop();
    const errors: Error[] = [];
    await using offline = await openConfig<{ n: number }>({
      ...opts,
      onError: (e) => errors.push(e),
    });
    assert.deepEqual(
      [offline.value.n, offline.version],
      [2, 2],
      "served from the cache file with NATS down, version included",
    );
    await waitFor("NATS being down reported", () => errors.length > 0);
    await Deno.remove(dir, { recursive: true });
  },
);

natsTest(
  "SDK without a cache waits for NATS to come up, then follows every activation",
  async () => {
    const dir = await tempDir();
    const port = reservePort();
    const auth = await TestAuth.create();
    const opening = openConfig<{ n: number }>({
      ...natsOptions(`nats://127.0.0.1:${port}`, dir, await auth.creds("reader")),
      timeoutMs: 60_000,
      onError: () => {},
    });
    await using server = await startNatsServer({ port, auth });
    await using nats = await connectAs(server.url, "control");
    await provision(nats);
    await provisionRegion(nats, "us-east");
    const v1 = await storeVersion(nats, signer, "web", 1, '{"n":1}');
    await activateVersion(nats, signer, "us-east", v1, { inline: false });
    await using cfg = await opening;
    assert.deepEqual([cfg.value.n, cfg.version], [1, 1]);
    const seen: number[] = [];
    cfg.onChange((v) => seen.push(v.n));
    for (const n of [2, 3]) {
      const v = await storeVersion(nats, signer, "web", n, `{"n":${n}}`);
      await activateVersion(nats, signer, "us-east", v, { content: `{"n":${n}}` });
    }
    await waitFor("two more activations", () => seen.length === 2);
    assert.deepEqual(seen, [2, 3]);
    await Deno.remove(dir, { recursive: true });
  },
);

natsTest(
  "SDK without a cache says why when no value comes in time",
  async (ctx) => {
    const dir = await tempDir();
    await assert.rejects(
      openConfig({
        ...natsOptions("nats://127.0.0.1:1", dir, await ctx.auth.creds("reader")),
        timeoutMs: 300,
        onError: () => {},
      }),
      /No value for web in us-east after 300 ms: NATS \(nats:\/\/127.0.0.1:1\) did not answer/,
    );
    await Deno.remove(dir, { recursive: true });
  },
);

/** Reaches `upstreamPort` through a TCP proxy a test can cut and heal. */
function cuttable(upstreamPort: number) {
  const cut = new Set<string>();
  const proxy = new GatewayProxy("sdk", upstreamPort, cut, "client");
  return {
    url: `nats://127.0.0.1:${proxy.port}`,
    cut: () => (cut.add("sdk"), proxy.enforce()),
    heal: () => cut.delete("sdk"),
    [Symbol.asyncDispose]: () => proxy[Symbol.asyncDispose](),
  };
}

async function activate(nats: AtlasNats, n: number, inline = true): Promise<void> {
  const v = await storeVersion(nats, signer, "web", n, `{"n":${n}}`);
  await activateVersion(nats, signer, "us-east", v, inline ? { content: `{"n":${n}}` } : {});
}

natsTest(
  "SDK started from its cache while NATS is unreachable catches up once it connects",
  async (ctx) => {
    const dir = await tempDir();
    await activate(ctx.nats, 1);
    await using link = cuttable(ctx.servers[0]!.port);
    const opts = natsOptions(link.url, dir, await ctx.auth.creds("reader"));
    {
      await using first = await openConfig<{ n: number }>(opts);
      assert.equal(first.version, 1);
    }
    link.cut();
    await using cfg = await openConfig<{ n: number }>({ ...opts, onError: () => {} });
    assert.deepEqual([cfg.value.n, cfg.version], [1, 1], "the cache, at once");
    // Made while the SDK cannot hear the notices: only its reconcile on connect finds it.
    await activate(ctx.nats, 2, false);
    await activate(ctx.nats, 3);
    link.heal();
    await waitFor("v3 after connecting", () => cfg.version === 3, { timeoutMs: 10_000 });
    assert.equal(cfg.value.n, 3);
    await Deno.remove(dir, { recursive: true });
  },
);

natsTest(
  "SDK gets a change made during a short disconnect when it reconnects",
  async (ctx) => {
    const dir = await tempDir();
    await activate(ctx.nats, 1);
    await using link = cuttable(ctx.servers[0]!.port);
    const errors: Error[] = [];
    // The timer's reconcile (30 s) is far off: the catch-up must come from the reconnect.
    await using cfg = await openConfig<{ n: number }>({
      ...natsOptions(link.url, dir, await ctx.auth.creds("reader")),
      onError: (e) => errors.push(e),
    });
    await activate(ctx.nats, 2);
    await waitFor("v2 by notice", () => cfg.version === 2);
    link.cut();
    await activate(ctx.nats, 3, false); // its notice cannot reach the SDK
    await new Promise((r) => setTimeout(r, 1_000)); // a short outage, as long as the test says
    assert.equal(cfg.version, 2);
    link.heal();
    await waitFor("v3 after reconnecting", () => cfg.version === 3, { timeoutMs: 10_000 });
    assert.equal(cfg.value.n, 3);
    assert.deepEqual(errors, []);
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("SDK imports from a script outside the repository with the documented command", async () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/app.json`, '{"greeting":"hello from atlas"}');
    await Deno.writeTextFile(
      `${dir}/app.ts`,
      `import { openConfig } from "${new URL("../mod.ts", import.meta.url).href}";\n` +
        `await using cfg = await openConfig<{ greeting: string }>({ file: "./app.json" });\n` +
        `console.log(cfg.value.greeting);\n`,
    );
    // The README's command: the checkout's deno.json resolves the SDK's own imports.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", `${root}deno.json`, "app.ts"],
      cwd: dir,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "hello from atlas");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
