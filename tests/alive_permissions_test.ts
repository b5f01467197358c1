/**
 * Alive pings against a real nats-server with Atlas auth (core/permissions.ts): an agent
 * may ping only as itself, never hear others' pings; its region's coordinator hears them
 * and writes its region's liveness summary, nobody else's. So a forged ping can claim
 * nothing but the forger's own host alive.
 */
import assert from "node:assert/strict";
import { Buckets, Subjects } from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import { natsTest } from "@atlas/testkit";

/** The subjects `listener` hears on `filter` while `fn` runs (and 300 ms after a flush). */
async function heard(listener: AtlasNats, filter: string, fn: () => Promise<void>) {
  const got: string[] = [];
  const sub = listener.nc.subscribe(filter, {
    callback: (_e, m) => void got.push(m.subject),
  });
  await listener.nc.flush();
  await fn();
  await listener.nc.flush();
  await new Promise((r) => setTimeout(r, 300));
  sub.unsubscribe();
  return got;
}

/** Publishes on `subject` and resolves with the server's permission error, if any. */
async function publishRefused(nats: AtlasNats, subject: string): Promise<boolean> {
  const errors: string[] = [];
  const watch = (async () => {
    for await (const s of nats.nc.status()) {
      const text = `${s.type} ${String((s as { error?: unknown }).error ?? "")}`;
      if (/permission/i.test(text)) errors.push(text);
    }
  })();
  nats.nc.publish(subject);
  await nats.nc.flush();
  for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  void watch;
  return errors.some((e) => e.includes(subject));
}

/** Subscribes to `filter` and resolves true when the server refuses it. */
async function subscribeRefused(nats: AtlasNats, filter: string): Promise<boolean> {
  const sub = nats.nc.subscribe(filter);
  await nats.nc.flush();
  const closed = await Promise.race([
    sub.closed.then((e) => e !== undefined && /permission/i.test(String(e))),
    new Promise<boolean>((r) => setTimeout(() => r(false), 2_000)),
  ]);
  sub.unsubscribe();
  return closed;
}

natsTest("an agent pings only as itself; only its coordinator hears the pings", async (ctx) => {
  const opts = { timeoutMs: 1_500 };
  const coord = await ctx.connect({ kind: "coordinator", region: "us-east" }, opts);
  const a1 = await ctx.connect({ kind: "agent", region: "us-east", agent: "a1" }, opts);
  try {
    const region = Subjects.aliveOf("us-east");
    const own = await heard(coord, region, async () => {
      a1.nc.publish(Subjects.alive("us-east", "a1"));
      await a1.nc.flush();
    });
    assert.deepEqual(own, ["atlas.alive.us-east.a1"], "its own ping reaches the coordinator");

    // Forged pings: another agent's, another region's. Refused, and nobody hears them.
    const forged = await heard(ctx.nats, "atlas.alive.>", async () => {
      assert.ok(await publishRefused(a1, Subjects.alive("us-east", "a2")), "another agent's");
      assert.ok(await publishRefused(a1, Subjects.alive("eu-west", "a1")), "another region's");
      assert.ok(await publishRefused(a1, "atlas.alive.us-east"), "the region's bare subject");
    });
    assert.deepEqual(forged, []);
    // An agent hears no pings (it could learn who is up, and nothing needs it to).
    assert.ok(await subscribeRefused(a1, region), "an agent subscribes to its region's pings");
    assert.ok(await subscribeRefused(a1, "atlas.alive.>"), "an agent subscribes to every ping");
    // A coordinator hears its own region only, and writes its own region's summary only.
    assert.ok(await subscribeRefused(coord, Subjects.aliveOf("eu-west")), "another region");
    await coord.kvWrite(Buckets.liveness, "us-east", "{}");
    await assert.rejects(() => coord.kvWrite(Buckets.liveness, "eu-west", "{}"));
    await assert.rejects(() => a1.kvWrite(Buckets.liveness, "us-east", "{}"), "an agent writes it");
  } finally {
    await a1.close();
    await coord.close();
  }
});
