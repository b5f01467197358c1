import assert from "node:assert/strict";
import {
  AlertNotFoundError,
  AlertResolvedError,
  resolveAlert,
  resolveRolloutAlerts,
} from "./alerts.ts";
import { AlertRecord, Buckets } from "@atlas/core";
import { natsTest } from "@atlas/testkit";

function alert(
  id: string,
  kind: AlertRecord["kind"],
  region: string,
  config: string,
): AlertRecord {
  return {
    id,
    kind,
    region,
    config,
    rolloutId: "r-20260101000000-abcdef",
    message: `alert ${id}`,
    at: new Date().toISOString(),
  };
}

async function stored(nats: Parameters<typeof resolveAlert>[0], id: string) {
  const kv = await nats.kv(Buckets.alerts);
  return AlertRecord.parse((await kv.get(id))!.json());
}

natsTest(
  "a rollout's success resolves its config's rollback and stall alerts in its region only",
  async ({
    nats,
  }) => {
    const kv = await nats.kv(Buckets.alerts);
    const alerts = [
      alert("rollback-r1", "rolled_back", "us-east", "web"),
      alert("stalled-r1-us-east-0", "stalled", "us-east", "web"),
      alert("rollback-r2", "rolled_back", "eu-west", "web"),
      alert("rollback-r3", "rolled_back", "us-east", "api"),
      alert("drift-us-east-a1-web", "drift", "us-east", "web"),
    ];
    for (const a of alerts) await kv.put(a.id, JSON.stringify(a));
    const at = new Date("2026-01-02T03:04:05.000Z");
    const resolved = await resolveRolloutAlerts(nats, "us-east", "web", "rollout r9 succeeded", {
      by: "coordinator/us-east",
      at,
    });
    assert.deepEqual(resolved.sort(), ["rollback-r1", "stalled-r1-us-east-0"]);
    const closed = await stored(nats, "rollback-r1");
    assert.equal(closed.resolvedAt, at.toISOString());
    assert.equal(closed.resolvedBy, "coordinator/us-east");
    assert.equal(closed.resolution, "rollout r9 succeeded");
    for (const id of ["rollback-r2", "rollback-r3", "drift-us-east-a1-web"]) {
      assert.equal((await stored(nats, id)).resolvedAt, undefined, id);
    }
    // Resolved ones stay as they were.
    assert.deepEqual(await resolveRolloutAlerts(nats, "us-east", "web", "again"), []);
    assert.equal((await stored(nats, "rollback-r1")).resolution, "rollout r9 succeeded");
  },
);

natsTest("an operator resolves one alert, once, and an unknown one is not found", async ({
  nats,
}) => {
  const kv = await nats.kv(Buckets.alerts);
  const a = alert("rollback-r1", "rolled_back", "us-east", "web");
  await kv.put(a.id, JSON.stringify(a));
  const resolved = await resolveAlert(nats, a.id, "fixed the template", { by: "alice" });
  assert.equal(resolved.resolvedBy, "alice");
  assert.equal(resolved.resolution, "fixed the template");
  assert.ok(resolved.resolvedAt);
  assert.deepEqual(await stored(nats, a.id), resolved);
  await assert.rejects(
    () => resolveAlert(nats, a.id, "again", { by: "bob" }),
    (e) => e instanceof AlertResolvedError && /resolved already, at .* by alice/.test(e.message),
  );
  await assert.rejects(() => resolveAlert(nats, "nope", "x"), AlertNotFoundError);
});
