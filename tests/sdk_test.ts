import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/nats/testing";
import { activateVersion, storeVersion } from "@atlas/nats/fixtures";
import { generateSigningKey, Signer } from "@atlas/nats";
import { openConfig } from "../mod.ts";

const signer = new Signer(generateSigningKey());

Deno.test({
  name: "SDK file source follows atomic replacements and keeps the last value that parsed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/app.json`;
    await Deno.writeTextFile(file, '{"n":1}');
    await using cfg = await openConfig<{ n: number }>({ file });
    assert.equal(cfg.value.n, 1);
    await Deno.writeTextFile(`${file}.tmp`, '{"n":2}');
    await Deno.rename(`${file}.tmp`, file);
    await waitFor("n=2", () => cfg.value.n === 2);
    await Deno.writeTextFile(file, "{not json");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(cfg.value.n, 2, "a file that does not parse leaves the last good value");
    await Deno.remove(dir, { recursive: true });
  },
});

natsTest(
  "SDK NATS source verifies, follows activations, and falls back to its cache",
  async (ctx) => {
    const dir = await Deno.makeTempDir();
    const opts = {
      nats: ctx.urls,
      region: "us-east",
      config: "web",
      trustedKeys: [signer.trustedKey],
      cacheFile: `${dir}/web.json`,
    };
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
      openConfig({ ...opts, trustedKeys: [stranger.trustedKey], cacheFile: `${dir}/none.json` }),
      /untrusted key/,
      "a pointer signed by a key the application does not trust is refused",
    );
    await ctx.servers[0]!.stop();
    await using offline = await openConfig<{ n: number }>(opts);
    assert.equal(offline.value.n, 2, "served from the cache file with NATS down");
  },
);
