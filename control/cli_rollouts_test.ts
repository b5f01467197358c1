import assert from "node:assert/strict";
import { Buckets, RolloutRecord } from "@atlas/nats";
import { natsTest, waitFor } from "@atlas/nats/testing";
import { main } from "./cli.ts";
import { progressBar, progressLines } from "./cli_rollouts.ts";
import { atlasHere, captureIo, startTestControl } from "./cli_testing.ts";

Deno.test("progress bars fill in tenths of the targeted agents", () => {
  assert.equal(progressBar(0, 0), "[..........] 0/0");
  assert.equal(progressBar(5, 10), "[#####.....] 5/10");
  assert.equal(progressBar(3, 3), "[##########] 3/3");
});

natsTest("the CLI starts, shows and lists rollouts, and refuses flags of another strategy", async ({
  urls,
}) => {
  await using control = await startTestControl(urls);
  const run = (...args: string[]) => atlasHere(control.env, control.dir, ...args);
  await Deno.writeTextFile(`${control.dir}/web.json`, '{"a": 1}');
  assert.equal((await run("configs", "create", "web")).code, 0);
  assert.equal((await run("publish", "web", `${control.dir}/web.json`)).code, 0);

  const wrong = await run("rollout", "start", "web", "1", "--steps", "3");
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /--steps does not apply to the canary strategy/);

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

  const human = await run("rollout", "show", id);
  assert.match(human.stdout, new RegExp(`^rollout ${id}: web v1, running, stage 1/2`));
  assert.match(human.stdout, /\n>1\s+us-east\s+50%\s+5s\s+0\.25/);
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
  const started = await run("rollout", "start", "web", "1", "--strategy", "immediate", "--json");
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
  assert.match(output, new RegExp(`${id}  web v1  succeeded  stage 1/1\n`));
  assert.match(output, /\n {2}us-east\s+\[#{10}\] 3\/3/);
  // Not a terminal: the running display is printed once, however often it was polled.
  assert.equal(output.split(" running ").length - 1, 1);
  assert.deepEqual(progressLines(RolloutRecord.parse((await kv.get(id))!.json())), [
    `${id}  web v1  succeeded  stage 1/1`,
    "  eu-west  [##########] 3/3",
    "  us-east  [##########] 3/3",
  ]);

  const second = await run("rollout", "start", "web", "1", "--strategy", "immediate", "--json");
  const other = RolloutRecord.parse(JSON.parse(second.stdout)).id;
  assert.equal((await run("rollout", "abort", other)).code, 0);
  const aborted = await run("rollout", "watch", other);
  assert.equal(aborted.code, 1);
  assert.match(aborted.stdout, /aborted/);
  assert.match(aborted.stderr, new RegExp(`Rollout ${other} ended aborted: aborted by ops`));
});
