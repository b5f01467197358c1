import assert from "node:assert/strict";
import { type AckRecord, type AgentConfigState, Buckets, Subjects } from "@atlas/core";
import { type AtlasNats, revokeEnrolment } from "@atlas/store";
import { enrolAgent } from "@atlas/testkit";
import { AgentList, AuditList, ConfigStatus, RemoveResult } from "./api.ts";
import { controlTest, createConfig, publish, READER_TOKEN, writeHeartbeat } from "./testing.ts";

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

function ack(agent: string, status: AckRecord["status"], reason: string): AckRecord {
  return {
    agent,
    region: "us-east",
    config: "web",
    version: 2,
    digest: D2,
    seq: 1,
    status,
    reason,
    latencyMs: 1,
    at: new Date().toISOString(),
  };
}

async function publishAck(nats: AtlasNats, a: AckRecord): Promise<void> {
  await nats.js.publish(Subjects.ack(a.region, a.config, a.agent), JSON.stringify(a));
}

/** Config `web` with versions 1 and 2, v2 active in us-east. */
async function webOnV2InUsEast(api: Parameters<Parameters<typeof controlTest>[1]>[0]["api"]) {
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "one");
  await publish(api, "web", "two");
  await api.ok(200, "POST", "/v1/configs/web/activate", {
    body: { version: 2, regions: ["us-east"] },
  });
}

controlTest("status shows per region which agents run the active version", async ({
  api,
  nats,
}) => {
  await webOnV2InUsEast(api);
  for (const id of ["a1", "a2", "a4"]) await enrolAgent(nats, "us-east", id);
  await enrolAgent(nats, "eu-west", "b1");
  const a3 = (await enrolAgent(nats, "us-east", "a3")).identity;
  await writeHeartbeat(nats, "us-east", "a1", { web: state(2, D2, D2) });
  await writeHeartbeat(nats, "us-east", "a2", { web: state(1, D1, D1) });
  await writeHeartbeat(nats, "us-east", "a3", { web: state(1, D1, D1) });
  // What status reports as a3's last attempt is its signed ack, not the heartbeat.
  await publishAck(nats, a3.sign(ack("a3", "rejected", "bad signature")));
  await writeHeartbeat(nats, "us-east", "a4", { other: state(1, D1, D1) });
  await writeHeartbeat(nats, "eu-west", "b1", { web: state(null, null, null) });
  // Not enrolled: not counted, whatever it says.
  await writeHeartbeat(nats, "us-east", "a5", { web: state(2, D2, D2) });
  // Enrolled; its genuine ack is followed by forgeries (a3's key, unsigned): status shows the
  // genuine one.
  const a6 = (await enrolAgent(nats, "us-east", "a6")).identity;
  await writeHeartbeat(nats, "us-east", "a6", { web: state(1, D1, D1) });
  await publishAck(nats, a6.sign(ack("a6", "rejected", "genuine")));
  await publishAck(nats, a3.sign(ack("a6", "failed", "forged")));
  await publishAck(nats, ack("a6", "failed", "forged"));
  // Enrolled, then revoked: not counted either.
  await enrolAgent(nats, "us-east", "a7");
  await revokeEnrolment(nats, { region: "us-east", agent: "a7" });
  await writeHeartbeat(nats, "us-east", "a7", { web: state(2, D2, D2) });

  const status = ConfigStatus.parse(await api.ok(200, "GET", "/v1/configs/web/status"));
  const [eu, us] = status.regions;
  assert.equal(eu?.region, "eu-west");
  assert.equal(eu?.pointer, null);
  assert.deepEqual(eu?.agents, {
    total: 1,
    onActive: [],
    onOther: [{ agent: "b1", version: null }],
    rejects: [],
    gone: [],
    unverified: [],
  });
  assert.equal(us?.pointer?.version, 2);
  assert.deepEqual(us?.pointer?.history, []);
  assert.deepEqual(us?.agents, {
    total: 4,
    onActive: ["a1"],
    onOther: [
      { agent: "a2", version: 1 },
      { agent: "a3", version: 1 },
      { agent: "a6", version: 1 },
    ],
    rejects: [
      { agent: "a3", version: 2, status: "rejected", reason: "bad signature" },
      { agent: "a6", version: 2, status: "rejected", reason: "genuine" },
    ],
    gone: [],
    unverified: [{ agent: "a5", reason: "unenrolled" }, { agent: "a7", reason: "revoked" }],
  });
});

