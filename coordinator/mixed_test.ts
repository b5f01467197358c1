/**
 * Rollouts on fleets as they are: hosts that manage different configs, hosts that left,
 * a coordinator agents do not trust, hand edits healed before any heartbeat, preflights.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import {
  agentKey,
  type AgentRecord,
  Buckets,
  generateSigningKey,
  planStages,
  pointerBucket,
  type PointerRecord,
  RolloutStage,
  Signer,
  Strategy,
} from "@atlas/core";
import { type AtlasNats, listKeys, readPointer } from "@atlas/store";
import {
  type AgentSpec,
  coordinator,
  FakeClock,
  hungAgent,
  readOr,
  rollout,
  startFleet,
  startRollout,
  stepUntil,
  succeeded,
  V1,
  V2,
  withKvMember,
} from "./test_helpers.ts";

const web = (n: number, region = "us-east", extra: AgentSpec["configs"] = {}): AgentSpec[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${region}-web-${i}`,
    region,
    configs: { web: {}, ...extra },
  }));

natsTest(
  "a canary on a mixed region counts only the agents that manage the config",
  async (ctx) => {
    await using f = await startFleet(ctx, [
      ...web(7),
      ...Array.from({ length: 3 }, (_, i) => ({
        id: `cache-${i}`,
        region: "us-east",
        configs: { cache: {} },
      })),
      { id: "batch-0", region: "us-east", configs: {} },
      { id: "eu-cache-0", region: "eu-west", configs: { cache: {} } },
    ]);
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    const eu = await coordinator(ctx, "eu-west", clock);
    await startRollout(
      ctx.nats,
      "r-mixed",
      planStages(
        Strategy.parse({ name: "canary", canaryPercent: 30, bakeSeconds: 0 }),
        ["us-east"],
        { ackTimeoutSeconds: 20 },
      ),
    );
    await stepUntil("canary stage judged", [us, eu], async () => {
      const r = await rollout(ctx.nats, "r-mixed");
      return r.stage > 0 || r.state !== "running";
    }, { clock, advanceMs: 100 });
    const first = (await rollout(ctx.nats, "r-mixed")).transitions;
    assert.ok(first.every((t) => t.to !== "rolled_back"), JSON.stringify(first));
    await stepUntil("succeeded", [us, eu], succeeded(ctx.nats, "r-mixed"), {
      clock,
      advanceMs: 100,
    });
    const r = await rollout(ctx.nats, "r-mixed");
    assert.equal(r.regions["us-east"]!.targeted, 7, "every web member, no other agent");
    assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), [], "nobody quarantined");
    for (const a of f.agents) {
      for (const [name, file] of Object.entries(a.files)) {
        assert.equal(await readOr(file), name === "web" ? V2 : V1, `${a.id} ${name}`);
      }
    }
  },
);

natsTest(
  "an ack that comes after the stage was judged counts at the next step (the judgement is kept)",
  async (ctx) => {
    // A mixed region: one web host acks at once, one reloads for 2 s, one manages cache.
    await using _f = await startFleet(ctx, [
      { id: "fast", region: "us-east", configs: { web: {} } },
      { id: "slow", region: "us-east", configs: { web: { reload: "sleep 2" } } },
      { id: "cache-0", region: "us-east", configs: { cache: {} } },
    ]);
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    await startRollout(ctx.nats, "r-late", [RolloutStage.parse({ regions: ["us-east"] })]);
    // Judged while the slow host reloads: its ack comes between two judgements.
    await stepUntil("one of two applied, one pending", [us], async () => {
      const r = await rollout(ctx.nats, "r-late");
      const p = r.regions["us-east"]!;
      return p.applied === 1 && p.pending === 1;
    }, { clock, advanceMs: 100 });
    await stepUntil("succeeded", [us], succeeded(ctx.nats, "r-late"), { clock, advanceMs: 100 });
    const p = (await rollout(ctx.nats, "r-late")).regions["us-east"]!;
    assert.equal(p.targeted, 2, "the cache host is not targeted");
    assert.equal(p.applied, 2);
  },
);

natsTest("a canary share is exact: 30 % of 11 members is 4, 1 % is 1", async (ctx) => {
  await using f = await startFleet(ctx, [
    ...web(11),
    { id: "cache-0", region: "us-east", configs: { cache: {} } },
    { id: "cache-1", region: "us-east", configs: { cache: {} } },
  ]);
  const clock = new FakeClock();
  const us = await coordinator(ctx, "us-east", clock);
  for (const [percent, want] of [[30, 4], [1, 1]] as const) {
    const id = `r-share-${percent}`;
    await startRollout(ctx.nats, id, [
      RolloutStage.parse({ regions: ["us-east"], percent, bakeSeconds: 3600 }),
    ]);
    await stepUntil(`${percent} % applied`, [us], async () => {
      const p = (await rollout(ctx.nats, id)).regions["us-east"]!;
      return p.targeted > 0 && p.applied === p.targeted;
    }, { clock, advanceMs: 100 });
    const p = (await rollout(ctx.nats, id)).regions["us-east"]!;
    const onV2 = [];
    for (const a of f.agents) {
      if (a.files.web && (await readOr(a.files.web)) === V2) onV2.push(a.id);
    }
    assert.equal(p.targeted, want, `${percent} % of the 11 web agents`);
    assert.equal(onV2.length, want, `exactly the targeted agents run v2 (${onV2})`);
    // Abort: the stable version comes back before the next share.
    const kv = await ctx.nats.kv(Buckets.rollouts);
    const e = await kv.get(id);
    await kv.update(
      id,
      JSON.stringify({ ...(e!.json() as object), state: "aborted" }),
      e!.revision,
    );
    await stepUntil("restored", [us], async () => {
      for (const a of f.agents) {
        if (a.files.web && (await readOr(a.files.web)) !== V1) return false;
      }
      return true;
    });
    await (await ctx.nats.kv(Buckets.rollouts)).delete("active.web");
  }
});

natsTest(
  "a region where no agent manages the config completes its stage at once and says so",
  async (ctx) => {
    await using _f = await startFleet(ctx, [
      ...web(2),
      { id: "eu-cache-0", region: "eu-west", configs: { cache: {} } },
    ]);
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    const eu = await coordinator(ctx, "eu-west", clock);
    // eu-west has a web pointer (the fleet activates v1 in every region it is in), but no
    // agent there manages web.
    await startRollout(ctx.nats, "r-empty", [
      RolloutStage.parse({ regions: ["eu-west"], bakeSeconds: 3600 }),
      RolloutStage.parse({ regions: ["us-east"], bakeSeconds: 0 }),
    ]);
    await stepUntil("succeeded", [us, eu], async () => {
      return (await rollout(ctx.nats, "r-empty")).state === "succeeded";
    }, { clock, advanceMs: 100 });
    const r = await rollout(ctx.nats, "r-empty");
    assert.match(r.regions["eu-west"]!.note ?? "", /no agent in eu-west manages web/);
    assert.equal(r.regions["eu-west"]!.targeted, 0);
  },
);

natsTest(
  "hosts that left never fail a rollout; a live host that does not apply does",
  async (ctx) => {
    await using f = await startFleet(ctx, web(3));
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    await f.get("us-east-web-2").agent.close(); // a clean stop: says goodbye
    await hungAgent(ctx.nats, "us-east", "us-east-web-gone", ["web"], clock); // then silent
    const gates = { maxFailureRatio: 0, ackTimeoutSeconds: 10 };
    await startRollout(ctx.nats, "r-left", [
      RolloutStage.parse({ regions: ["us-east"], gates }),
    ]);
    await stepUntil("succeeded", [us], succeeded(ctx.nats, "r-left"), { clock, advanceMs: 1_000 });
    const p = (await rollout(ctx.nats, "r-left")).regions["us-east"]!;
    assert.equal(p.targeted, 2, "the two live agents");
    assert.equal(p.departed, 2, "the one that said goodbye and the silent one");
    assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), []);
    const gone = await (await ctx.nats.kv(Buckets.agents)).get(
      agentKey("us-east", "us-east-web-2"),
    );
    assert.ok((gone!.json() as { leftAt?: string }).leftAt, "the goodbye is recorded");

    // A host that keeps heartbeating but never applies is a failure, for web only.
    await (await ctx.nats.kv(Buckets.rollouts)).delete("active.web");
    await startRollout(ctx.nats, "r-hung", [
      RolloutStage.parse({ regions: ["us-east"], gates }),
    ]);
    await stepUntil("rolled back", [us], async () => {
      await hungAgent(ctx.nats, "us-east", "us-east-hung", ["web", "cache"], clock);
      return (await rollout(ctx.nats, "r-hung")).state === "rolled_back";
    }, { clock, advanceMs: 1_000 });
    assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), ["us-east.us-east-hung.web"]);
  },
);

natsTest(
  "a pending host that stops managing the config leaves the stage at the next step",
  async (ctx) => {
    await using _f = await startFleet(ctx, web(2));
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    // Live, manages web, never applies: the stage waits for it.
    await hungAgent(ctx.nats, "us-east", "us-east-hung", ["web"], clock);
    await startRollout(ctx.nats, "r-moved", [RolloutStage.parse({ regions: ["us-east"] })]);
    await stepUntil("two of three applied, one pending", [us], async () => {
      const p = (await rollout(ctx.nats, "r-moved")).regions["us-east"]!;
      return p.applied === 2 && p.pending === 1;
    }, { clock, advanceMs: 100 });
    // Its record now says it manages cache only (a mixed region again): no ack, no ping,
    // no host gone; only the record changed, and the kept judgement must hear of it.
    await hungAgent(ctx.nats, "us-east", "us-east-hung", ["cache"], clock);
    await stepUntil("succeeded", [us], succeeded(ctx.nats, "r-moved"), { clock, advanceMs: 100 });
    const p = (await rollout(ctx.nats, "r-moved")).regions["us-east"]!;
    assert.equal(p.targeted, 2, "the host that left web is not counted");
    assert.equal(p.pending, 0);
  },
);

natsTest(
  "a breach moves the pointer back before it quarantines, a slice per step, due ones counted",
  async (ctx) => {
    // Four web hosts fail v2's reload, one takes it; two cache hosts manage no web.
    const failing = ["w0", "w1", "w2", "w3"];
    await using _f = await startFleet(ctx, [
      ...failing.map((id) => ({
        id,
        region: "us-east",
        configs: { web: { reload: 'test "$ATLAS_VERSION" != 2' } },
      })),
      { id: "w4", region: "us-east", configs: { web: {} } },
      { id: "c0", region: "us-east", configs: { cache: {} } },
      { id: "c1", region: "us-east", configs: { cache: {} } },
    ]);
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock, { quarantineSlice: 1 });
    // Breached only once all four failed (4 of 5 > 0.7): the failing set is known.
    const stage = RolloutStage.parse({ regions: ["us-east"], gates: { maxFailureRatio: 0.7 } });
    await startRollout(ctx.nats, "r-bad", [stage]);
    await stepUntil("rolled back", [us], async () => {
      return (await rollout(ctx.nats, "r-bad")).state === "rolled_back";
    }, { clock, advanceMs: 100 });
    const quarantined = await listKeys(ctx.nats, Buckets.quarantine);
    assert.equal(quarantined.length, 1, "one quarantine in the breach's step (a slice of 1)");
    // When the server stored the pointer moved back, and the quarantine.
    const pointers = await ctx.nats.kv(pointerBucket("us-east"));
    let back: number | undefined;
    let hadCandidate = false;
    for await (const e of await pointers.history({ key: "web" })) {
      const candidate = e.operation === "PUT" && e.json<PointerRecord>().candidate;
      if (hadCandidate && !candidate) back ??= e.revision;
      hadCandidate ||= !!candidate;
    }
    const q = await (await ctx.nats.kv(Buckets.quarantine)).get(quarantined[0]!);
    assert.ok(back !== undefined && q, "the pointer was moved back, the quarantine written");
    assert.ok(
      await storedAtNs(ctx.nats, `KV_${Buckets.quarantine}`, q.revision) >
        await storedAtNs(ctx.nats, `KV_${pointerBucket("us-east")}`, back),
      "the pointer moved back before the first quarantine",
    );
    // A rollout started while three are due leaves them out, as if written.
    await startRollout(ctx.nats, "r-again", [stage]);
    await stepUntil("the new rollout succeeded", [us], succeeded(ctx.nats, "r-again"), {
      clock,
      advanceMs: 100,
    });
    const p = (await rollout(ctx.nats, "r-again")).regions["us-east"]!;
    assert.equal(p.targeted, 1, "w4 alone: the four failing hosts are quarantined or due");
    let staged: PointerRecord | undefined;
    for await (const e of await pointers.history({ key: "web" })) {
      const at = e.operation === "PUT" ? e.json<PointerRecord>() : undefined;
      if (at?.candidate?.rolloutId === "r-again") staged ??= at;
    }
    assert.deepEqual(
      staged?.candidate?.selector.exclude,
      failing,
      "the new stage left out all four at its start, two of them still due",
    );
    await stepUntil("every failing host quarantined", [us], async () => {
      return (await listKeys(ctx.nats, Buckets.quarantine)).length === failing.length;
    }, { clock, advanceMs: 100 });
    assert.deepEqual(
      await listKeys(ctx.nats, Buckets.quarantine),
      failing.map((id) => `us-east.${id}.web`),
      "the cache hosts and w4 are not quarantined",
    );
  },
);

natsTest("a quarantine write that fails stays due and is written at a later step", async (ctx) => {
  await using _f = await startFleet(ctx, [
    { id: "w0", region: "us-east", configs: { web: { reload: 'test "$ATLAS_VERSION" != 2' } } },
    { id: "w1", region: "us-east", configs: { web: {} } },
    { id: "c0", region: "us-east", configs: { cache: {} } },
  ]);
  // The quarantine bucket refuses the coordinator's first two writes (NATS busy).
  let refusals = 2;
  const lines: string[] = [];
  const us = await coordinator(ctx, "us-east", new FakeClock(), {
    log: (l) => lines.push(l),
    wrap: (nats) =>
      withKvMember(
        nats,
        Buckets.quarantine,
        "put",
        (put) => (...args) =>
          refusals-- > 0 ? Promise.reject(new Error("simulated: no responders")) : put(...args),
      ),
  });
  await startRollout(ctx.nats, "r-bad", [
    RolloutStage.parse({ regions: ["us-east"], gates: { maxFailureRatio: 0 } }),
  ]);
  await stepUntil("rolled back", [us], async () => {
    return (await rollout(ctx.nats, "r-bad")).state === "rolled_back";
  });
  assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), [], "refused, still due");
  assert.ok(lines.some((l) => l.includes("cannot write quarantines yet")), lines.join("\n"));
  await stepUntil("w0 quarantined at a later step", [us], async () => {
    return (await listKeys(ctx.nats, Buckets.quarantine)).length > 0;
  });
  assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), ["us-east.w0.web"]);
});

/** When `stream` stored message `seq`, in ns since the epoch (the server's clock). */
async function storedAtNs(nats: AtlasNats, stream: string, seq: number): Promise<bigint> {
  const m = await nats.jsm.streams.getMessage(stream, { seq });
  assert.ok(m, `${stream} holds no message ${seq}`);
  const [whole, fraction = ""] = m.timestamp.replace(/Z$/, "").split(".");
  return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n +
    BigInt(fraction.padEnd(9, "0").slice(0, 9));
}

