import assert from "node:assert/strict";
import type { AtlasNats } from "@atlas/store";
import { Buckets, quarantineKey, type QuarantineRecord } from "@atlas/core";
import { AgentList, AuditList, ReleaseResult } from "./api.ts";
import { type Api, controlTest, READER_TOKEN, writeHeartbeat } from "./testing.ts";

async function quarantined(api: Api) {
  const { agents } = AgentList.parse(await api.ok(200, "GET", "/v1/agents"));
  return agents.map((a) => [a.id, a.quarantined.map((q) => q.config ?? "*")]);
}

async function quarantine(
  nats: AtlasNats,
  agent: string,
  config: string | undefined,
  reason: string,
): Promise<QuarantineRecord> {
  const record: QuarantineRecord = {
    region: "us-east",
    agent,
    ...(config ? { config } : {}),
    reason,
    rolloutId: "r-20260101000000-abcdef",
    at: new Date().toISOString(),
  };
  const key = config ? quarantineKey("us-east", agent, config) : `us-east.${agent}`;
  await (await nats.kv(Buckets.quarantine)).put(key, JSON.stringify(record));
  return record;
}

controlTest("agents show each config they are quarantined for, and release names one", async ({
  api,
  nats,
}) => {
  await writeHeartbeat(nats, "us-east", "a1");
  await writeHeartbeat(nats, "us-east", "a2");
  const web = await quarantine(nats, "a1", "web", "failed web 3 times");
  await quarantine(nats, "a1", "api.gateway", "failed the gateway");

  const { agents } = AgentList.parse(await api.ok(200, "GET", "/v1/agents"));
  assert.deepEqual(agents.find((a) => a.id === "a1")?.quarantined, [
    {
      config: "api.gateway",
      reason: "failed the gateway",
      rolloutId: web.rolloutId,
      at: agents[0]!.quarantined[0]!.at,
    },
    { config: "web", reason: "failed web 3 times", rolloutId: web.rolloutId, at: web.at },
  ]);
  assert.deepEqual(await quarantined(api), [["a1", ["api.gateway", "web"]], ["a2", []]]);

  const refused = await api.call("POST", "/v1/agents/us-east/a1/release", {
    token: READER_TOKEN,
  });
  assert.equal(refused.status, 403);
  const released = ReleaseResult.parse(
    await api.ok(200, "POST", "/v1/agents/us-east/a1/release", { body: { config: "web" } }),
  );
  assert.deepEqual(released, {
    region: "us-east",
    agent: "a1",
    released: [{
      config: "web",
      reason: "failed web 3 times",
      rolloutId: web.rolloutId,
      at: web.at,
    }],
  });
  assert.deepEqual(await quarantined(api), [["a1", ["api.gateway"]], ["a2", []]]);

  const notFor = await api.call("POST", "/v1/agents/us-east/a1/release?config=web");
  assert.equal(notFor.status, 404);
  assert.match(notFor.text, /not quarantined for web \(it is for api\.gateway\)/);

  const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit"));
  const audited = events.find((e) => e.action === "agent.release");
  assert.equal(audited?.actor, "alice");
  assert.equal(audited?.region, "us-east");
  assert.equal(audited?.config, "web");
  assert.equal(audited?.details.agent, "a1");
  assert.deepEqual(audited?.details.configs, ["web"]);
});

controlTest("release without a config lifts every quarantine, a legacy key among them", async ({
  api,
  nats,
}) => {
  await writeHeartbeat(nats, "us-east", "a1");
  await quarantine(nats, "a1", "web", "web failed");
  await quarantine(nats, "a1", undefined, "from before quarantine was per config");
  assert.deepEqual(await quarantined(api), [["a1", ["*", "web"]]]);
  // The two-token key fences every config: releasing another config lifts it too.
  const other = ReleaseResult.parse(
    await api.ok(200, "POST", "/v1/agents/us-east/a1/release", { body: { config: "api" } }),
  );
  assert.deepEqual(other.released.map((q) => q.config), [null]);
  assert.deepEqual(await quarantined(api), [["a1", ["web"]]]);

  await quarantine(nats, "a1", "api", "api failed");
  const all = ReleaseResult.parse(await api.ok(200, "POST", "/v1/agents/us-east/a1/release"));
  assert.deepEqual(all.released.map((q) => q.config), ["api", "web"]);
  assert.deepEqual(await quarantined(api), [["a1", []]]);
  const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit"));
  assert.deepEqual(
    events.filter((e) => e.action === "agent.release").map((e) => e.details.configs),
    [["api", "web"], ["*"]],
  );
});

controlTest("releasing an agent that is not quarantined is 404", async ({ api, nats }) => {
  await writeHeartbeat(nats, "us-east", "a1");
  const res = await api.call("POST", "/v1/agents/us-east/a1/release");
  assert.equal(res.status, 404);
  assert.match(res.text, /Agent a1 in us-east is not quarantined/);
  assert.equal((await api.call("POST", "/v1/agents/us-east/Bad!/release")).status, 400);
  const badConfig = await api.call("POST", "/v1/agents/us-east/a1/release", {
    body: { config: "Bad Config" },
  });
  assert.equal(badConfig.status, 400);
});
