/**
 * A real nginx whose whole `nginx.conf` an agent manages, with `verify: nginx -t -c {path}`:
 * the check sees exactly the candidate, in the live file's directory (so its relative
 * `include` resolves as it will once installed). nginx runs in the foreground as a child
 * of the test, with every path it writes (pid, logs, temp dirs) in a temp dir, listening
 * on 127.0.0.1 on a free port. Skipped, loudly, where /usr/sbin/nginx is missing.
 */
import assert from "node:assert/strict";
import { acksOf, activateVersion, natsTest, storeVersion, waitFor } from "@atlas/testkit";
import { ApplyOutcome, preflightCandidate } from "./apply.ts";
import { ManagedConfig } from "./config.ts";
import { nginxMissing, TestNginx } from "./nginx_testing.ts";
import { fileOf, makeAgentConfig, signer, startTestAgent } from "./test_helpers.ts";

const MISSING = nginxMissing();
if (MISSING) console.warn(`agent/nginx_test.ts: SKIPPING the nginx tests: ${MISSING}`);

const BROKEN = (nginx: TestNginx) => nginx.config("v3").replace("return 200", "retrun 200");

natsTest(
  "agent serves each version through nginx and refuses a broken one with nginx -t",
  async (ctx) => {
    await using nginx = await TestNginx.create();
    ctx.addLog({ name: "nginx error.log", logTail: (n) => nginx.logTail(n) });
    await nginx.start("v0");
    const cfg = await makeAgentConfig(ctx.urls, { configs: { web: nginx.managed() } });
    assert.equal(fileOf(cfg), nginx.conf);
    await using agent = await startTestAgent(ctx, cfg);

    for (const n of [1, 2]) {
      const content = nginx.config(`v${n}`);
      const v = await storeVersion(ctx.nats, signer, "web", n, content, "text/plain");
      await activateVersion(ctx.nats, signer, "us-east", v, { content });
      await waitFor(`v${n} served`, async () => (await nginx.get()).body === `v${n}\n`);
      await nginx.workersExited(n);
      assert.equal(await Deno.readTextFile(nginx.conf), content);
    }
    assert.deepEqual(await nginx.get(), { body: "v2\n", servedBy: "atlas nginx test" });
    assert.deepEqual(await nginx.reloads(), ["1", "2"]);
    const v2 = await Deno.readFile(nginx.conf);
    const v2Inode = Deno.statSync(nginx.conf).ino;

    const broken = BROKEN(nginx);
    const v3 = await storeVersion(ctx.nats, signer, "web", 3, broken, "text/plain");
    await activateVersion(ctx.nats, signer, "us-east", v3, { content: broken });
    const acks = await waitFor("v3 acked", async () => {
      const all = await acksOf(ctx.nats, "us-east", "web", "a1");
      return all.length === 3 && all;
    });
    assert.deepEqual(acks.map((a) => [a.version, a.status]), [
      [1, "applied"],
      [2, "applied"],
      [3, "rejected"],
    ]);
    const reason = acks[2]!.reason ?? "";
    assert.match(reason, /^verify command failed \(exit 1: /);
    assert.match(reason, /\[emerg\] unknown directive "retrun"/, "nginx's own error text");
    assert.match(reason, /test failed/);
    assert.deepEqual(await Deno.readFile(nginx.conf), v2, "the live file never changed");
    assert.equal(Deno.statSync(nginx.conf).ino, v2Inode, "nor was it renamed over");
    assert.deepEqual(await nginx.reloads(), ["1", "2"], "reload never ran for v3");
    assert.deepEqual(await nginx.get(), { body: "v2\n", servedBy: "atlas nginx test" });
    assert.equal(agent.stateOf("web").applied?.version, 2);
    assert.equal(agent.stats.rejects, 1);
    const left = [...Deno.readDirSync(nginx.dir)].filter((e) => e.name.includes("atlas-tmp"));
    assert.deepEqual(left, [], "the refused candidate was removed");
  },
  { ignore: MISSING !== undefined },
);

natsTest(
  "an operator's hand edit of nginx.conf is found by the agent's look, restored and reloaded",
  async (ctx) => {
    await using nginx = await TestNginx.create();
    ctx.addLog({ name: "nginx error.log", logTail: (n) => nginx.logTail(n) });
    await nginx.start("v0");
    const cfg = await makeAgentConfig(ctx.urls, { configs: { web: nginx.managed() } });
    assert.equal(cfg.watchFiles && cfg.watchIntervalMs, 1_000, "as deployed");
    await using agent = await startTestAgent(ctx, cfg);
    const content = nginx.config("v1");
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, content, "text/plain");
    await activateVersion(ctx.nats, signer, "us-east", v1, { content });
    await waitFor("v1 served", async () => (await nginx.get()).body === "v1\n");

    // The operator edits the file in place and reloads nginx by hand.
    await Deno.writeTextFile(nginx.conf, nginx.config("by hand"));
    const edited = performance.now();
    const reload = await new Deno.Command("/bin/sh", {
      args: ["-c", nginx.managed().reload as string],
    })
      .output();
    assert.equal(reload.code, 0, new TextDecoder().decode(reload.stderr));

    await waitFor("the applied version restored", async () => {
      return agent.stats.driftHealed === 1 && (await Deno.readTextFile(nginx.conf)) === content;
    });
    console.log(`  restored ${(performance.now() - edited).toFixed(0)} ms after the edit`);
    // The agent's own reload after restoring (the hand reload logs no version).
    await waitFor("v1 reloaded again", async () => (await nginx.reloads()).length === 2);
    assert.deepEqual(await nginx.reloads(), ["1", "1"]);
    await nginx.workersExited(3);
    assert.deepEqual(await nginx.get(), { body: "v1\n", servedBy: "atlas nginx test" });
    assert.equal(agent.stateOf("web").applied?.version, 1);
    assert.equal(agent.stateOf("web").lastDriftHealed?.version, 1);
  },
  { ignore: MISSING !== undefined },
);

Deno.test({
  name: "preflight with nginx -t passes a good config and rejects a broken one, live untouched",
  ignore: MISSING !== undefined,
  fn: async () => {
    // No nginx runs here: nginx -t needs none, and a preflight must never reload.
    await using nginx = await TestNginx.create();
    const live = nginx.config("live");
    await Deno.writeTextFile(nginx.conf, live);
    const managed = ManagedConfig.parse(nginx.managed());
    const run = { env: { ATLAS_CONFIG: "web" }, timeoutMs: 15_000 };
    const enc = new TextEncoder();

    await preflightCandidate(managed, enc.encode(nginx.config("next")), run);
    let refused: unknown;
    try {
      await preflightCandidate(managed, enc.encode(BROKEN(nginx)), run);
    } catch (e) {
      refused = e;
    }
    assert.ok(refused instanceof ApplyOutcome, `not rejected: ${refused}`);
    assert.equal(refused.status, "rejected");
    assert.match(refused.message, /\[emerg\] unknown directive "retrun" in .*\.atlas-tmp-/);
    // A candidate staged elsewhere would miss the relative include: nginx -t would say so.
    await Deno.remove(`${nginx.dir}/served.conf`);
    await assert.rejects(
      preflightCandidate(managed, enc.encode(nginx.config("next")), run),
      (e) => e instanceof ApplyOutcome && /served\.conf/.test(e.message),
    );

    assert.equal(await Deno.readTextFile(nginx.conf), live);
    assert.deepEqual(await nginx.reloads(), [], "a preflight never reloads");
    const left = [...Deno.readDirSync(nginx.dir)].filter((e) => e.name.includes("atlas-tmp"));
    assert.deepEqual(left, []);
  },
});