natsTest("quarantine for one config does not fence the agent off another", async (ctx) => {
  const failWeb = 'test "$ATLAS_CONFIG" != web || test "$ATLAS_VERSION" != 2';
  await using f = await startFleet(ctx, [
    { id: "a0", region: "us-east", configs: { web: { reload: failWeb }, cache: {} } },
    { id: "a1", region: "us-east", configs: { web: {}, cache: {} } },
  ]);
  const clock = new FakeClock();
  const us = await coordinator(ctx, "us-east", clock);
  await startRollout(ctx.nats, "r-web", [
    RolloutStage.parse({ regions: ["us-east"], gates: { maxFailureRatio: 0 } }),
  ]);
  await stepUntil("web rolled back", [us], async () => {
    return (await rollout(ctx.nats, "r-web")).state === "rolled_back";
  }, { clock, advanceMs: 100 });
  assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), ["us-east.a0.web"]);
  await startRollout(ctx.nats, "r-cache", [
    RolloutStage.parse({ regions: ["us-east"], gates: { maxFailureRatio: 0 } }),
  ], "cache");
  await stepUntil("cache succeeded", [us], async () => {
    return (await rollout(ctx.nats, "r-cache")).state === "succeeded";
  }, { clock, advanceMs: 100 });
  const p = (await rollout(ctx.nats, "r-cache")).regions["us-east"]!;
  assert.equal(p.targeted, 2, "a0 takes cache although quarantined for web");
  assert.equal(await readOr(f.get("a0").files.cache!), V2);
  assert.equal(await readOr(f.get("a0").files.web!), V1);
});

