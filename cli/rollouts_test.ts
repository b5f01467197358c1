import assert from "node:assert/strict";
import { Buckets, RolloutRecord } from "@atlas/core";
import { readTrustedKeys } from "@atlas/store";
import { natsTest, waitFor } from "@atlas/testkit";
import { main } from "./cli.ts";
import { parseMetricGate, progressBar, progressLines } from "./rollouts.ts";
import { atlasHere, captureIo, startTestControl } from "./testing.ts";
import { holdLeases, writeHeartbeat } from "@atlas/control/testing";

Deno.test("progress bars fill in tenths of the targeted agents", () => {
  assert.equal(progressBar(0, 0), "[..........] 0/0");
  assert.equal(progressBar(5, 10), "[#####.....] 5/10");
  assert.equal(progressBar(3, 3), "[##########] 3/3");
});

Deno.test("--gate-metric reads a PromQL bound, and refuses text without one", () => {
  assert.deepEqual(parseMetricGate("sum(rate(errors[1m])) <= 0.5 for 30s"), {
    query: "sum(rate(errors[1m]))",
    max: 0.5,
    forSeconds: 30,
  });
  assert.deepEqual(parseMetricGate("min(up) >= 1"), { query: "min(up)", min: 1 });
  assert.deepEqual(parseMetricGate("x >= 2 <= 1e3 for 2m"), {
    query: "x >= 2",
    max: 1000,
    forSeconds: 120,
  });
  for (const bad of ["sum(errors)", "errors < 5", "<= 5", "errors <= five", "x <= 1 for ever"]) {
    assert.throws(
      () => parseMetricGate(bad),
      /--gate-metric must read "<query> <= <max>" or "<query> >= <min>"/,
      bad,
    );
  }
});

natsTest("the CLI starts, shows and lists rollouts, and refuses flags of another strategy", async ({
  urls,
  nats,
}) => {
  await using control = await startTestControl(urls);
  await holdLeases(nats, ["us-east", "eu-west"]);
  const run = (...args: string[]) => atlasHere(control.env, control.dir, ...args);
  await Deno.writeTextFile(`${control.dir}/web.json`, '{"a": 1}');
  assert.equal((await run("configs", "create", "web")).code, 0);
  assert.equal((await run("publish", "web", `${control.dir}/web.json`)).code, 0);

  const wrong = await run("rollout", "start", "web", "1", "--steps", "3");
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /--steps does not apply to the canary strategy/);

  const placeholder = await run(
    "rollout",
    "start",
    "web",
    "1",
    "--gate-metric",
    'errors{r="$regoin"} <= 1',
  );
  assert.equal(placeholder.code, 1);
  assert.match(placeholder.stderr, /unknown placeholder \$regoin in the query: use \$region/);

  const started = await run(
    "rollout",
    "start",
    "web",
    "1",
    "--strategy",
    "linear",
    "--steps",
    "2",
    "--bake",
    "5",
    "--regions",
    "us-east",
    "--max-failure-ratio",
    "0.25",
    "--gate-metric",
    'sum(rate(errors{region="$region"}[1m])) <= 0.5 for 30s',
    "--gate-metric",
    "min(up) >= 1",
  );
  assert.equal(started.code, 0, started.stderr);
  const id = /started rollout (r-\d{14}-[a-z0-9]{6}) of web v1 \(2 stages\)/.exec(
    started.stdout,
  )?.[1];
  assert.ok(id, started.stdout);

  const shown = await run("rollout", "show", id, "--json");
  assert.equal(shown.code, 0, shown.stderr);
  const rollout = RolloutRecord.parse(JSON.parse(shown.stdout));
  assert.deepEqual(
    rollout.stages.map((s) => [s.regions, s.percent, s.bakeSeconds, s.gates.maxFailureRatio]),
    [[["us-east"], 50, 5, 0.25], [["us-east"], 100, 5, 0.25]],
  );
  assert.equal(rollout.createdBy, "ops");
  assert.deepEqual(rollout.stages[1]!.gates.metrics, [
    { query: 'sum(rate(errors{region="$region"}[1m]))', max: 0.5, forSeconds: 30 },
    { query: "min(up)", min: 1, forSeconds: 0 },
  ]);

  const human = await run("rollout", "show", id);
  assert.match(human.stdout, new RegExp(`^rollout ${id}: web v1, running, stage 1/2`));
  assert.match(human.stdout, /\n>1\s+us-east\s+50%\s+5s\s+0\.25/);
  assert.match(
    human.stdout,
    /\nstage 2 metric gate: sum\(rate\(errors\{region="\$region"\}\[1m\]\)\) <= 0\.5 for 30s\n/,
  );
  assert.match((await run("rollout", "list", "--state", "running")).stdout, new RegExp(id));

  const again = await run("rollout", "start", "web", "1");
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`already has an active rollout, ${id}`));
  const paused = await run("rollout", "pause", id, "-m", "looking into it");
  assert.match(paused.stdout, new RegExp(`paused rollout ${id} \\(web v1\\): paused`));
  assert.match((await run("alerts")).stdout, /\(none\)/);
});

