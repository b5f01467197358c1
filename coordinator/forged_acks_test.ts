import assert from "node:assert/strict";
import { agentRecord, enrolAgent, makeCredentials, natsTest, waitFor } from "@atlas/testkit";
import {
  type AckIdentity,
  type AckRecord,
  agentKey,
  Buckets,
  RolloutStage,
  Subjects,
} from "@atlas/core";
import {
  type AtlasNats,
  listKeys,
  readPointer,
  recordEnrolment,
  revokeEnrolment,
} from "@atlas/store";
import { HELD_UNENROLLED_ACKS_MAX, type RegionCoordinator } from "./engine.ts";
import {
  auditActions,
  coordinator,
  FakeClock,
  hungAgent,
  rollout,
  startFleet,
  startRollout,
} from "./test_helpers.ts";

const REGION = "us-east";
const HUNG = ["h0", "h1", "h2", "h3"];

function ackOf(agent: string, seq: number, status: AckRecord["status"]): AckRecord {
  return {
    agent,
    region: REGION,
    config: "web",
    version: 2,
    digest: "0".repeat(64),
    seq,
    status,
    ...(status === "failed" ? { reason: "forged" } : {}),
    rolloutId: "r-forged",
    latencyMs: 1,
    at: new Date().toISOString(),
  };
}

async function publishAck(nats: AtlasNats, subjectAgent: string, ack: AckRecord): Promise<void> {
  await nats.js.publish(Subjects.ack(REGION, "web", subjectAgent), JSON.stringify(ack));
}

function unverified(c: RegionCoordinator): number {
  return [...c.unverifiedAcks.values()].reduce((a, b) => a + b, 0);
}

/**
 * One real agent and four hosts that heartbeat but never apply (their acks are published
 * by the test, signed with their enrolled keys, standing in for real agents); a rollout of
 * v2 to all of them, its pointer moved. Returns the stage's pointer seq.
 */
async function setUp(
  ctx: Parameters<Parameters<typeof natsTest>[1]>[0],
  clock: FakeClock,
  ackTimeoutSeconds = 600,
) {
  const fleet = await startFleet(ctx, [{ id: "real", region: REGION, configs: { web: {} } }]);
  const ids: Record<string, AckIdentity> = {};
  for (const id of HUNG) {
    await hungAgent(ctx.nats, REGION, id, ["web"], clock);
    ids[id] = (await enrolAgent(ctx.nats, REGION, id)).identity;
  }
  const c = await coordinator(ctx, REGION, clock);
  await startRollout(ctx.nats, "r-forged", [
    RolloutStage.parse({ regions: [REGION], gates: { ackTimeoutSeconds } }),
  ]);
  let seq = 0;
  await waitFor("the stage's pointer", async () => {
    await c.step();
    const p = await readPointer(ctx.nats, REGION, "web");
    seq = p?.pointer.candidate?.rolloutId === "r-forged" ? p.pointer.seq : 0;
    return seq > 0;
  });
  await waitFor("the real agent applied", async () => {
    await c.step();
    return (await rollout(ctx.nats, "r-forged")).regions[REGION]!.applied === 1;
  });
  return { fleet, ids, c, seq };
}

natsTest("100 forged failed acks leave a good rollout succeeding", async (ctx) => {
  const clock = new FakeClock();
  const { fleet, ids, c, seq } = await setUp(ctx, clock);
  await using _f = fleet;
  await using _c = c;
  const stranger = (await makeCredentials("stranger")).identity;
  for (let i = 0; i < 100; i++) {
    const victim = HUNG[i % HUNG.length]!;
    const other = HUNG[(i + 1) % HUNG.length]!;
    const failed = ackOf(victim, seq, "failed");
    const forged = [
      // well formed, but the signature is of other bytes
      { ...ids[victim]!.sign({ ...failed, status: "applied" }), status: "failed" as const },
      // signed by another (enrolled) agent's key
      ids[other]!.sign(failed),
      // signed by a key never enrolled
      stranger.sign(failed),
      // no signature at all
      failed,
    ][i % 5];
    if (forged) await publishAck(ctx.nats, victim, forged);
    // a genuine signed ack of another agent, replayed under the victim's subject
    else await publishAck(ctx.nats, victim, ids[other]!.sign(ackOf(other, seq, "failed")));
  }
  await waitFor("the coordinator saw all 100", async () => {
    await c.step();
    return unverified(c) === 100;
  });
  await c.step();
  const mid = await rollout(ctx.nats, "r-forged");
  assert.equal(mid.state, "running");
  assert.equal(mid.regions[REGION]!.failed, 0, "no forged failure counts");
  assert.equal(mid.regions[REGION]!.pending, HUNG.length);
  assert.deepEqual(
    Object.fromEntries(c.unverifiedAcks),
    { "bad-signature": 60, unsigned: 20, "subject-mismatch": 20 },
  );
  // The real thing: each host's own signed ack counts.
  for (const id of HUNG) await publishAck(ctx.nats, id, ids[id]!.sign(ackOf(id, seq, "applied")));
  await waitFor("the rollout succeeded", async () => {
    clock.t += 1_000;
    await c.step();
    return (await rollout(ctx.nats, "r-forged")).state === "succeeded";
  });
  assert.equal((await rollout(ctx.nats, "r-forged")).regions[REGION]!.applied, 1 + HUNG.length);
  assert.ok(!(await auditActions(ctx.nats)).some((a) => a.startsWith("rollout.rolled")));
  assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), []);
});

