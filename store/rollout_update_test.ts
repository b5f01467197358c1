import assert from "node:assert/strict";
import type { AtlasNats } from "./connect.ts";
import { Buckets, RolloutRecord, type RolloutState } from "@atlas/core";
import { RolloutContentionError, updateRollout } from "./rollout_update.ts";
import { natsTest } from "@atlas/testkit";

const ID = "r-20260102030000-abcdef";

async function put(nats: AtlasNats, state: RolloutState = "running"): Promise<number> {
  const at = "2026-01-02T03:00:00.000Z";
  const record = RolloutRecord.parse({
    id: ID,
    config: "web",
    version: 2,
    stages: [{ regions: ["a"] }],
    state,
    stage: 0,
    regions: { a: { targeted: 1, applied: 1, rejected: 0, failed: 0, pending: 0, doneStage: 0 } },
    transitions: [],
    createdAt: at,
    createdBy: "alice",
    updatedAt: at,
  });
  return await (await nats.kv(Buckets.rollouts)).put(ID, JSON.stringify(record));
}

async function read(nats: AtlasNats): Promise<RolloutRecord> {
  return RolloutRecord.parse((await (await nats.kv(Buckets.rollouts)).get(ID))!.json());
}

natsTest("an update stores the event's record by compare-and-set", async ({ nats }) => {
  await put(nats);
  const result = await updateRollout(nats, ID, () => ({ type: "pause" }), {
    by: "alice",
    now: () => "2026-01-02T04:00:00.000Z",
  });
  assert.ok("stored" in result);
  assert.equal(result.previous.value.state, "running");
  assert.deepEqual(await read(nats), result.stored.value);
  assert.equal(result.stored.value.updatedAt, "2026-01-02T04:00:00.000Z");
  assert.equal(
    (await (await nats.kv(Buckets.rollouts)).get(ID))!.revision,
    result.stored.revision,
  );
});

natsTest(
  "after a lost race the event is decided again from the fresh record, never re-applied",
  async ({ nats }) => {
    const revision = await put(nats);
    const stale = { value: await read(nats), revision };
    // An operator pauses between the coordinator's read and its write.
    await updateRollout(nats, ID, () => ({ type: "pause" }), { by: "alice" });
    const seen: RolloutState[] = [];
    const result = await updateRollout(nats, ID, (r) => {
      seen.push(r.state);
      // The coordinator commits the end (core/rollout_state.ts): illegal once paused.
      return { type: "progress", region: "a", update: { settle: "promoting" } };
    }, { by: "coordinator/a", known: stale });
    assert.deepEqual(seen, ["running", "paused"]);
    assert.ok("skipped" in result && result.skipped === "illegal");
    assert.equal(result.error.from, "paused");
    assert.deepEqual((await read(nats)).transitions.map((t) => `${t.from}>${t.to}`), [
      "running>paused",
    ]);
  },
);

natsTest("a declined, illegal or missing update writes nothing and says why", async ({ nats }) => {
  assert.deepEqual(await updateRollout(nats, ID, () => ({ type: "pause" }), { by: "a" }), {
    skipped: "missing",
  });
  const revision = await put(nats, "succeeded");
  const declined = await updateRollout(nats, ID, () => null, { by: "a" });
  assert.ok("skipped" in declined && declined.skipped === "declined");
  assert.equal(declined.current.revision, revision);
  const illegal = await updateRollout(nats, ID, () => ({ type: "resume" }), { by: "a" });
  assert.ok("skipped" in illegal && illegal.skipped === "illegal");
  assert.match(illegal.error.message, /it is succeeded and has ended/);
  assert.equal((await (await nats.kv(Buckets.rollouts)).get(ID))!.revision, revision);
});

natsTest("a record that keeps changing ends in a contention error", async ({ nats }) => {
  const revision = await put(nats);
  await put(nats); // the known revision is stale from the start
  const known = { value: await read(nats), revision };
  let calls = 0;
  await assert.rejects(
    updateRollout(nats, ID, () => {
      calls++;
      return { type: "promote" };
    }, { by: "a", known, maxAttempts: 1 }),
    (e) => e instanceof RolloutContentionError && /1 compare-and-set attempts/.test(e.message),
  );
  assert.equal(calls, 1);
  await assert.rejects(
    updateRollout(nats, ID, () => ({ type: "promote" }), { by: "a", maxAttempts: 0 }),
    RangeError,
  );
});