natsTest("rollout watch follows a rollout until it succeeds, or fails when aborted", async ({
  urls,
  nats,
}) => {
  await using control = await startTestControl(urls);
  const run = (...args: string[]) => atlasHere(control.env, control.dir, ...args);
  await Deno.writeTextFile(`${control.dir}/web.json`, '{"a": 1}');
  await run("configs", "create", "web");
  await run("publish", "web", `${control.dir}/web.json`);
  const refused = await run("rollout", "start", "web", "1", "--strategy", "immediate");
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /No live coordinator in us-east \(no coordinator has ever led it\)/);
  const started = await run(
    "rollout",
    "start",
    "web",
    "1",
    "--strategy",
    "immediate",
    "--allow-no-coordinator",
    "--json",
  );
  const { id } = RolloutRecord.parse(JSON.parse(started.stdout));

  const captured = captureIo(control.env, control.dir);
  const watching = main(["rollout", "watch", id], captured.io);
  await waitFor("the first progress lines", () => captured.stdout().includes("running"));

  // Play the coordinator: the rollout reaches every agent and succeeds.
  const kv = await nats.kv(Buckets.rollouts);
  const entry = await kv.get(id);
  const current = RolloutRecord.parse(entry!.json());
  const at = new Date().toISOString();
  const done = Object.fromEntries(
    Object.entries(current.regions).map(([r, p]) => [r, { ...p, targeted: 3, applied: 3 }]),
  );
  await kv.update(
    id,
    JSON.stringify({
      ...current,
      state: "succeeded",
      regions: done,
      transitions: [...current.transitions, {
        at,
        from: "running",
        to: "succeeded",
        stage: 0,
        reason: "all stages done",
        by: "coordinator",
      }],
      updatedAt: at,
    }),
    entry!.revision,
  );
  assert.equal(await watching, 0, captured.stderr());
  const output = captured.stdout();
  assert.match(output, /\n {2}us-east\s+\[\.{10}\] 0\/0/);
  assert.match(
    output,
    /\n {2}us-east\s+\[\.{10}\] 0\/0\n\s+waits for coordinator: no coordinator has ever led it: start one with `deno task coordinator --region us-east/,
  );
  assert.match(output, new RegExp(`${id}  web v1  succeeded  stage 1/1\n`));
  assert.match(output, /\n {2}us-east\s+\[#{10}\] 3\/3/);
  // Not a terminal: the running display is printed once, however often it was polled.
  assert.equal(output.split(" running ").length - 1, 1);
  assert.deepEqual(progressLines(RolloutRecord.parse((await kv.get(id))!.json())), [
    `${id}  web v1  succeeded  stage 1/1`,
    "  eu-west  [##########] 3/3",
    "  us-east  [##########] 3/3",
  ]);

  const second = await run(
    "rollout",
    "start",
    "web",
    "1",
    "--strategy",
    "immediate",
    "--allow-no-coordinator",
    "--json",
  );
  const other = RolloutRecord.parse(JSON.parse(second.stdout)).id;
  assert.equal((await run("rollout", "abort", other)).code, 0);
  const aborted = await run("rollout", "watch", other);
  assert.equal(aborted.code, 1);
  assert.match(aborted.stdout, /aborted/);
  assert.match(aborted.stderr, new RegExp(`Rollout ${other} ended aborted: aborted by ops`));
});

natsTest("the CLI starts a preflight, releases and removes agents, and resolves alerts", async ({
  urls,
  nats,
}) => {
  await using control = await startTestControl(urls);
  const run = (...args: string[]) => atlasHere(control.env, control.dir, ...args);
  // The control plane published its key for coordinators to check theirs against.
  const key = JSON.parse(await Deno.readTextFile(`${control.dir}/signing.key`)).keyId;
  assert.deepEqual((await readTrustedKeys(nats)).map((k) => k.keyId), [key]);

  await holdLeases(nats, ["us-east", "eu-west"]);
  await Deno.writeTextFile(`${control.dir}/web.json`, '{"a": 1}');
  await run("configs", "create", "web");
  await run("publish", "web", `${control.dir}/web.json`);
  const started = await run("rollout", "start", "web", "1", "--preflight", "--json");
  assert.equal(started.code, 0, started.stderr);
  const rollout = RolloutRecord.parse(JSON.parse(started.stdout));
  assert.equal(rollout.stages[0]?.preflight, true);
  assert.deepEqual(rollout.stages[0]?.regions, ["us-east", "eu-west"]);
  assert.deepEqual(rollout.stages[1]?.regions, ["us-east"], "canary: the region added first");
  assert.match(
    (await run("rollout", "show", rollout.id)).stdout,
    /\n>1\s+us-east,eu-west \(preflight\)/,
  );

  await writeHeartbeat(nats, "us-east", "a1");
  await writeHeartbeat(nats, "us-east", "old", {}, 200_000);
  const quarantine = await nats.kv(Buckets.quarantine);
  for (const config of ["web", "api"]) {
    await quarantine.put(
      `us-east.a1.${config}`,
      JSON.stringify({
        region: "us-east",
        agent: "a1",
        config,
        reason: `${config} failed`,
        at: new Date().toISOString(),
      }),
    );
  }
  assert.match(
    (await run("agents")).stdout,
    /a1\s+us-east\s+.*ok\s+api: api failed; web: web failed/,
  );
  const released = await run("agents", "release", "us-east", "a1", "--config", "web");
  assert.equal(released.code, 0, released.stderr);
  assert.match(released.stdout, /^released us-east\/a1 from web \(quarantined .*: web failed\)/);
  assert.match((await run("agents")).stdout, /a1\s+us-east\s+.*ok\s+api: api failed\s/);

  const live = await run("agents", "remove", "us-east", "a1");
  assert.equal(live.code, 1);
  assert.match(live.stderr, /Agent a1 in us-east is alive/);
  const forced = await run("agents", "remove", "us-east", "a1", "--force");
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(
    forced.stdout,
    /^removed us-east\/a1: heartbeat record .* and 1 quarantine\(s\) \(api\)/,
  );
  assert.match((await run("agents", "remove", "us-east", "old")).stdout, /^removed us-east\/old/);
  assert.match((await run("agents")).stdout, /\(none\)/);

  const alerts = await nats.kv(Buckets.alerts);
  await alerts.put(
    "rollback-r1",
    JSON.stringify({
      id: "rollback-r1",
      kind: "rolled_back",
      region: "us-east",
      config: "web",
      message: "web v1 rolled back in us-east",
      at: new Date().toISOString(),
    }),
  );
  assert.match((await run("alerts")).stdout, /rolled_back\s+us-east\s+web/);
  const resolved = await run("alerts", "resolve", "rollback-r1", "-m", "fixed");
  assert.equal(resolved.code, 0, resolved.stderr);
  assert.match(resolved.stdout, /^resolved rolled_back alert rollback-r1 \(us-east\)/);
  assert.match((await run("alerts")).stdout, /\(none\)/);
  assert.match((await run("alerts", "--all")).stdout, /rollback-r1|rolled_back/);
});
