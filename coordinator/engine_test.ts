import assert from "node:assert/strict";
import { agentRecord, enrolAgent, natsTest, type NatsTestContext, waitFor } from "@atlas/testkit";
import {
  activeRolloutKey,
  agentKey,
  Buckets,
  inCandidateShare,
  planStages,
  RolloutRecord,
  RolloutStage,
  Strategy,
} from "@atlas/core";
import { listKeys, provisionRegion, readPointer } from "@atlas/store";
import {
  auditActions,
  coordinator,
  FakeClock,
  type Fleet,
  hungAgent,
  readOr,
  rollout,
  startFleet,
  startRollout,
  V1,
  V2,
} from "./test_helpers.ts";

/** Agents managing web on v1 in each region (`<region>-<i>`); v2 stored, not active. */
function fleet(
  ctx: NatsTestContext,
  perRegion: Record<string, number>,
  reload?: (id: string) => string | undefined,
): Promise<Fleet> {
  return startFleet(
    ctx,
    Object.entries(perRegion).flatMap(([region, n]) =>
      Array.from({ length: n }, (_, i) => {
        const id = `${region}-${i}`;
        const cmd = reload?.(id);
        return { id, region, configs: { web: cmd ? { reload: cmd } : {} } };
      })
    ),
  );
}

/** A rollout id whose 50 % share of `ids` is neither empty nor everyone. */
function partialId(ids: string[]): string {
  for (let i = 0;; i++) {
    const id = `r-test-${i}`;
    const n = ids.filter((a) =>
      inCandidateShare(a, id, { percent: 50, agents: [], exclude: [] })
    ).length;
    if (n > 0 && n < ids.length) return id;
  }
}

natsTest("a canary reaches exactly its share first, then all, region by region", async (ctx) => {
  await using f = await fleet(ctx, { "us-east": 6, "eu-west": 4 });
  const clock = new FakeClock();
  const us = await coordinator(ctx, "us-east", clock);
  const eu = await coordinator(ctx, "eu-west", clock);
  const east = f.agents.filter((a) => a.region === "us-east");
  const id = partialId(east.map((a) => a.id));
  await startRollout(
    ctx.nats,
    id,
    planStages(Strategy.parse({ name: "canary", canaryPercent: 50, bakeSeconds: 2 }), [
      "us-east",
      "eu-west",
    ]),
  );
  const tick = async () => {
    await us.step();
    await eu.step();
  };
  await tick();
  const chosen = east.filter((a) =>
    inCandidateShare(a.id, id, { percent: 50, agents: [], exclude: [] })
  );
  for (const a of f.agents) {
    const want = chosen.includes(a) ? V2 : V1;
    await waitFor(`${a.id} on ${want}`, async () => (await readOr(a.files.web!)) === want);
  }
  // Through the bake only with time: without the clock moving, the canary stage holds.
  await waitFor("canary acked", async () => {
    await tick();
    return (await rollout(ctx.nats, id)).regions["us-east"]!.applied === chosen.length;
  });
  await tick();
  assert.equal((await rollout(ctx.nats, id)).stage, 0, "the bake has not passed");
  await waitFor("succeeded", async () => {
    clock.t += 1_000;
    await tick();
    return (await rollout(ctx.nats, id)).state === "succeeded";
  }, { timeoutMs: 30_000, intervalMs: 50 });
  // Each region's pointer names v2 before the rollout reads succeeded (stages.ts).
  for (const a of f.agents) {
    await waitFor(`${a.id} on v2`, async () => (await readOr(a.files.web!)) === V2);
  }
  for (const region of ["us-east", "eu-west"]) {
    const p = (await readPointer(ctx.nats, region, "web"))!.pointer;
    assert.equal(p.active.version, 2);
    assert.equal(p.candidate, undefined, "promoted: no candidate left");
  }
  const stages = (await auditActions(ctx.nats)).filter((a) => a.startsWith("rollout.stage"));
  assert.deepEqual(stages, [
    "rollout.stage@us-east",
    "rollout.stage@us-east",
    "rollout.stage@eu-west",
  ]);
  assert.equal(
    await (await ctx.nats.kv(Buckets.rollouts)).get(activeRolloutKey("web")).then((e) =>
      e?.operation
    ),
    "DEL",
  );
});

