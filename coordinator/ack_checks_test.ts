import assert from "node:assert/strict";
import {
  AckIdentity,
  ackPrecheck,
  type AckRecord,
  AckRejection,
  type AckSignatureCheck,
  ackVerdictSignedBy,
  Buckets,
  type EnrolmentRecord,
  NativeKeyPair,
  Subjects,
} from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import type { KV } from "@nats-io/kv";
import { enrolAgent, natsTest, waitFor } from "@atlas/testkit";
import { Prefix } from "@nats-io/nkeys";
import {
  AckChecks,
  packChecks,
  PENDING_MAX,
  THREAD_BATCH_MIN,
  unpackChecks,
} from "./ack_checks.ts";
import { coordinator, FakeClock, withKvMember } from "./test_helpers.ts";

const now = new Date("2026-11-29T06:00:00Z");
const current = new AckIdentity(
  new TextDecoder().decode(NativeKeyPair.create(Prefix.User).getSeed()),
);
const earlier = new AckIdentity(
  new TextDecoder().decode(NativeKeyPair.create(Prefix.User).getSeed()),
);
const stranger = new AckIdentity(
  new TextDecoder().decode(NativeKeyPair.create(Prefix.User).getSeed()),
);
const enrolment = {
  region: "us-east",
  agent: "web-1",
  publicKey: current.publicKey,
  previousKeys: [{ publicKey: earlier.publicKey, retiredAt: now.toISOString() }],
} as EnrolmentRecord;

function ack(seq: number): AckRecord {
  return {
    agent: "web-1",
    region: "us-east",
    config: "web",
    version: 1,
    digest: "d".repeat(64),
    seq,
    status: "applied",
    latencyMs: 1,
    at: new Date(now.getTime() - 60_000).toISOString(),
  };
}

/** An ack signed by `by`, as the coordinator's follow would hand it over. */
function check(by: AckIdentity, seq: number): AckSignatureCheck {
  const pre = ackPrecheck(by.sign(ack(seq)), {
    subject: { region: "us-east", config: "web", agent: "web-1" },
    storedAt: now.getTime() - 60_000,
  }, enrolment);
  assert.ok("check" in pre);
  return pre.check;
}

/** `n` checks cycling through the current key, the earlier one, and a stranger's. */
function checks(n: number): { check: AckSignatureCheck; expected: number }[] {
  const by = [current, earlier, stranger];
  return Array.from(
    { length: n },
    (_, i) => ({ check: check(by[i % 3]!, i), expected: [0, 1, -1][i % 3]! }),
  );
}

function submitAll(c: AckChecks, items: { check: AckSignatureCheck }[]): Promise<number[]> {
  const answers: number[] = new Array(items.length);
  let left = items.length;
  return new Promise((resolve) => {
    items.forEach(({ check }, i) =>
      c.submit(check, (signer) => {
        assert.equal(answers[i], undefined, "one answer per check");
        answers[i] = signer;
        if (--left === 0) resolve(answers);
      })
    );
  });
}

Deno.test("a batch packs into one buffer of its own and unpacks to the same checks", () => {
  // Views on Node's shared Buffer pool, as ackPrecheck makes them; a signature of any length.
  const batch = [
    { bytes: Buffer.from("first ack"), signature: Buffer.from("x".repeat(64)), keys: ["UA", "UB"] },
    { bytes: Buffer.from(""), signature: Buffer.from("short"), keys: [] },
    { bytes: Buffer.from("third"), signature: Buffer.from(""), keys: ["UC"] },
  ];
  const packed = packChecks(batch);
  assert.equal(packed.byteLength, 3 * 8 + 9 + 64 + 0 + 5 + 5 + 0, "only the batch's bytes");
  const back = unpackChecks(packed, batch.map((c) => c.keys));
  assert.deepEqual(
    back.map((c) => [Buffer.from(c.bytes).toString(), Buffer.from(c.signature).toString(), c.keys]),
    batch.map((c) => [c.bytes.toString(), c.signature.toString(), c.keys]),
  );
});

