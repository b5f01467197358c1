import assert from "node:assert/strict";
import type { AgentConfigState } from "@atlas/nats";
import { AgentList, ConfigStatus } from "./api.ts";
import { controlTest, createConfig, publish, writeHeartbeat } from "./testing.ts";

const D1 = "1".repeat(64);
const D2 = "2".repeat(64);

function state(version: number | null, digest: string | null, disk: string | null) {
  const at = new Date().toISOString();
  const s: AgentConfigState = {
    applied: version === null || digest === null
      ? null
      : { version, digest, seq: version, appliedAt: at },
    diskDigest: disk,
    lastAck: version === null ? null : { version, seq: version, status: "applied", at },
  };
  return s;
}

controlTest("status shows per region which agents run the active version", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "one");
  await publish(api, "web", "two");
  await api.ok(200, "POST", "/v1/configs/web/activate", {
    body: { version: 2, regions: ["us-east"] },
  });
  await writeHeartbeat(nats, "us-east", "a1", { web: state(2, D2, D2) });
  await writeHeartbeat(nats, "us-east", "a2", { web: state(1, D1, D1) });
  const rejected = state(1, D1, D1);
  rejected.lastAck = { version: 2, seq: 1, status: "rejected", reason: "bad signature", at: "" };
  rejected.lastAck.at = new Date().toISOString();
  await writeHeartbeat(nats, "us-east", "a3", { web: rejected });
  await writeHeartbeat(nats, "us-east", "a4", { other: state(1, D1, D1) });
  await writeHeartbeat(nats, "eu-west", "b1", { web: state(null, null, null) });

  const status = ConfigStatus.parse(await api.ok(200, "GET", "/v1/configs/web/status"));
  const [eu, us] = status.regions;
  assert.equal(eu?.region, "eu-west");
  assert.equal(eu?.pointer, null);
  assert.deepEqual(eu?.agents, {
    total: 1,
    onActive: [],
    onOther: [{ agent: "b1", version: null }],
    rejects: [],
  });
  assert.equal(us?.pointer?.version, 2);
  assert.deepEqual(us?.pointer?.history, []);
  assert.deepEqual(us?.agents, {
    total: 3,
    onActive: ["a1"],
    onOther: [{ agent: "a2", version: 1 }, { agent: "a3", version: 1 }],
    rejects: [{ agent: "a3", version: 2, status: "rejected", reason: "bad signature" }],
  });
});

controlTest("agents list marks stale heartbeats and drifted files", async ({ api, nats }) => {
  await writeHeartbeat(nats, "us-east", "fresh", { web: state(1, D1, D1) });
  await writeHeartbeat(nats, "us-east", "old", { web: state(1, D1, D2) }, 91_000);
  await writeHeartbeat(nats, "eu-west", "other", {});
  const all = AgentList.parse(await api.ok(200, "GET", "/v1/agents"));
  assert.deepEqual(all.agents.map((a) => [a.region, a.id, a.stale]), [
    ["eu-west", "other", false],
    ["us-east", "fresh", false],
    ["us-east", "old", true],
  ]);
  const us = AgentList.parse(await api.ok(200, "GET", "/v1/agents?region=us-east"));
  assert.deepEqual(us.agents.map((a) => [a.id, a.configs.web?.drift]), [
    ["fresh", false],
    ["old", true],
  ]);
  assert.equal((await api.call("GET", "/v1/agents?region=Bad%20Region")).status, 400);
});