natsTest(
  "a version agents fail trips the gate: rolled back, quarantined, later regions untouched",
  async (ctx) => {
    // Two of four us-east agents fail to reload v2.
    await using f = await fleet(
      ctx,
      { "us-east": 4, "eu-west": 2 },
      (id) => (id === "us-east-1" || id === "us-east-3" ? 'test "$ATLAS_VERSION" != 2' : undefined),
    );
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    const eu = await coordinator(ctx, "eu-west", clock);
    const euBefore = (await readPointer(ctx.nats, "eu-west", "web"))!.pointer.seq;
    await startRollout(ctx.nats, "r-bad", [
      RolloutStage.parse({ regions: ["us-east"], gates: { maxFailureRatio: 0.25 } }),
      RolloutStage.parse({ regions: ["eu-west"] }),
    ]);
    await waitFor("rolled back", async () => {
      await us.step();
      await eu.step();
      return (await rollout(ctx.nats, "r-bad")).state === "rolled_back";
    });
    const r = await rollout(ctx.nats, "r-bad");
    assert.match(r.transitions.at(-1)!.reason, /2 of 4 agents failed/);
    const p = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
    assert.equal(p.active.version, 1);
    assert.equal(p.candidate, undefined);
    for (const a of f.agents) {
      await waitFor(`${a.id} back on v1`, async () => (await readOr(a.files.web!)) === V1);
    }
    assert.equal(
      (await readPointer(ctx.nats, "eu-west", "web"))!.pointer.seq,
      euBefore,
      "eu-west never saw it",
    );
    assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), [
      "us-east.us-east-1.web",
      "us-east.us-east-3.web",
    ]);
    const alert = await (await ctx.nats.kv(Buckets.alerts)).get("rollback-r-bad");
    assert.equal((alert?.json() as { kind: string }).kind, "rolled_back");
    assert.ok((await auditActions(ctx.nats)).includes("rollout.rolled_back@us-east"));
  },
);

natsTest(
  "when the leader dies mid-rollout the other replica finishes it, no stage twice",
  async (ctx) => {
    await using _f = await fleet(ctx, { "us-east": 3 });
    const clock = new FakeClock();
    const leaseClock = new FakeClock(0);
    const tick = (ms: number) => {
      clock.t += ms;
      leaseClock.t += ms;
    };
    const a = await coordinator(ctx, "us-east", clock, { replica: "a", leaseClock });
    const b = await coordinator(ctx, "us-east", clock, { replica: "b", leaseClock });
    await startRollout(
      ctx.nats,
      "r-ha",
      planStages(Strategy.parse({ name: "linear", steps: 3, bakeSeconds: 1 }), ["us-east"]),
    );
    await a.step();
    await b.step();
    assert.ok(a.lease.isLeader && !b.lease.isLeader);
    await waitFor("stage 1 done under a", async () => {
      tick(500);
      await a.step();
      await b.step();
      return (await rollout(ctx.nats, "r-ha")).stage >= 1;
    });
    // a is killed: it never steps again. b takes over once a's lease runs out.
    await waitFor("succeeded under b", async () => {
      tick(1_000);
      await b.step();
      return (await rollout(ctx.nats, "r-ha")).state === "succeeded";
    }, { timeoutMs: 30_000, intervalMs: 50 });
    assert.ok(b.lease.isLeader && b.lease.term === 2);
    const stages = (await auditActions(ctx.nats)).filter((x) => x.startsWith("rollout.stage"));
    assert.equal(stages.length, 3, `one audit event per stage: ${stages.join(", ")}`);
  },
);

natsTest("a paused rollout holds; an aborted one restores the stable version", async (ctx) => {
  await using f = await fleet(ctx, { "us-east": 2 });
  const clock = new FakeClock();
  const c = await coordinator(ctx, "us-east", clock);
  assert.equal(c.following, false, "nothing followed before the first step");
  await c.step();
  await waitFor("the leader follows acks and records", () => c.following);
  await startRollout(
    ctx.nats,
    "r-pa",
    planStages(Strategy.parse({ name: "linear", steps: 2, bakeSeconds: 1 }), ["us-east"]),
  );
  await c.step();
  const kv = await ctx.nats.kv(Buckets.rollouts);
  const set = async (state: "paused" | "aborted") => {
    const e = await kv.get("r-pa");
    const r = RolloutRecord.parse(e!.json());
    await kv.update("r-pa", JSON.stringify({ ...r, state }), e!.revision);
  };
  await set("paused");
  const seq = (await readPointer(ctx.nats, "us-east", "web"))!.pointer.seq;
  for (let i = 0; i < 5; i++) {
    clock.t += 10_000;
    await c.step();
  }
  assert.equal((await rollout(ctx.nats, "r-pa")).stage, 0, "no progress while paused");
  assert.equal(
    (await readPointer(ctx.nats, "us-east", "web"))!.pointer.seq,
    seq,
    "pointer untouched",
  );
  await set("aborted");
  await c.step();
  const p = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
  assert.equal(p.candidate, undefined);
  assert.equal(p.active.version, 1);
  for (const a of f.agents) {
    await waitFor(`${a.id} on v1`, async () => (await readOr(a.files.web!)) === V1);
  }
});