natsTest("a revoked agent's acks do not count and it leaves the stage; others' do", async (ctx) => {
  const clock = new FakeClock();
  const { fleet, ids, c, seq } = await setUp(ctx, clock);
  await using _f = fleet;
  await using _c = c;
  await revokeEnrolment(ctx.nats, { region: REGION, agent: "h1" });
  // The revocation reaches the coordinator by a KV watch: once it has (h1 leaves the
  // stage), an ack h1 sends is stored after the revocation the coordinator knows.
  await waitFor("the coordinator knows h1 is revoked", async () => {
    await c.step();
    return (await rollout(ctx.nats, "r-forged")).regions[REGION]!.targeted === 4;
  });
  // A genuine signature by h1's key, but stored after its revocation.
  await publishAck(ctx.nats, "h1", ids.h1!.sign(ackOf("h1", seq, "applied")));
  await publishAck(ctx.nats, "h0", ids.h0!.sign(ackOf("h0", seq, "applied")));
  await waitFor("h0 counted, h1 refused", async () => {
    await c.step();
    return c.unverifiedAcks.get("revoked") === 1 &&
      (await rollout(ctx.nats, "r-forged")).regions[REGION]!.applied === 2;
  });
  const progress = (await rollout(ctx.nats, "r-forged")).regions[REGION]!;
  assert.equal(progress.targeted, 4, "the real agent, h0, h2 and h3: not the revoked h1");
  assert.equal(progress.pending, 2, "h2 and h3 still pending");
  assert.equal((await rollout(ctx.nats, "r-forged")).state, "running");
});

natsTest("an unenrolled agent's heartbeat claiming the version does not count", async (ctx) => {
  const clock = new FakeClock();
  const { fleet, c, seq } = await setUp(ctx, clock);
  await using _f = fleet;
  await using _c = c;
  const claim = agentRecord("u1", REGION, {
    web: {
      applied: { version: 2, digest: "0".repeat(64), seq, appliedAt: new Date().toISOString() },
      lastAck: { version: 2, seq, status: "applied", at: new Date().toISOString() },
    },
  }, { at: new Date(clock.now()).toISOString() });
  await (await ctx.nats.kv(Buckets.agents)).put(agentKey(REGION, "u1"), JSON.stringify(claim));
  await waitFor("u1 judged", async () => {
    await c.step();
    return (await rollout(ctx.nats, "r-forged")).regions[REGION]!.targeted === 6;
  });
  const progress = (await rollout(ctx.nats, "r-forged")).regions[REGION]!;
  assert.equal(progress.applied, 1, "only the real, enrolled agent");
  assert.equal(progress.pending, 5, "h0-h3 and u1, whatever u1's heartbeat says");
  // Enrolled now: the same record (judged already, and kept as judged while the
  // enrolments stayed the same) is taken as it is from the next change of the book on.
  await enrolAgent(ctx.nats, REGION, "u1");
  await waitFor("u1 counted once enrolled", async () => {
    await c.step();
    return (await rollout(ctx.nats, "r-forged")).regions[REGION]!.applied === 2;
  });
});

natsTest("an ack heard before its agent's enrolment counts once the enrolment is", async (ctx) => {
  const clock = new FakeClock();
  const { fleet, c, seq } = await setUp(ctx, clock);
  await using _f = fleet;
  await using _c = c;
  // Enrolled and acking at once: the ack reaches the coordinator first. Another host's
  // ack for "late2", signed by a key that is never enrolled for it, must stay refused.
  await hungAgent(ctx.nats, REGION, "late", ["web"], clock);
  await hungAgent(ctx.nats, REGION, "late2", ["web"], clock);
  const late = (await makeCredentials("late")).identity;
  const other = (await makeCredentials("other")).identity;
  await publishAck(ctx.nats, "late", late.sign(ackOf("late", seq, "applied")));
  await publishAck(ctx.nats, "late2", other.sign(ackOf("late2", seq, "applied")));
  await waitFor("both acks heard and refused as unenrolled", async () => {
    await c.step();
    return c.unverifiedAcks.get("unenrolled") === 2;
  });
  assert.equal((await rollout(ctx.nats, "r-forged")).regions[REGION]!.applied, 1);
  await recordEnrolment(ctx.nats, { region: REGION, agent: "late", publicKey: late.publicKey });
  const late2Key = (await makeCredentials("late2")).identity.publicKey;
  await recordEnrolment(ctx.nats, { region: REGION, agent: "late2", publicKey: late2Key });
  await waitFor("late counted once enrolled", async () => {
    await c.step();
    return (await rollout(ctx.nats, "r-forged")).regions[REGION]!.applied === 2;
  });
  for (let i = 0; i < 3; i++) await c.step();
  const progress = (await rollout(ctx.nats, "r-forged")).regions[REGION]!;
  assert.equal(progress.applied, 2, "the real agent and late; not late2's wrong-key ack");
  assert.equal(progress.pending, 5, "h0-h3 and late2");
});

