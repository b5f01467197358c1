import assert from "node:assert/strict";
import type { AtlasNats } from "@atlas/store";
import { Buckets } from "@atlas/core";
import { natsTest } from "@atlas/testkit";
import { type Clock, Lease } from "./lease.ts";

class FakeClock implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
}

/** Replicas "a" and "b" of us-east's lease, on one fake clock. */
async function twoReplicas(nats: AtlasNats, ttlMs = 1_000) {
  const kv = await nats.kv(Buckets.leases);
  const clock = new FakeClock();
  const a = new Lease(kv, "us-east", "a", { ttlMs, clock });
  const b = new Lease(kv, "us-east", "b", { ttlMs, clock });
  return { kv, clock, a, b };
}

natsTest("one replica leads; the other waits", async ({ nats }) => {
  const { clock, a, b } = await twoReplicas(nats);
  assert.equal(await a.tick(), true);
  assert.equal(await b.tick(), false);
  clock.t += 900;
  assert.equal(await a.tick(), true, "renewed");
  assert.equal(await b.tick(), false, "a renewal is a new revision: b starts counting again");
  clock.t += 900;
  assert.equal(await b.tick(), false);
  assert.equal(a.term, 1);
});

natsTest(
  "a replica takes over only after the holder stopped renewing for the ttl",
  async ({ nats }) => {
    const { clock, a, b } = await twoReplicas(nats);
    await a.tick();
    await b.tick(); // b first sees a's revision at t=0
    clock.t = 999;
    assert.equal(await b.tick(), false, "not yet");
    assert.equal(a.isLeader, false, "a's own window closed before b may take over (margin)");
    clock.t = 1_000;
    assert.equal(await b.tick(), true, "b takes over");
    assert.equal(b.term, 2);
    assert.equal(await a.tick(), false, "a's renewal loses the compare-and-set");
    assert.equal(a.isLeader, false);
  },
);

natsTest("two followers racing for an expired lease: exactly one wins", async ({ nats }) => {
  const kv = await nats.kv(Buckets.leases);
  const clock = new FakeClock();
  const old = new Lease(kv, "eu-west", "old", { ttlMs: 1_000, clock });
  await old.tick();
  const replicas = ["b", "c", "d"].map((h) => new Lease(kv, "eu-west", h, { ttlMs: 1_000, clock }));
  for (const r of replicas) await r.tick();
  clock.t = 2_000;
  const won = await Promise.all(replicas.map((r) => r.tick()));
  assert.equal(won.filter(Boolean).length, 1);
});

natsTest("a released lease is taken at once, without waiting for the ttl", async ({ nats }) => {
  const { a, b } = await twoReplicas(nats, 60_000);
  await a.tick();
  await a.release();
  assert.equal(a.isLeader, false);
  assert.equal(await b.tick(), true);
  assert.equal(b.term, 2, "the term grows across a release");
});

natsTest(
  "a holder whose renewal failed takes its lease back at once if nobody took it",
  async ({ nats }) => {
    const { kv, a, b } = await twoReplicas(nats);
    assert.equal(await a.tick(), true);
    // a's renewal is written but its reply never arrives: the key moved under a.
    const e = (await kv.get("us-east"))!;
    await kv.update("us-east", e.string(), e.revision);
    assert.equal(await a.tick(), false, "the renewal's compare-and-set fails: a stops leading");
    assert.equal(await b.tick(), false, "b starts counting");
    assert.equal(await a.tick(), true, "the key still names a: a takes it back, no ttl wait");
    assert.equal(a.term, 2);
    assert.equal(await b.tick(), false, "b sees a new revision and starts over");
  },
);