natsTest("a stage that cannot complete raises a stalled alert and keeps running", async (ctx) => {
  await using _f = await fleet(ctx, { "us-east": 1 });
  const clock = new FakeClock();
  const c = await coordinator(ctx, "us-east", clock);
  // Alive (it heartbeats) but it never applies anything: a hung host.
  await hungAgent(ctx.nats, "us-east", "us-east-hung", ["web"], clock);
  await startRollout(ctx.nats, "r-stall", [
    RolloutStage.parse({
      regions: ["us-east"],
      gates: { maxFailureRatio: 1, ackTimeoutSeconds: 10 },
    }),
  ]);
  await waitFor("online agent applied", async () => {
    await c.step();
    return (await rollout(ctx.nats, "r-stall")).regions["us-east"]!.applied === 1;
  });
  clock.t += 25_000; // past twice (ack timeout + bake)
  await hungAgent(ctx.nats, "us-east", "us-east-hung", ["web"], clock);
  await c.step();
  const alert = await (await ctx.nats.kv(Buckets.alerts)).get("stalled-r-stall-us-east-0");
  assert.equal((alert?.json() as { kind: string } | undefined)?.kind, "stalled");
  assert.equal((await rollout(ctx.nats, "r-stall")).state, "running");
});

natsTest("a wall-clock step does not move the lease: no second leader", async (ctx) => {
  const clock = new FakeClock();
  const leaseClock = new FakeClock(0);
  const a = await coordinator(ctx, "us-east", clock, { replica: "a", leaseClock });
  const b = await coordinator(ctx, "us-east", clock, { replica: "b", leaseClock });
  await a.step();
  await b.step();
  clock.t += 3_600_000; // NTP steps the wall clock an hour ahead; no time passes
  await b.step();
  assert.ok(a.lease.isLeader && !b.lease.isLeader, "a still leads alone");
  leaseClock.t += 6_000; // a stops renewing for longer than the ttl
  await b.step();
  assert.ok(b.lease.isLeader, "b takes over on the monotonic clock");
});

natsTest("with no bake, the step that finds a stage's gates met starts the next", async (ctx) => {
  await using f = await fleet(ctx, { "us-east": 4 });
  const us = await coordinator(ctx, "us-east", new FakeClock());
  const id = partialId(f.agents.map((a) => a.id));
  await startRollout(ctx.nats, id, [
    RolloutStage.parse({ regions: ["us-east"], percent: 50 }),
    RolloutStage.parse({ regions: ["us-east"], percent: 100 }),
  ]);
  // Checked after every step: the first step that leaves stage 1 has also moved the pointer.
  await waitFor("on to stage 2", async () => {
    await us.step();
    return (await rollout(ctx.nats, id)).stage === 1;
  });
  const r = await rollout(ctx.nats, id);
  assert.equal(r.regions["us-east"]!.stage, 1, "stage 2 began in the same step");
  const p = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
  assert.equal(p.candidate?.selector.percent, 100);
});

natsTest("a leader judges its records against the enrolments before any rollout", async (ctx) => {
  // A mixed region: one enrolled agent, one whose record came without an enrolment. Its
  // heartbeat must not count; the leader finds that out once it follows, not at the first
  // rollout's step (which judged every record at once: ~8 ms at 10 000).
  await provisionRegion(ctx.nats, "us-east");
  const agents = await ctx.nats.kv(Buckets.agents);
  for (const id of ["enrolled", "stranger"]) {
    await agents.put(
      agentKey("us-east", id),
      JSON.stringify(agentRecord(id, "us-east", { web: {} })),
    );
  }
  await enrolAgent(ctx.nats, "us-east", "enrolled");
  const lines: string[] = [];
  await using c = await coordinator(ctx, "us-east", new FakeClock(), {
    log: (line) => lines.push(line),
  });
  const warned = (id: string) =>
    lines.filter((l) => l.includes("not enrolled") && l.includes(`agent=${id}`)).length;
  await waitFor("the coordinator following", async () => {
    await c.step();
    return c.following;
  });
  await c.step();
  assert.equal(warned("stranger"), 1, `no rollout, yet judged:\n${lines.join("\n")}`);
  assert.equal(warned("enrolled"), 0);
  await c.step();
  await c.step();
  assert.equal(warned("stranger"), 1, "warned once");
  assert.equal(await listKeys(ctx.nats, Buckets.rollouts, "*").then((k) => k.length), 0);
});
