import assert from "node:assert/strict";
import { type AlertRecord, Buckets } from "@atlas/nats";
import { AlertList } from "./api.ts";
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
