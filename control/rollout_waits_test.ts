import assert from "node:assert/strict";
import type { AtlasNats } from "@atlas/store";
import { Buckets, RolloutRecord } from "@atlas/core";
import { AuditList, RolloutList, RolloutView } from "./api.ts";
import { type Api, controlTest, createConfig, holdLeases, publish } from "./testing.ts";

async function web(api: Api): Promise<void> {
  await createConfig(api, "web");
  await publish(api, "web", { n: 1 });
}

function messageOf(json: unknown): string {
  return (json as { error: { message: string } }).error.message;
}

/** Plays the coordinator: rewrites region `region` of the rollout's progress. */
async function progress(
  nats: AtlasNats,
  id: string,
  region: string,
  change: Record<string, unknown>,
): Promise<void> {
  const kv = await nats.kv(Buckets.rollouts);
  const entry = await kv.get(id);
  const r = RolloutRecord.parse(entry!.json());
  r.regions[region] = { ...r.regions[region]!, ...change };
  await kv.update(id, JSON.stringify(r), entry!.revision);
}

controlTest("a rollout is refused while a region of it has no live coordinator", async ({
  api,
  nats,
}) => {
  await web(api);
  await holdLeases(nats, ["us-east"]);
  await (await nats.kv(Buckets.leases)).put("eu-west", JSON.stringify({ holder: "", term: 2 }));
  const refused = await api.call("POST", "/v1/configs/web/rollouts", {
    body: { version: 1, strategy: "canary" },
  });
  assert.equal(refused.status, 409);
  const message = messageOf(refused.json);
  assert.match(
    message,
    /^No live coordinator in eu-west \(no live coordinator since \S+ \(released\)\)/,
  );
  assert.doesNotMatch(message, /us-east \(/);
  assert.match(
    message,
    /`deno task coordinator --region eu-west --signing-key <file> --nats <url>`/,
  );
  assert.match(message, /"allowNoCoordinator": true \(CLI --allow-no-coordinator\)/);
  // Nothing was locked: only us-east, where a coordinator leads, starts.
  await api.ok(201, "POST", "/v1/configs/web/rollouts", {
    body: { version: 1, strategy: "canary", regions: ["us-east"] },
  });

  await createConfig(api, "api");
  await publish(api, "api", { n: 1 });
  await (await nats.kv(Buckets.leases)).delete("us-east");
  const none = await api.call("POST", "/v1/configs/api/rollouts", {
    body: { version: 1, stages: [{ regions: ["us-east"] }] },
  });
  assert.equal(none.status, 409);
  assert.match(messageOf(none.json), /us-east \(no live coordinator since/);
  const forced = RolloutRecord.parse(
    await api.ok(201, "POST", "/v1/configs/api/rollouts", {
      body: { version: 1, stages: [{ regions: ["us-east"] }], allowNoCoordinator: true },
    }),
  );
  const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit?config=api"));
  assert.equal(events.find((e) => e.action === "rollout.start")?.details.allowNoCoordinator, true);

  const view = RolloutView.parse(await api.ok(200, "GET", `/v1/rollouts/${forced.id}`));
  assert.equal(view.waiting.length, 1);
  assert.equal(view.waiting[0]?.for, "coordinator");
  assert.match(view.waiting[0]!.detail, /^no live coordinator since .*: start one with `deno task/);
});

controlTest("a region that never had a coordinator is named as such", async ({ api }) => {
  await web(api);
  const refused = await api.call("POST", "/v1/configs/web/rollouts", {
    body: { version: 1, strategy: "immediate" },
  });
  assert.equal(refused.status, 409);
  assert.match(
    messageOf(refused.json),
    /^No live coordinator in us-east \(no coordinator has ever led it\), eu-west \(no coordinator has ever led it\)/,
  );
});

/**
 * A one-stage rollout of `web` v1 over us-east and eu-west, both leases held, and what its
 * view says each region waits for (`[region, for, detail]`).
 */
async function twoRegionRollout(
  api: Api,
  nats: AtlasNats,
  bakeSeconds: number,
) {
  await web(api);
  await holdLeases(nats, ["us-east", "eu-west"]);
  const r = RolloutRecord.parse(
    await api.ok(201, "POST", "/v1/configs/web/rollouts", {
      body: { version: 1, stages: [{ regions: ["us-east", "eu-west"], bakeSeconds }] },
    }),
  );
  const waits = async () =>
    RolloutView.parse(await api.ok(200, "GET", `/v1/rollouts/${r.id}`)).waiting
      .map((w) => [w.region, w.for, w.detail]);
  return { r, waits };
}

controlTest("a running rollout says what each region of its stage waits for", async ({
  api,
  nats,
}) => {
  const { r, waits } = await twoRegionRollout(api, nats, 60);
  const started = new Date().toISOString();
  await progress(nats, r.id, "us-east", {
    stage: 0,
    stageStartedAt: started,
    targeted: 4,
    applied: 1,
    pending: 2,
    failed: 1,
  });
  const healthy = "2026-01-02T03:04:05.000Z";
  await progress(nats, r.id, "eu-west", {
    stage: 0,
    targeted: 2,
    applied: 2,
    healthySince: healthy,
  });
  assert.deepEqual(await waits(), [
    ["us-east", "acks", "1 of 4 targeted agents applied (2 pending, 1 failed)"],
    ["eu-west", "bake", "gates hold; baking until 2026-01-02T03:05:05.000Z"],
  ]);
  const view = RolloutView.parse(await api.ok(200, "GET", `/v1/rollouts/${r.id}`));
  assert.equal(view.waiting[0]?.since, started);
  assert.equal(view.waiting[1]?.until, "2026-01-02T03:05:05.000Z");

  await progress(nats, r.id, "us-east", {
    targeted: 0,
    applied: 0,
    pending: 0,
    failed: 0,
    note: "no agent in us-east manages web: nothing to do",
  });
  await progress(nats, r.id, "eu-west", { doneStage: 0 });
  assert.deepEqual(await waits(), [
    ["us-east", "nothing", "no agent in us-east manages web: nothing to do"],
  ]);
  // The list carries it too.
  const { rollouts } = RolloutList.parse(await api.ok(200, "GET", "/v1/rollouts"));
  assert.deepEqual(rollouts[0]?.waiting.map((w) => w.for), ["nothing"]);

  await api.ok(200, "POST", `/v1/rollouts/${r.id}/pause`);
  assert.deepEqual(await waits(), [], "only running rollouts wait");
});

controlTest("once every stage is done, the regions still to make it active are named", async ({
  api,
  nats,
}) => {
  const { r, waits } = await twoRegionRollout(api, nats, 0);
  await progress(nats, r.id, "us-east", { doneStage: 0 });
  await progress(nats, r.id, "eu-west", { doneStage: 0 });
  assert.deepEqual(
    await waits(),
    ["us-east", "eu-west"].map((region) => [
      region,
      "coordinator",
      `every stage done: coordinator test-${region} makes v1 active in ${region} at its next step`,
    ]),
  );
  await progress(nats, r.id, "us-east", { settle: "promoted" });
  await progress(nats, r.id, "eu-west", { settle: "promoting" });
  assert.deepEqual(await waits(), [
    ["eu-west", "coordinator", "coordinator test-eu-west is making v1 active in eu-west"],
  ]);
  await (await nats.kv(Buckets.leases)).put("eu-west", JSON.stringify({ holder: "", term: 2 }));
  const [dead] = await waits();
  assert.match(String(dead?.[2]), /^every stage done, but no live coordinator since .*make v1/);
  // Committed: a pause is refused, and says why.
  const paused = await api.call("POST", `/v1/rollouts/${r.id}/pause`);
  assert.equal(paused.status, 409);
  assert.match(messageOf(paused.json), /it is completing: every stage is done/);
});

controlTest("preflight puts a verifying stage over every region first", async ({
  api,
  nats,
}) => {
  await web(api);
  await holdLeases(nats, ["us-east", "eu-west"]);
  const planned = RolloutRecord.parse(
    await api.ok(201, "POST", "/v1/configs/web/rollouts", {
      body: {
        version: 1,
        strategy: { name: "canary", canaryPercent: 20, bakeSeconds: 5 },
        regions: ["eu-west", "us-east"],
        gates: { maxFailureRatio: 0.1 },
        preflight: true,
      },
    }),
  );
  assert.deepEqual(
    planned.stages.map((s) => [s.regions, s.percent, s.bakeSeconds, s.preflight ?? false]),
    [
      [["eu-west", "us-east"], 100, 0, true],
      [["eu-west"], 20, 5, false],
      [["eu-west"], 100, 5, false],
      [["us-east"], 100, 5, false],
    ],
  );
  assert.equal(planned.stages[0]?.gates.maxFailureRatio, 0.1);
  await api.ok(200, "POST", `/v1/rollouts/${planned.id}/abort`);

  const staged = RolloutRecord.parse(
    await api.ok(201, "POST", "/v1/configs/web/rollouts", {
      body: {
        version: 1,
        stages: [
          { regions: ["us-east"], percent: 50, gates: { maxFailureRatio: 0.2 } },
          { regions: ["eu-west", "us-east"] },
        ],
        preflight: true,
      },
    }),
  );
  assert.deepEqual(staged.stages.map((s) => [s.regions, s.percent, s.preflight ?? false]), [
    [["us-east", "eu-west"], 100, true],
    [["us-east"], 50, false],
    [["eu-west", "us-east"], 100, false],
  ]);
  assert.equal(staged.stages[0]?.gates.maxFailureRatio, 0.2);
  await api.ok(200, "POST", `/v1/rollouts/${staged.id}/abort`);

  const twice = await api.call("POST", "/v1/configs/web/rollouts", {
    body: { version: 1, stages: [{ regions: ["us-east"], preflight: true }], preflight: true },
  });
  assert.equal(twice.status, 400);
  assert.match(messageOf(twice.json), /already have a preflight stage/);
});

controlTest("the canary is the first region given, else the region added first", async ({
  api,
  nats,
}) => {
  await web(api);
  await holdLeases(nats, ["us-east", "eu-west", "ap-south"]);
  await api.ok(201, "PUT", "/v1/regions/ap-south");
  const canary = async (body: Record<string, unknown>) => {
    const r = RolloutRecord.parse(
      await api.ok(201, "POST", "/v1/configs/web/rollouts", { body: { version: 1, ...body } }),
    );
    await api.ok(200, "POST", `/v1/rollouts/${r.id}/abort`);
    return r.stages.map((s) => s.regions.join("+"));
  };
  // us-east and eu-west were provisioned in that order, ap-south last: not by name.
  assert.deepEqual(await canary({ strategy: "canary" }), [
    "us-east",
    "us-east",
    "eu-west",
    "ap-south",
  ]);
  assert.deepEqual(await canary({ strategy: "canary", regions: ["ap-south", "us-east"] }), [
    "ap-south",
    "ap-south",
    "us-east",
  ]);
  const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit?config=web"));
  assert.deepEqual(events.find((e) => e.action === "rollout.start")?.details.regions, [
    "ap-south",
    "us-east",
  ]);
});

controlTest("unknown fields of strategies, stages and gates are refused, by name", async ({
  api,
  nats,
}) => {
  await web(api);
  await holdLeases(nats, ["us-east", "eu-west"]);
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { strategy: { name: "canary", canaryPercnt: 50 } },
      /\/strategy: Unrecognized key: "canaryPercnt"/,
    ],
    [{ stages: [{ regions: ["us-east"], percnt: 5 }] }, /\/stages\/0: Unrecognized key: "percnt"/],
    [
      { stages: [{ regions: ["us-east"], gates: { maxFailure: 0.5 } }] },
      /\/stages\/0\/gates: Unrecognized key: "maxFailure"/,
    ],
    [{ strategy: "canary", gates: { ackTimeout: 5 } }, /\/gates: Unrecognized key: "ackTimeout"/],
    [
      { strategy: "canary", gates: { metrics: [{ query: "up", max: 1, min: 0 }] } },
      /\/gates\/metrics\/0: give exactly one of max or min/,
    ],
    [
      { stages: [{ regions: ["us-east"], gates: { metrics: [{ query: "up", max: 1, for: 5 }] } }] },
      /\/stages\/0\/gates\/metrics\/0: Unrecognized key: "for"/,
    ],
  ];
  for (const [body, message] of cases) {
    const res = await api.call("POST", "/v1/configs/web/rollouts", {
      body: { version: 1, ...body },
    });
    assert.equal(res.status, 400, res.text);
    assert.match(messageOf(res.json), message);
  }
  const { rollouts } = RolloutList.parse(await api.ok(200, "GET", "/v1/rollouts"));
  assert.deepEqual(rollouts, []);
});