Deno.test("without threads every ack is checked in place, at once", () => {
  const c = new AckChecks({ threads: 0 });
  const items = checks(6);
  const answers: number[] = [];
  for (const { check } of items) c.submit(check, (i) => answers.push(i));
  assert.deepEqual(answers, items.map((x) => x.expected));
  assert.equal(c.threads, 0);
  assert.deepEqual([c.submitted, c.answered], [6, 6]);
  c.close();
});

Deno.test("a few acks at a time are checked in place; a burst goes to threads", async () => {
  const c = new AckChecks({ threads: 2 });
  try {
    const few = checks(THREAD_BATCH_MIN - 1);
    assert.deepEqual(await submitAll(c, few), few.map((x) => x.expected));
    assert.equal(c.threads, 0, "no thread started for a few");
    const burst = checks(600); // three batches: both threads used
    assert.deepEqual(await submitAll(c, burst), burst.map((x) => x.expected));
    assert.equal(c.threads, 2);
    assert.deepEqual([c.submitted, c.answered], [631, 631]);
    if (Deno.build.os === "linux") assert.ok(c.cpuMicros > 0, "the threads' CPU is told");
    // The verdicts, from the answers: the earlier key counts, a stranger's does not.
    assert.deepEqual(ackVerdictSignedBy(burst[1]!.check, 1), {
      counts: true,
      publicKey: earlier.publicKey,
    });
    assert.equal(ackVerdictSignedBy(burst[2]!.check, -1).counts, false);
  } finally {
    c.close();
  }
});

Deno.test("a warmed thread is there before the first burst, and takes a few acks too", async () => {
  const none = new AckChecks({ threads: 0 });
  none.warm();
  assert.equal(none.threads, 0, "no thread where none may run");
  none.close();
  const c = new AckChecks({ threads: 1 });
  try {
    c.warm();
    c.warm();
    assert.equal(c.threads, 1);
    const few = checks(3);
    assert.deepEqual(await submitAll(c, few), few.map((x) => x.expected));
    if (Deno.build.os === "linux") assert.ok(c.cpuMicros > 0, "checked on the thread");
  } finally {
    c.close();
  }
});

Deno.test("a flood past the pending bound is checked in place, slowing its reader", async () => {
  // What one hostile host publishing acks as fast as it can would cause: the queue for the
  // threads stops growing at the bound, and what comes past it is checked at once.
  assert.ok(PENDING_MAX >= 10 * THREAD_BATCH_MIN);
  const c = new AckChecks({ threads: 1, pendingMax: 64 });
  try {
    const flood = checks(200);
    const answers = submitAll(c, flood);
    assert.equal(c.answered, 200 - 64, "past the bound, answered in place at once");
    assert.deepEqual(await answers, flood.map((x) => x.expected));
    assert.equal(c.answered, 200);
  } finally {
    c.close();
  }
});

Deno.test("a thread that fails has its acks checked in place, and none is started again", async () => {
  const crash = `data:application/javascript,${
    encodeURIComponent("self.onmessage = () => { throw new Error('boom'); };")
  }`;
  const errors: Error[] = [];
  const c = new AckChecks({ threads: 2, workerUrl: crash, onThreadError: (e) => errors.push(e) });
  try {
    const burst = checks(THREAD_BATCH_MIN * 2);
    assert.deepEqual(await submitAll(c, burst), burst.map((x) => x.expected));
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]?.message ?? errors[0]), /boom/);
    assert.equal(c.threads, 0);
    const again = checks(THREAD_BATCH_MIN * 2);
    assert.deepEqual(await submitAll(c, again), again.map((x) => x.expected));
    assert.equal(errors.length, 1, "no thread started after the failure");
  } finally {
    c.close();
  }
});

