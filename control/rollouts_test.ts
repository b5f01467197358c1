import assert from "node:assert/strict";
import { activeRolloutKey, Buckets, RolloutRecord } from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import { AuditList, RolloutList, RolloutView } from "./api.ts";
import { newRolloutId } from "./rollouts.ts";
import {
  type Api,
  controlTest,
  createConfig,
  holdLeases,
  publish,
  READER_TOKEN,
} from "./testing.ts";

/** A config `web` with two versions, and live coordinators in both regions. */
async function webWithTwoVersions(api: Api, nats: AtlasNats): Promise<void> {
  await createConfig(api, "web");
  await publish(api, "web", { n: 1 });
  await publish(api, "web", { n: 2 });
  await holdLeases(nats, ["us-east", "eu-west"]);
}

async function start(api: Api, body: Record<string, unknown>): Promise<RolloutRecord> {
  return RolloutRecord.parse(await api.ok(201, "POST", "/v1/configs/web/rollouts", { body }));
}

Deno.test("rollout ids carry the start time and six random characters", () => {
  const id = newRolloutId(new Date("2026-01-02T03:04:05.678Z"));
  assert.match(id, /^r-20260102030405-[a-z0-9]{6}$/);
  assert.ok(RolloutRecord.shape.id.safeParse(id).success);
});

controlTest("starting a rollout with a strategy records the planned stages and audits it", async ({
  api,
  nats,
}) => {
  await webWithTwoVersions(api, nats);
  const rollout = await start(api, {
    version: 2,
    strategy: { name: "canary", canaryPercent: 10, bakeSeconds: 30 },
    gates: { maxFailureRatio: 0.2 },
  });
  assert.match(rollout.id, /^r-\d{14}-[a-z0-9]{6}$/);
  assert.equal(rollout.state, "running");
  assert.equal(rollout.stage, 0);
  assert.equal(rollout.createdBy, "alice");
  // Regions default to every provisioned region, in the order they were added.
  assert.deepEqual(rollout.stages.map((s) => [s.regions, s.percent, s.bakeSeconds]), [
    [["us-east"], 10, 30],
    [["us-east"], 100, 30],
    [["eu-west"], 100, 30],
  ]);
  assert.ok(rollout.stages.every((s) => s.gates.maxFailureRatio === 0.2));
  assert.deepEqual(Object.keys(rollout.regions), ["eu-west", "us-east"]);
  const { targeted, applied, rejected, failed, pending, doneStage, seq } = rollout
    .regions["us-east"]!;
  assert.deepEqual(
    { targeted, applied, rejected, failed, pending, doneStage, seq },
    { targeted: 0, applied: 0, rejected: 0, failed: 0, pending: 0, doneStage: -1, seq: 0 },
  );
  assert.deepEqual(
    rollout.transitions.map((t) => [t.from, t.to, t.stage, t.reason, t.by]),
    [["pending", "running", 0, "started by alice", "alice"]],
  );

  const read = RolloutView.parse(await api.ok(200, "GET", `/v1/rollouts/${rollout.id}`));
  const { waiting, ...record } = read;
  assert.deepEqual(record, rollout);
  assert.deepEqual(waiting, [{
    region: "us-east",
    for: "coordinator",
    detail: "coordinator test-us-east has not started stage 1 in us-east yet",
  }]);
  const kv = await nats.kv(Buckets.rollouts);
  assert.deepEqual((await kv.get(activeRolloutKey("web")))?.json(), { rolloutId: rollout.id });

  const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit?config=web"));
  const started = events.find((e) => e.action === "rollout.start");
  assert.equal(started?.actor, "alice");
  assert.equal(started?.version, 2);
  assert.equal(started?.details.rolloutId, rollout.id);
});

controlTest("a strategy can be named alone, and explicit stages are kept as given", async ({
  api,
  nats,
}) => {
  await webWithTwoVersions(api, nats);
  const named = await start(api, { version: 1, strategy: "linear", regions: ["us-east"] });
  assert.deepEqual(named.stages.map((s) => [s.regions, s.percent]), [
    [["us-east"], 25],
    [["us-east"], 50],
    [["us-east"], 75],
    [["us-east"], 100],
  ]);
  await api.ok(200, "POST", `/v1/rollouts/${named.id}/abort`);

  const staged = await start(api, {
    version: 2,
    stages: [{ regions: ["us-east"], percent: 50 }, { regions: ["us-east", "eu-west"] }],
  });
  assert.deepEqual(staged.stages.map((s) => [s.regions, s.percent]), [
    [["us-east"], 50],
    [["us-east", "eu-west"], 100],
  ]);
  assert.deepEqual(Object.keys(staged.regions), ["eu-west", "us-east"]);

  const both = await api.call("POST", "/v1/configs/web/rollouts", {
    body: { version: 2, strategy: "canary", stages: [{ regions: ["us-east"] }] },
  });
  assert.equal(both.status, 400);
  assert.match(both.text, /exactly one of strategy or stages/);
});

