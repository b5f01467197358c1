import assert from "node:assert/strict";
import { type AckIdentity, type AckRecord, Streams, Subjects } from "@atlas/core";
import { type AtlasNats, revokeEnrolment } from "@atlas/store";
import { enrolAgent, makeCredentials, waitFor } from "@atlas/testkit";
import { Evidence } from "./api.ts";
import { controlTest, createConfig, publish } from "./testing.ts";

function applied(agent: string, version: number, seq: number): AckRecord {
  return {
    agent,
    region: "us-east",
    config: "web",
    version,
    digest: String(version).repeat(64),
    seq,
    status: "applied",
    latencyMs: 1,
    at: new Date().toISOString(),
  };
}

/** Publishes `ack` (signed by `by`, if given) and returns when the stream stored it, ms. */
async function publishAck(nats: AtlasNats, ack: AckRecord, by?: AckIdentity): Promise<number> {
  const body = by ? by.sign(ack) : ack;
  const pa = await nats.js.publish(
    Subjects.ack(ack.region, ack.config, ack.agent),
    JSON.stringify(body),
  );
  const m = await nats.jsm.direct.getMessage(Streams.acks, { seq: pa.seq });
  return m!.time.getTime();
}

/** Waits until the clock has moved past `t`, so what is stored next is stored after it. */
async function after(t: number): Promise<void> {
  await waitFor("the clock to move", () => Promise.resolve(Date.now() > t + 1), {
    intervalMs: 1,
  });
}

controlTest("evidence names the hosts that ran a version at a time, from signed acks", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "one");
  await publish(api, "web", "two");
  const a1 = (await enrolAgent(nats, "us-east", "a1")).identity;
  const a2 = (await enrolAgent(nats, "us-east", "a2")).identity;
  const a3 = (await enrolAgent(nats, "us-east", "a3")).identity;
  await publishAck(nats, applied("a1", 1, 1), a1);
  await publishAck(nats, applied("a2", 1, 1), a2);
  const t1 = await publishAck(nats, applied("a3", 1, 1), a3);
  await after(t1);
  await publishAck(nats, applied("a1", 2, 2), a1);
  // Forgeries claiming a2 and a3 moved to v2: unsigned, another agent's key, a stranger's.
  await publishAck(nats, applied("a2", 2, 2));
  await publishAck(nats, applied("a2", 2, 2), a1);
  await publishAck(nats, applied("a3", 2, 2), (await makeCredentials("x")).identity);
  // a2 rejects v2 (signed): it still runs v1.
  const t2 = await publishAck(nats, { ...applied("a2", 2, 2), status: "rejected" }, a2);
  await after(t2);
  await revokeEnrolment(nats, { region: "us-east", agent: "a3" });
  // a2 enrolled again with a new key: its acks signed with the old one still prove.
  await enrolAgent(nats, "us-east", "a2");
  await publishAck(nats, applied("a3", 2, 3), a3); // after its revocation: does not count

  const hosts = async (version: number, at?: number) => {
    const q = at === undefined ? "" : `?at=${encodeURIComponent(new Date(at).toISOString())}`;
    const e = Evidence.parse(
      await api.ok(200, "GET", `/v1/configs/web/versions/${version}/evidence${q}`),
    );
    return { hosts: e.hosts.map((h) => h.agent), unverified: e.unverified, e };
  };
  assert.deepEqual((await hosts(1, t1)).hosts, ["a1", "a2", "a3"]);
  assert.deepEqual((await hosts(2, t1)).hosts, []);
  const now1 = await hosts(1);
  assert.deepEqual(now1.hosts, ["a2", "a3"], "a3's v1 ack, before its revocation, still proves");
  const now2 = await hosts(2);
  assert.deepEqual(now2.hosts, ["a1"]);
  assert.equal(now2.unverified, 4, "three forgeries and the revoked agent's later ack");
  const proof = now2.e.hosts[0]!;
  assert.equal(proof.publicKey, a1.publicKey);
  assert.equal(proof.version, 2);
  assert.ok(proof.signature.length > 0);
});

controlTest("evidence refuses an unknown version and a malformed time", async ({ api }) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "one");
  assert.equal((await api.call("GET", "/v1/configs/web/versions/9/evidence")).status, 404);
  assert.equal((await api.call("GET", "/v1/configs/nope/versions/1/evidence")).status, 404);
  const bad = await api.call("GET", "/v1/configs/web/versions/1/evidence?at=yesterday");
  assert.equal(bad.status, 400);
  assert.match(bad.text, /ISO-8601/);
});
