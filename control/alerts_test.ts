import assert from "node:assert/strict";
import { AlertRecord, Buckets } from "@atlas/core";
import { AlertList, AuditList } from "./api.ts";
import { controlTest, READER_TOKEN } from "./testing.ts";

function alert(id: string, minutesAgo: number, resolved: boolean): AlertRecord {
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  return {
    id,
    kind: "stalled",
    region: "us-east",
    config: "web",
    rolloutId: "r-20260101000000-abcdef",
    message: `alert ${id}`,
    at,
    ...(resolved ? { resolvedAt: new Date().toISOString() } : {}),
  };
}

controlTest("alerts lists only open alerts, newest first, unless all=true", async ({
  api,
  nats,
}) => {
  assert.deepEqual(await api.ok(200, "GET", "/v1/alerts"), { alerts: [] });
  const kv = await nats.kv(Buckets.alerts);
  for (const a of [alert("a1", 30, false), alert("a2", 20, true), alert("a3", 10, false)]) {
    await kv.put(a.id, JSON.stringify(a));
  }
  const open = AlertList.parse(await api.ok(200, "GET", "/v1/alerts", { token: READER_TOKEN }));
  assert.deepEqual(open.alerts.map((a) => a.id), ["a3", "a1"]);
  const all = AlertList.parse(await api.ok(200, "GET", "/v1/alerts?all=true"));
  assert.deepEqual(all.alerts.map((a) => a.id), ["a3", "a2", "a1"]);
  assert.equal((await api.call("GET", "/v1/alerts?all=yes")).status, 400);
});

controlTest("an operator resolves an open alert; it is audited and stays resolved", async ({
  api,
  nats,
}) => {
  const kv = await nats.kv(Buckets.alerts);
  const a = { ...alert("rollback-r1", 5, false), kind: "rolled_back" as const };
  await kv.put(a.id, JSON.stringify(a));
  const path = `/v1/alerts/${a.id}/resolve`;
  assert.equal((await api.call("POST", path, { token: READER_TOKEN })).status, 403);
  const resolved = AlertRecord.parse(
    await api.ok(200, "POST", path, { body: { reason: "template fixed" } }),
  );
  assert.equal(resolved.resolvedBy, "alice");
  assert.equal(resolved.resolution, "template fixed");
  assert.ok(resolved.resolvedAt);
  assert.deepEqual(AlertList.parse(await api.ok(200, "GET", "/v1/alerts")).alerts, []);

  const again = await api.call("POST", path);
  assert.equal(again.status, 409);
  assert.match(again.text, /was resolved already, at .* by alice/);
  const missing = await api.call("POST", "/v1/alerts/nope/resolve");
  assert.equal(missing.status, 404);
  assert.match(missing.text, /Alert \\"nope\\" does not exist/);

  const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit?config=web"));
  const audited = events.find((e) => e.action === "alert.resolve");
  assert.equal(audited?.actor, "alice");
  assert.equal(audited?.region, "us-east");
  assert.deepEqual(audited?.details, {
    alertId: "rollback-r1",
    kind: "rolled_back",
    reason: "template fixed",
    rolloutId: "r-20260101000000-abcdef",
  });
});