controlTest("a second rollout of a config is refused until the first is aborted", async ({
  api,
  nats,
}) => {
  await webWithTwoVersions(api, nats);
  const first = await start(api, { version: 2, strategy: "immediate" });
  const refused = await api.call("POST", "/v1/configs/web/rollouts", {
    body: { version: 1, strategy: "immediate" },
  });
  assert.equal(refused.status, 409);
  const message = (refused.json as { error: { message: string } }).error.message;
  assert.match(message, new RegExp(first.id));
  assert.match(message, /wait for it to finish, or pause or abort it/);

  const aborted = RolloutRecord.parse(
    await api.ok(200, "POST", `/v1/rollouts/${first.id}/abort`, { body: { reason: "typo" } }),
  );
  assert.equal(aborted.state, "aborted");
  assert.deepEqual(aborted.transitions.at(-1)?.reason, "typo");
  const second = await start(api, { version: 1, strategy: "immediate" });
  assert.notEqual(second.id, first.id);

  const { rollouts } = RolloutList.parse(await api.ok(200, "GET", "/v1/rollouts?config=web"));
  assert.deepEqual(rollouts.map((r) => r.id), [second.id, first.id]);
  const running = RolloutList.parse(await api.ok(200, "GET", "/v1/rollouts?state=running"));
  assert.deepEqual(running.rollouts.map((r) => r.id), [second.id]);
});

controlTest("pause, resume, promote and abort follow the allowed transitions", async ({
  api,
  nats,
}) => {
  await webWithTwoVersions(api, nats);
  const { id } = await start(api, { version: 2, strategy: "canary" });
  const act = async (action: string, status: number) => {
    const res = await api.call("POST", `/v1/rollouts/${id}/${action}`);
    assert.equal(res.status, status, `${action}: ${res.text}`);
    return res;
  };

  const resumeRunning = await act("resume", 409);
  assert.match(resumeRunning.text, /Cannot resume rollout .*: it is running/);
  const promoted = RolloutRecord.parse((await act("promote", 200)).json);
  assert.equal(promoted.skipBakeStage, 0);
  assert.equal(promoted.state, "running");
  assert.equal(promoted.transitions.length, 1);

  assert.equal(RolloutRecord.parse((await act("pause", 200)).json).state, "paused");
  assert.match((await act("pause", 409)).text, /it is paused/);
  assert.match((await act("promote", 409)).text, /it is paused/);
  assert.equal(RolloutRecord.parse((await act("resume", 200)).json).state, "running");
  const aborted = RolloutRecord.parse((await act("abort", 200)).json);
  assert.deepEqual(aborted.transitions.map((t) => `${t.from}>${t.to} ${t.by}`), [
    "pending>running alice",
    "running>paused alice",
    "paused>running alice",
    "running>aborted alice",
  ]);
  assert.match((await act("resume", 409)).text, /it is aborted and has ended/);
  assert.match((await act("abort", 409)).text, /it is aborted/);

  const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit?config=web"));
  assert.deepEqual(
    events.filter((e) => e.details.rolloutId === id).map((e) => e.action).reverse(),
    ["rollout.start", "rollout.promote", "rollout.pause", "rollout.resume", "rollout.abort"],
  );
});

controlTest("unknown configs, versions, regions and rollouts are 404", async ({ api, nats }) => {
  await webWithTwoVersions(api, nats);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["/v1/configs/nope/rollouts", { version: 1, strategy: "canary" }, /Config "nope"/],
    ["/v1/configs/web/rollouts", { version: 9, strategy: "canary" }, /Version 9 of web/],
    [
      "/v1/configs/web/rollouts",
      { version: 1, strategy: "canary", regions: ["mars"] },
      /Region "mars" is not provisioned/,
    ],
    ["/v1/configs/web/rollouts", { version: 1, stages: [{ regions: ["mars"] }] }, /"mars"/],
  ];
  for (const [path, body, message] of cases) {
    const res = await api.call("POST", path, { body });
    assert.equal(res.status, 404, res.text);
    assert.match((res.json as { error: { message: string } }).error.message, message);
  }
  const missing = await api.call("GET", "/v1/rollouts/r-20260101000000-abcdef");
  assert.equal(missing.status, 404);
  assert.equal((await api.call("POST", "/v1/rollouts/r-20260101000000-abcdef/pause")).status, 404);
  assert.equal((await api.call("GET", "/v1/rollouts/Bad.Id")).status, 400);
  // Nothing was locked by the failed starts.
  await start(api, { version: 1, strategy: "canary" });
});

controlTest("a reader may list and read rollouts but not start or change them", async ({
  api,
  nats,
}) => {
  await webWithTwoVersions(api, nats);
  const refused = await api.call("POST", "/v1/configs/web/rollouts", {
    body: { version: 2, strategy: "canary" },
    token: READER_TOKEN,
  });
  assert.equal(refused.status, 403);
  const { id } = await start(api, { version: 2, strategy: "canary" });
  assert.equal(
    (await api.call("POST", `/v1/rollouts/${id}/abort`, { token: READER_TOKEN })).status,
    403,
  );
  await api.ok(200, "GET", `/v1/rollouts/${id}`, { token: READER_TOKEN });
  const { rollouts } = RolloutList.parse(
    await api.ok(200, "GET", "/v1/rollouts", { token: READER_TOKEN }),
  );
  assert.deepEqual(rollouts.map((r) => [r.id, r.state]), [[id, "running"]]);
});

controlTest("an active key left by a rollout that already ended does not block a new one", async ({
  api,
  nats,
}) => {
  await webWithTwoVersions(api, nats);
  const first = await start(api, { version: 2, strategy: "immediate" });
  // The coordinator finished it but stopped before deleting the active key.
  const kv = await nats.kv(Buckets.rollouts);
  const entry = await kv.get(first.id);
  await kv.update(
    first.id,
    JSON.stringify({ ...first, state: "succeeded" }),
    entry!.revision,
  );
  const second = await start(api, { version: 1, strategy: "immediate" });
  assert.deepEqual((await kv.get(activeRolloutKey("web")))?.json(), { rolloutId: second.id });
});