natsTest(
  "a coordinator agents do not trust rolls back as untrusted and quarantines nobody",
  async (ctx) => {
    await using f = await startFleet(ctx, web(2));
    const clock = new FakeClock();
    const foreign = new Signer(generateSigningKey());
    const us = await coordinator(ctx, "us-east", clock, { signer: foreign });
    await startRollout(ctx.nats, "r-foreign", [
      RolloutStage.parse({ regions: ["us-east"], gates: { ackTimeoutSeconds: 3600 } }),
    ]);
    await stepUntil("rolled back", [us], async () => {
      return (await rollout(ctx.nats, "r-foreign")).state === "rolled_back";
    }, { clock, advanceMs: 100 });
    const r = await rollout(ctx.nats, "r-foreign");
    assert.match(
      r.transitions.at(-1)!.reason,
      /refused the pointer: its signature does not verify/,
    );
    assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), []);
    for (const a of f.agents) assert.equal(await readOr(a.files.web!), V1);
  },
);

natsTest("a hand edit healed in milliseconds still raises a drift alert", async (ctx) => {
  await using f = await startFleet(ctx, web(1));
  const clock = new FakeClock();
  const us = await coordinator(ctx, "us-east", clock);
  const a = f.agents[0]!;
  await Deno.writeTextFile(a.files.web!, '{"v":"edited by hand"}');
  // The heal is quick; the heartbeat that reports it follows within 1.5 s.
  await waitFor("restored, and the heal reported", async () => {
    if ((await readOr(a.files.web!)) !== V1) return false;
    const e = await (await ctx.nats.kv(Buckets.agents)).get(agentKey("us-east", a.id));
    return (e?.json() as AgentRecord | undefined)?.configs.web?.lastDriftHealed !== undefined;
  });
  clock.t += 10_001; // the next fleet scan
  await us.step();
  const e = await (await ctx.nats.kv(Buckets.alerts)).get(`drift-healed-us-east-${a.id}-web`);
  const alert = e!.json() as { kind: string; message: string; resolvedAt?: string };
  assert.equal(alert.kind, "drift");
  assert.match(alert.message, /restored to v1/);
  assert.equal(alert.resolvedAt, undefined);
  assert.ok(a.agent.stats.driftHealed >= 1);
});