Deno.test("after close, nothing is checked and no answer comes", async () => {
  const c = new AckChecks({ threads: 1 });
  let answered = 0;
  for (const { check } of checks(THREAD_BATCH_MIN)) c.submit(check, () => answered++);
  c.close();
  for (const { check } of checks(3)) c.submit(check, () => answered++);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, 0);
});

Deno.test("a thread count that is not a whole number is refused", () => {
  for (const threads of [-1, 1.5, NaN]) {
    assert.throws(() => new AckChecks({ threads }), /Cannot check acks on .* threads/);
  }
});

natsTest(
  "a coordinator follows its region only once the backlog's signatures are checked",
  async (ctx) => {
    // 120 enrolled agents, each with one ack stored before the coordinator starts: half
    // signed by the agent, half by someone else (a host forging for its neighbour).
    const region = "us-east";
    const ids = await Promise.all(
      Array.from({ length: 120 }, (_, i) => enrolAgent(ctx.nats, region, `a${i}`)),
    );
    const forger = ids[0]!.identity;
    for (const [i, made] of ids.entries()) {
      const body = { ...ack(i + 1), agent: `a${i}`, at: new Date().toISOString() };
      const signed = (i % 2 === 0 ? made.identity : forger).sign(body);
      await ctx.nats.js.publish(Subjects.ack(region, "web", `a${i}`), JSON.stringify(signed));
    }
    await using c = await coordinator(ctx, region, new FakeClock(), { ackCheckThreads: 1 });
    await waitFor("the coordinator following", async () => {
      await c.step();
      return c.following;
    });
    // Following means every ack delivered before it was judged, whichever thread checked it.
    const stats = c.ackCheckStats();
    assert.equal(stats.answered, stats.submitted);
    assert.ok(stats.submitted >= 120, `${stats.submitted} checks`);
    assert.equal(stats.threads, 1, "the backlog's burst went to the thread");
    // a0 is the forger itself: its own ack is genuine. Every other odd one is forged.
    assert.equal(c.unverifiedAcks.get(AckRejection.signature), 60);
  },
);

natsTest(
  "an agent enrolled while the book's follow was silent counts once looked up",
  async (ctx) => {
    // The enrolments watch of this coordinator never delivers (as one did through a gateway
    // cut on nats-server 2.9.10): only its snapshot, taken before the agent was enrolled.
    const silent = (nats: AtlasNats): AtlasNats =>
      withKvMember(nats, Buckets.enrolments, "watch", () => () => Promise.resolve(silentWatch()));
    const region = "us-east";
    const clock = new FakeClock();
    await using c = await coordinator(ctx, region, clock, { wrap: silent });
    await waitFor("the coordinator following", async () => {
      await c.step();
      return c.following;
    });
    const { identity } = await enrolAgent(ctx.nats, region, "late");
    const signed = identity.sign({ ...ack(1), agent: "late", at: new Date().toISOString() });
    await ctx.nats.js.publish(Subjects.ack(region, "web", "late"), JSON.stringify(signed));
    await waitFor("the late agent's ack held", () => c.heldUnenrolledAcks === 1);
    await waitFor("its enrolment looked up and its ack counted", async () => {
      await c.step();
      return c.heldUnenrolledAcks === 0;
    });
    assert.equal(c.unverifiedAcks.get(AckRejection.signature), undefined);
    assert.equal(c.unverifiedAcks.get(AckRejection.unenrolled), 1, "held once, then counted");
  },
);

/** A KV watch that delivers nothing until stopped (what the enrolment book uses of one). */
function silentWatch(): Awaited<ReturnType<KV["watch"]>> {
  let stopped: () => void = () => {};
  const done = new Promise<void>((r) => (stopped = r));
  const watch = {
    stop: () => stopped(),
    [Symbol.asyncIterator]: () => ({
      next: () => done.then(() => ({ done: true, value: undefined as never })),
    }),
  };
  return watch as unknown as Awaited<ReturnType<KV["watch"]>>;
}
