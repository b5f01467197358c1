/**
 * A real network partition in containers: us-east's NATS node is disconnected from the
 * backbone network that carries every gateway (`docker network disconnect`, no proxy); its
 * coordinator and agents keep their region's network. During the cut the region keeps
 * serving, an operator in the region moves its pointer (a region-local move, signed, content
 * inline) and its agents apply it; the other regions get every change, and the activation
 * that cannot reach us-east is handed to its coordinator (202, deferred). After reconnecting,
 * us-east converges to the activated version and every ack arrives exactly once.
 */
import assert from "node:assert/strict";
import { Buckets, Signer, SigningKeyFile, versionKey, VersionRecord } from "@atlas/core";
import { writePointer } from "@atlas/store";
import { waitFor } from "@atlas/testkit";
import { ackedVersions, containerTest, secondsSince, waitForFile } from "./test_helpers.ts";

containerTest("a region partitioned off the backbone serves, moves locally, converges", {
  regions: [
    { name: "primary", nodes: 3 },
    { name: "us-east", nodes: 1, agents: 2 },
    { name: "eu-west", nodes: 1, agents: 1 },
  ],
}, async (t) => {
  await using primary = await t.connect("primary");
  await using region = await t.connect("us-east");
  const east = t.agents.filter((a) => a.region === "us-east");
  const west = t.agents.filter((a) => a.region === "eu-west");
  await t.expect("PUT", "/v1/configs/web", {}, [201]);
  const publish = async (content: string) =>
    (await t.change<{ version: number }>(content, "POST", "/v1/configs/web/versions", {
      content,
    })).version;
  assert.equal(await publish('{"v":1}'), 1);
  await t.change("activate-1", "POST", "/v1/configs/web/activate", { version: 1 });
  for (const a of t.agents) await waitForFile(t, a, '{"v":1}');
  // v2 is stored before the cut; during it the region moves to it by itself.
  assert.equal(await publish('{"v":2}'), 2);
  const versions = await primary.kv(Buckets.versions);
  const v2 = VersionRecord.parse((await versions.get(versionKey("web", 2)))!.json());
  for (const a of t.agents) {
    await waitFor(`${a.id}'s ack of v1`, async () => (await ackedVersions(primary, a)).length);
  }

  const t0 = performance.now();
  await t.partition("us-east");
  console.log(`  us-east off the backbone; gateways down in ${secondsSince(t0)}`);

  // A region-local move: an operator connected to the region writes its pointer.
  const signer = new Signer(SigningKeyFile.parse(JSON.parse(t.signingKey)));
  await writePointer(region, signer, "us-east", "web", (cur) => ({
    active: v2,
    history: [cur!.active.version, ...cur!.history],
    reason: "region-local move during the partition",
  }), { issuedBy: "ops", inline: { [v2.digest]: new TextEncoder().encode('{"v":2}') } });
  for (const a of east) await waitForFile(t, a, '{"v":2}');

  // The other regions get every change; us-east's activation is deferred to its coordinator.
  assert.equal(await publish('{"v":3}'), 3);
  const activating = performance.now();
  const moved = await t.expect<{
    regions: { region: string; version: number }[];
    deferred: { region: string; rolloutId: string }[];
  }>("POST", "/v1/configs/web/activate", { version: 3 }, [202]);
  console.log(`  activate answered 202 in ${secondsSince(activating)} (us-east deferred)`);
  assert.deepEqual(moved.regions.map((r) => [r.region, r.version]), [["eu-west", 3]]);
  assert.deepEqual(moved.deferred.map((d) => d.region), ["us-east"]);
  for (const a of west) await waitForFile(t, a, '{"v":3}');
  for (const a of east) assert.equal(await t.agentFile(a), '{"v":2}', `${a.id} serves v2`);

  const healing = performance.now();
  await t.heal("us-east");
  const linked = secondsSince(healing);
  for (const a of east) await waitForFile(t, a, '{"v":3}', 90_000);
  const converged = secondsSince(healing);
  const handoff = moved.deferred[0]!.rolloutId;
  await waitFor("the deferred activation succeeded", async () => {
    const r = await t.expect<{ state: string }>("GET", `/v1/rollouts/${handoff}`);
    return r.state === "succeeded";
  }, { timeoutMs: 90_000 });
  for (const a of east) {
    await waitFor(
      `${a.id}'s acks up to v3`,
      async () => (await ackedVersions(primary, a)).includes(3),
      { timeoutMs: 90_000 },
    );
  }
  console.log(
    `  reconnected: gateways up in ${linked}, us-east on v3 in ${converged}, acks in ` +
      `${secondsSince(healing)}`,
  );
  // Every ack exactly once: the buffered v2 acks, then v3.
  for (const a of east) assert.deepEqual(await ackedVersions(primary, a), [1, 2, 3], a.id);
  for (const a of west) assert.deepEqual(await ackedVersions(primary, a), [1, 3], a.id);
});