controlTest("an applied ack newer than the record says what runs; a forged one does not", async ({
  api,
  nats,
}) => {
  await webOnV2InUsEast(api);
  // Agents write no record after an apply: both records still say v1 (seq 1).
  const genuine = (await enrolAgent(nats, "us-east", "genuine")).identity;
  const other = (await enrolAgent(nats, "us-east", "other")).identity;
  await enrolAgent(nats, "us-east", "forged");
  await writeHeartbeat(nats, "us-east", "genuine", { web: state(1, D1, D1) });
  await writeHeartbeat(nats, "us-east", "forged", { web: state(1, D1, D1) });
  const applied = (agent: string): AckRecord => ({ ...ack(agent, "applied", ""), seq: 2 });
  await publishAck(nats, genuine.sign(applied("genuine")));
  // Signed with another agent's key, and unsigned: neither is the agent's.
  await publishAck(nats, other.sign(applied("forged")));
  await publishAck(nats, applied("forged"));

  const status = ConfigStatus.parse(await api.ok(200, "GET", "/v1/configs/web/status"));
  const us = status.regions.find((r) => r.region === "us-east")!;
  assert.deepEqual(us.agents.onActive, ["genuine"]);
  assert.deepEqual(us.agents.onOther, [{ agent: "forged", version: 1 }]);
  assert.equal(us.propagation?.acked, 1);

  const list = AgentList.parse(await api.ok(200, "GET", "/v1/agents?region=us-east"));
  const web = (id: string) => list.agents.find((a) => a.id === id)?.configs.web;
  assert.equal(web("genuine")?.applied?.version, 2);
  assert.equal(web("genuine")?.diskDigest, D2);
  assert.equal(web("genuine")?.drift, false);
  assert.equal(web("genuine")?.lastAck?.seq, 2);
  assert.equal(web("forged")?.applied?.version, 1);
  assert.equal(web("forged")?.lastAck?.seq, 1);
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

controlTest("staleness follows each agent's own heartbeat interval, and a goodbye", async ({
  api,
  nats,
}) => {
  // 40 s without a beat: gone for an agent beating every 5 s (limit 20 s), not every 15 s.
  await writeHeartbeat(nats, "us-east", "fast", {}, 40_000, { heartbeatSeconds: 5 });
  await writeHeartbeat(nats, "us-east", "slow", {}, 40_000, { heartbeatSeconds: 15 });
  await writeHeartbeat(nats, "us-east", "left", {}, 0, { leftAt: new Date().toISOString() });
  const { agents } = AgentList.parse(await api.ok(200, "GET", "/v1/agents"));
  assert.deepEqual(agents.map((a) => [a.id, a.stale]), [
    ["fast", true],
    ["left", true],
    ["slow", false],
  ]);
});

controlTest("status counts live members only and says which members are gone", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "one");
  await api.ok(200, "POST", "/v1/configs/web/activate", { body: { version: 1 } });
  await enrolAgent(nats, "us-east", "a1");
  await writeHeartbeat(nats, "us-east", "a1", { web: state(1, D1, D1) });
  await writeHeartbeat(nats, "us-east", "a2", { web: state(1, D1, D1) }, 0, {
    leftAt: new Date().toISOString(),
  });
  await writeHeartbeat(nats, "us-east", "a3", { web: state(null, null, null) }, 200_000);
  await writeHeartbeat(nats, "us-east", "other", { api: state(1, D1, D1) }, 200_000);
  const status = ConfigStatus.parse(await api.ok(200, "GET", "/v1/configs/web/status"));
  const us = status.regions.find((r) => r.region === "us-east");
  assert.deepEqual(us?.agents, {
    total: 1,
    onActive: ["a1"],
    onOther: [],
    rejects: [],
    gone: ["a2", "a3"],
    unverified: [],
  });
});

controlTest(
  "removing an agent forgets its heartbeat and quarantines, live ones only by force",
  async ({
    api,
    nats,
  }) => {
    await writeHeartbeat(nats, "us-east", "live");
    await writeHeartbeat(nats, "us-east", "dead", {}, 200_000);
    const q = {
      region: "us-east",
      agent: "dead",
      config: "web",
      reason: "failed",
      at: new Date().toISOString(),
    };
    await (await nats.kv(Buckets.quarantine)).put("us-east.dead.web", JSON.stringify(q));

    const refused = await api.call("DELETE", "/v1/agents/us-east/live");
    assert.equal(refused.status, 409);
    assert.match(
      refused.text,
      /Agent live in us-east is alive: its last heartbeat was \d+ s ago \(it beats every 15 s\)/,
    );
    assert.match(refused.text, /Stop the agent first .* or remove it anyway with \?force=true/);
    assert.equal(
      (await api.call("DELETE", "/v1/agents/us-east/dead", { token: READER_TOKEN })).status,
      403,
    );

    const removed = RemoveResult.parse(await api.ok(200, "DELETE", "/v1/agents/us-east/dead"));
    assert.equal(removed.heartbeat, true);
    assert.deepEqual(removed.quarantine.map((x) => [x.config, x.reason]), [["web", "failed"]]);
    const forced = RemoveResult.parse(
      await api.ok(200, "DELETE", "/v1/agents/us-east/live?force=true"),
    );
    assert.equal(forced.heartbeat, true);
    assert.deepEqual(AgentList.parse(await api.ok(200, "GET", "/v1/agents")).agents, []);
    assert.equal(
      (await (await nats.kv(Buckets.quarantine)).get("us-east.dead.web"))?.operation,
      "DEL",
    );
    assert.equal((await api.call("DELETE", "/v1/agents/us-east/dead")).status, 404);

    const { events } = AuditList.parse(await api.ok(200, "GET", "/v1/audit"));
    assert.deepEqual(
      events.filter((e) => e.action === "agent.remove").map((e) => [
        e.details.agent,
        e.details.quarantine,
        e.details.forced,
      ]),
      [["live", [], true], ["dead", ["web"], false]],
    );
  },
);