natsTest(
  "a preflight stage verifies on every member without installing, then rolls out",
  async (ctx) => {
    await using f = await startFleet(ctx, [
      ...web(2),
      ...web(1, "eu-west"),
      { id: "cache-0", region: "us-east", configs: { cache: {} } },
    ]);
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    const eu = await coordinator(ctx, "eu-west", clock);
    const stages = planStages(
      Strategy.parse({ name: "canary", canaryPercent: 50, bakeSeconds: 0 }),
      ["us-east", "eu-west"],
      {},
      { preflight: true },
    );
    assert.equal(stages[0]!.preflight, true);
    await startRollout(ctx.nats, "r-pre", stages);
    await stepUntil("preflight done", [us, eu], async () => {
      const r = await rollout(ctx.nats, "r-pre");
      return r.regions["us-east"]!.doneStage >= 0 && r.regions["eu-west"]!.doneStage >= 0;
    }, { clock, advanceMs: 100 });
    const r = await rollout(ctx.nats, "r-pre");
    assert.equal(r.regions["us-east"]!.verified, 2);
    assert.equal(r.regions["eu-west"]!.verified, 1);
    for (const a of f.agents) {
      for (const file of Object.values(a.files)) assert.equal(await readOr(file), V1, a.id);
    }
    await stepUntil("succeeded", [us, eu], async () => {
      return (await rollout(ctx.nats, "r-pre")).state === "succeeded";
    }, { clock, advanceMs: 100 });
    for (const a of f.agents) {
      if (a.files.web) assert.equal(await readOr(a.files.web), V2, a.id);
    }
    assert.equal((await readPointer(ctx.nats, "eu-west", "web"))!.pointer.active.version, 2);
  },
);

