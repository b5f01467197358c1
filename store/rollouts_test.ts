import assert from "node:assert/strict";
import { activeRolloutKey, Buckets } from "@atlas/core";
import { natsTest } from "@atlas/testkit";
import { releaseActiveRollout } from "./rollouts.ts";

natsTest(
  "a rollout that ended releases the config's key only if it still holds it",
  async ({ nats }) => {
    const kv = await nats.kv(Buckets.rollouts);
    const key = activeRolloutKey("web");
    await kv.create(key, JSON.stringify({ rolloutId: "r-new" })); // taken by a newer rollout
    await releaseActiveRollout(nats, "web", "r-old");
    assert.equal((await kv.get(key))?.json<{ rolloutId: string }>().rolloutId, "r-new");
    await releaseActiveRollout(nats, "web", "r-new");
    assert.notEqual((await kv.get(key))?.operation, "PUT");
    await releaseActiveRollout(nats, "web", "r-new"); // nothing held: nothing to do
  },
);