natsTest(
  "an unenrolled connection's acks under made-up configs are held only up to a bound",
  async (ctx) => {
    const clock = new FakeClock();
    const { fleet, c, seq } = await setUp(ctx, clock);
    await using _f = fleet;
    await using _c = c;
    // The attacker holds a real agent connection (its own permissions), never enrolled, and
    // picks the config token of each ack's subject.
    await using intruder = await ctx.connect({ kind: "agent", region: REGION, agent: "intruder" });
    const total = HELD_UNENROLLED_ACKS_MAX + 50;
    for (let i = 0; i < total; i++) {
      const ack = { ...ackOf("intruder", seq, "failed"), config: `c${i}`, signature: "AAAA" };
      intruder.nc.publish(Subjects.ack(REGION, `c${i}`, "intruder"), JSON.stringify(ack));
      if (i % 1_000 === 999) await intruder.nc.flush();
    }
    await intruder.nc.flush();
    await waitFor("every forged ack heard", async () => {
      await c.step();
      return c.unverifiedAcks.get("unenrolled") === total;
    }, { timeoutMs: 60_000 });
    assert.equal(c.heldUnenrolledAcks, HELD_UNENROLLED_ACKS_MAX);
    assert.equal((await rollout(ctx.nats, "r-forged")).regions[REGION]!.failed, 0);
  },
);

natsTest(
  "a fleet scan sees signed acks that came after it last saw the same records",
  async (ctx) => {
    const clock = new FakeClock();
    const { fleet, ids, c, seq } = await setUp(ctx, clock);
    await using _f = fleet;
    await using _c = c;
    // Two fleet scans (every 10 s of the clock) of the followed records: the hung hosts
    // never write theirs again, so what a scan merged them with is kept for the next one.
    for (let i = 0; i < 2; i++) {
      clock.t += 10_001;
      await c.step();
    }
    for (const h of ["h0", "h1", "h2"]) {
      await publishAck(ctx.nats, h, ids[h]!.sign(ackOf(h, seq, "failed")));
    }
    const alerts = await ctx.nats.kv(Buckets.alerts);
    await waitFor("a failure cluster from the new acks", async () => {
      clock.t += 10_001;
      await c.step();
      return (await alerts.get("failures-us-east-web-v2"))?.operation === "PUT";
    }, { intervalMs: 200 });
    const alert = (await alerts.get("failures-us-east-web-v2"))!.json() as { message: string };
    assert.match(alert.message, /^3 agents in us-east failed web v2: forged/);
  },
);

natsTest(
  "a host flooding its own ack subject holds the ack timeout; the others' acks count",
  async (ctx) => {
    const clock = new FakeClock();
    const { fleet, ids, c, seq } = await setUp(ctx, clock, 5);
    await using _f = fleet;
    await using _c = c;
    // h0's host is taken: with h0's own connection and key, it puts 20 000 signed acks
    // on its one ack subject, each a signature the leader must check.
    await using flooder = await ctx.connect({ kind: "agent", region: REGION, agent: "h0" });
    const subject = Subjects.ack(REGION, "web", "h0");
    for (let i = 0; i < 20_000; i++) {
      const ack = ids.h0!.sign({ ...ackOf("h0", seq, "applied"), latencyMs: i });
      flooder.nc.publish(subject, JSON.stringify(ack));
    }
    await flooder.nc.flush();
    // Behind the flood in the stream: the other hosts' acks, then the ack timeout passes.
    for (const id of HUNG.slice(1)) {
      await publishAck(ctx.nats, id, ids[id]!.sign(ackOf(id, seq, "applied")));
    }
    clock.t += 6_000;
    await c.step();
    assert.equal(
      (await rollout(ctx.nats, "r-forged")).state,
      "running",
      "acks still being read are not missing",
    );
    await waitFor("the rollout ended", async () => {
      await c.step();
      return (await rollout(ctx.nats, "r-forged")).state !== "running";
    }, { timeoutMs: 60_000 });
    const r = await rollout(ctx.nats, "r-forged");
    assert.equal(r.state, "succeeded", r.transitions.at(-1)?.reason);
    assert.equal(r.regions[REGION]!.applied, 1 + HUNG.length);
    assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), [], "nobody quarantined");
  },
);