natsTest(
  "a preflight that fails ends the rollout with no live file changed anywhere",
  async (ctx) => {
    const refuseV2 = 'test "$ATLAS_VERSION" != 2';
    await using f = await startFleet(ctx, [
      ...web(2),
      { id: "us-east-web-picky", region: "us-east", configs: { web: { verify: refuseV2 } } },
    ]);
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    await startRollout(
      ctx.nats,
      "r-pre-bad",
      planStages(Strategy.parse({ name: "immediate" }), ["us-east"], {}, { preflight: true }),
    );
    await stepUntil("rolled back", [us], async () => {
      return (await rollout(ctx.nats, "r-pre-bad")).state === "rolled_back";
    }, { clock, advanceMs: 100 });
    const r = await rollout(ctx.nats, "r-pre-bad");
    assert.equal(r.stage, 0, "ended in the preflight");
    assert.match(r.transitions.at(-1)!.reason, /us-east-web-picky rejected/);
    assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), [], "the version, not a host");
    for (const a of f.agents) assert.equal(await readOr(a.files.web!), V1, a.id);
    for (const a of f.agents) assert.equal(a.agent.stats.applies, 1, `${a.id}: only v1`);
  },
);

natsTest(
  "a rollback alert stays open until a later rollout of the config succeeds",
  async (ctx) => {
    const failV2 = 'test "$ATLAS_VERSION" != 2';
    await using f = await startFleet(ctx, [
      { id: "a0", region: "us-east", configs: { web: { reload: failV2 } } },
    ]);
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    await startRollout(ctx.nats, "r-fails", [RolloutStage.parse({ regions: ["us-east"] })]);
    await stepUntil("rolled back", [us], async () => {
      return (await rollout(ctx.nats, "r-fails")).state === "rolled_back";
    }, { clock, advanceMs: 100 });
    const alerts = await ctx.nats.kv(Buckets.alerts);
    const open = async () =>
      (((await alerts.get("rollback-r-fails"))?.json()) as { resolvedAt?: string }).resolvedAt ===
        undefined;
    for (let i = 0; i < 3; i++) {
      clock.t += 60_000; // scans come and go: nothing closes it
      await us.step();
    }
    assert.ok(await open(), "open while nothing has succeeded");
    // The host is fixed and released; the next rollout of web succeeds.
    await (await ctx.nats.kv(Buckets.quarantine)).purge("us-east.a0.web");
    await (await ctx.nats.kv(Buckets.rollouts)).delete("active.web");
    await f.get("a0").agent.close();
    await using g = await startFleet(ctx, [{ id: "a1", region: "us-east", configs: { web: {} } }]);
    await startRollout(ctx.nats, "r-fixed", [RolloutStage.parse({ regions: ["us-east"] })]);
    await stepUntil("succeeded", [us], async () => {
      return (await rollout(ctx.nats, "r-fixed")).state === "succeeded";
    }, { clock, advanceMs: 100 });
    assert.equal(await open(), false, "closed by the success");
    assert.equal(await readOr(g.get("a1").files.web!), V2);
  },
);

