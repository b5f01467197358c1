import assert from "node:assert/strict";
import { Buckets, type QuarantineRecord } from "@atlas/nats";
import { AgentList, AuditList } from "./api.ts";
import { type Api, controlTest, READER_TOKEN, writeHeartbeat } from "./testing.ts";

async function quarantined(api: Api) {
  const { agents } = AgentList.parse(await api.ok(200, "GET", "/v1/agents"));
  return agents.map((a) => [a.id, a.quarantined?.reason ?? null]);
}

controlTest("releasing a quarantined agent removes its quarantine and audits it", async ({
  api,
  nats,
}) => {
  await writeHeartbeat(nats, "us-east", "a1");
  await writeHeartbeat(nats, "us-east", "a2");
  const record: QuarantineRecord = {
    region: "us-east",
    agent: "a1",
    reason: "failed 3 rollouts",
    rolloutId: "r-20260101000000-abcdef",
    at: new Date().toISOString(),
  };
  await (await nats.kv(Buckets.quarantine)).put("us-east.a1", JSON.stringify(record));

  const { agents } = AgentList.parse(await api.ok(200, "GET", "/v1/agents"));
  assert.deepEqual(agents.find((a) => a.id === "a1")?.quarantined, {
    reason: "failed 3 rollouts",
    rolloutId: "r-20260101000000-abcdef",
    at: record.at,
  });
  assert.deepEqual(await quarantined(api), [["a1", "failed 3 rollouts"], ["a2", null]]);

  const refused = await api.call("POST", "/v1/agents/us-east/a1/release", {
    token: READER_TOKEN,
  });
  assert.equal(refused.status, 403);
  assert.deepEqual(await api.ok(200, "POST", "/v1/agents/us-east/a1/release"), record);
  assert.deepEqual(await quarantined(api), [["a1", null], ["a2", null]]);

  const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit"));
  const released = events.find((e) => e.action === "agent.release");
  assert.equal(released?.actor, "alice");
  assert.equal(released?.region, "us-east");
  assert.equal(released?.details.agent, "a1");
});

controlTest("releasing an agent that is not quarantined is 404", async ({ api, nats }) => {
  await writeHeartbeat(nats, "us-east", "a1");
  const res = await api.call("POST", "/v1/agents/us-east/a1/release");
  assert.equal(res.status, 404);
  assert.match(res.text, /Agent a1 in us-east is not quarantined/);
  assert.equal((await api.call("POST", "/v1/agents/us-east/Bad!/release")).status, 400);
});
