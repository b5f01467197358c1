import assert from "node:assert/strict";
import { Buckets } from "@atlas/core";
import { LEASE_LIVE_MS, leaseHolder } from "./leases.ts";
import { natsTest } from "@atlas/testkit";

natsTest("a region without a lease entry has no live coordinator", async ({ nats }) => {
  assert.deepEqual(await leaseHolder(nats, "us-east"), {
    region: "us-east",
    holder: null,
    term: 0,
    writtenAt: null,
    live: false,
  });
});

natsTest("a lease is live until three default ttls pass without a write", async ({ nats }) => {
  const kv = await nats.kv(Buckets.leases);
  await kv.put("us-east", JSON.stringify({ holder: "coord-a", term: 3 }));
  const now = Date.now();
  const fresh = await leaseHolder(nats, "us-east", { now });
  assert.equal(fresh.holder, "coord-a");
  assert.equal(fresh.term, 3);
  assert.equal(fresh.live, true);
  assert.ok(fresh.writtenAt && Math.abs(fresh.writtenAt.getTime() - now) < 5_000);
  const written = fresh.writtenAt!.getTime();
  const edge = await leaseHolder(nats, "us-east", { now: written + LEASE_LIVE_MS });
  assert.equal(edge.live, true);
  const stale = await leaseHolder(nats, "us-east", { now: written + LEASE_LIVE_MS + 1 });
  assert.equal(stale.live, false);
  assert.equal(stale.holder, "coord-a", "who held it last is still said");
  assert.deepEqual(stale.writtenAt, fresh.writtenAt);
});

natsTest("a released lease (no holder) has no live coordinator", async ({ nats }) => {
  const kv = await nats.kv(Buckets.leases);
  await kv.put("eu-west", JSON.stringify({ holder: "", term: 4 }));
  const lease = await leaseHolder(nats, "eu-west");
  assert.equal(lease.holder, null);
  assert.equal(lease.term, 4);
  assert.equal(lease.live, false);
  assert.ok(lease.writtenAt);
  await assert.rejects(() => leaseHolder(nats, "Bad Region"), TypeError);
});