natsTest(
  "an agent that starts managing the config mid-stage joins the next judgement",
  async (ctx) => {
    await using _f = await startFleet(ctx, web(2));
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    await startRollout(ctx.nats, "r-join", [
      RolloutStage.parse({ regions: ["us-east"], bakeSeconds: 3600 }),
    ]);
    await stepUntil("the first two applied", [us], async () => {
      const p = (await rollout(ctx.nats, "r-join")).regions["us-east"]!;
      return p.applied === 2;
    }, { clock, advanceMs: 100 });
    // A new host comes up managing web while the stage bakes.
    await using late = await startFleet(ctx, [
      { id: "us-east-web-late", region: "us-east", configs: { web: {} } },
    ]);
    await stepUntil("the newcomer counted, on the candidate", [us], async () => {
      const p = (await rollout(ctx.nats, "r-join")).regions["us-east"]!;
      return p.targeted === 3 && p.applied === 3;
    }, { clock, advanceMs: 100 });
    assert.equal(await readOr(late.get("us-east-web-late").files.web!), V2);
  },
);

natsTest(
  "a failure cluster is raised from the acks of agents whose records are an hour apart",
  async (ctx) => {
    const failV2 = 'test "$ATLAS_VERSION" != 2';
    await using _f = await startFleet(ctx, [
      ...["a0", "a1", "a2"].map((id) => ({
        id,
        region: "us-east",
        configs: { web: { reload: failV2 } },
      })),
      { id: "a3", region: "us-east", configs: { web: {} } },
      { id: "cache-0", region: "us-east", configs: { cache: {} } },
    ], { agentJson: { heartbeatSeconds: 3600 } });
    const clock = new FakeClock();
    const us = await coordinator(ctx, "us-east", clock);
    await startRollout(ctx.nats, "r-cluster", [RolloutStage.parse({ regions: ["us-east"] })]);
    const alerts = await ctx.nats.kv(Buckets.alerts);
    // The fleet scan runs every 10 s of the coordinator's clock.
    await stepUntil("failure cluster raised", [us], async () => {
      const e = await alerts.get("failures-us-east-web-v2");
      return e?.operation === "PUT";
    }, { clock, advanceMs: 1_000 });
    const alert = (await alerts.get("failures-us-east-web-v2"))!.json() as { message: string };
    assert.match(alert.message, /^3 agents in us-east failed web v2: /);
    const named = alert.message.match(/\(([^)]*)\)$/)?.[1]?.split(", ").toSorted();
    assert.deepEqual(named, ["a0", "a1", "a2"], "the failing agents, not a3 or cache-0");
  },
);
