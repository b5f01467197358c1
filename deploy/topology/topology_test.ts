/**
 * Atlas in containers, as production runs it (deploy/topology): one topology shared by the
 * steps, in order. The core path (publish → activate → the file in the agent container, kept
 * across a restart of the container), kill -9 of a primary NATS node under a stream of
 * publishes and activations (no change lost or doubled, agents converge), and every
 * container of a region restarted (it converges, no ack doubled).
 */
import assert from "node:assert/strict";
import { docker } from "./docker.ts";
import { ackedVersions, containerTest, secondsSince, waitForFile } from "./test_helpers.ts";
import { waitFor } from "@atlas/testkit";
import type { Topology } from "./topology.ts";

/** Publishes `content` and activates it everywhere; returns the version number. */
async function publishAndActivate(t: Topology, key: string, content: string): Promise<number> {
  const { version } = await t.change<{ version: number }>(
    `${key}-publish`,
    "POST",
    "/v1/configs/web/versions",
    { content },
  );
  await t.change(`${key}-activate`, "POST", "/v1/configs/web/activate", { version });
  return version;
}

/** Each version an agent acked, and that none was acked twice. */
function assertOncePerVersion(acks: number[], who: string): void {
  const twice = acks.filter((v, i) => acks.indexOf(v) !== i);
  assert.deepEqual(twice, [], `${who} acked these versions more than once: ${acks}`);
}

containerTest("Atlas in containers: core path, kill -9 of a NATS node, a region restarted", {
  regions: [
    { name: "primary", nodes: 3 },
    { name: "us-east", nodes: 1, agents: 1 },
    { name: "eu-west", nodes: 1, agents: 1 },
  ],
}, async (t, ctx) => {
  await using primary = await t.connect("primary");
  const [east, west] = t.agents as [typeof t.agents[0], typeof t.agents[0]];

  await ctx.step("publish, activate: the agent containers' files hold the bytes", async () => {
    await t.expect("PUT", "/v1/configs/web", {}, [201]);
    assert.equal(await publishAndActivate(t, "v1", '{"v":1}'), 1);
    for (const a of t.agents) await waitForFile(t, a, '{"v":1}');
    for (const a of t.agents) {
      await waitFor(`${a.id}'s ack of v1`, async () => (await ackedVersions(primary, a)).length);
      assert.deepEqual(await ackedVersions(primary, a), [1], a.id);
    }
  });

  await ctx.step("an agent container restarted keeps its file and state", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await docker("restart", "--time", "10", east.container);
    assert.equal(await t.agentFile(east), '{"v":1}', "the file is on the state volume");
    await waitFor("the restarted agent connected", async () => {
      const logs = await docker("logs", "--since", String(since), east.container);
      return /"msg":"connected"/.test(logs);
    }, { timeoutMs: 60_000 });
    // It applies the next version from where it was: v1 is not applied or acked again.
    assert.equal(await publishAndActivate(t, "v2", '{"v":2}'), 2);
    for (const a of t.agents) await waitForFile(t, a, '{"v":2}');
    await waitFor(
      "v2 acked by the restarted agent",
      async () => (await ackedVersions(primary, east)).includes(2),
    );
    assert.deepEqual(await ackedVersions(primary, east), [1, 2]);
  });

  await ctx.step("kill -9 of the versions' stream leader under load: no change lost", async () => {
    const info = await primary.jsm.streams.info("KV_atlas_versions");
    const leader = t.nats.find((n) => n.name === info.cluster?.leader);
    assert.ok(leader, `the versions stream has a leader among ${t.nats.map((n) => n.name)}`);
    const published = new Map<number, string>([[1, '{"v":1}'], [2, '{"v":2}']]);
    const changes = 12;
    // The kill and the start are fired while changes are in flight, never between them.
    let killed: Promise<unknown> | undefined;
    let started: Promise<unknown> | undefined;
    const t0 = performance.now();
    try {
      for (let i = 3; i < 3 + changes; i++) {
        if (i === 5) {
          killed = docker("kill", "--signal", "KILL", leader.container);
          console.log(`  kill -9 ${leader.name} at ${secondsSince(t0)}, change ${i} in flight`);
        }
        if (i === 10) {
          started = killed!.then(() => docker("start", leader.container));
          console.log(`  start ${leader.name} at ${secondsSince(t0)}, change ${i} in flight`);
        }
        const content = `{"v":${i}}`;
        const t1 = performance.now();
        const version = await publishAndActivate(t, `v${i}`, content);
        published.set(version, content);
        console.log(`  change ${i}: version ${version} in ${secondsSince(t1)}`);
      }
    } finally {
      // Started again even when a change failed, so the next step finds three nodes.
      await (started ?? killed?.then(() => docker("start", leader.container)));
    }

    const last = Math.max(...published.keys());
    const { versions } = await t.expect<{ versions: { version: number }[] }>(
      "GET",
      "/v1/configs/web/versions",
    );
    assert.deepEqual(
      versions.map((v) => v.version).sort((a, b) => a - b),
      [...published.keys()].sort((a, b) => a - b),
      "every publish that answered is stored, once",
    );
    assert.equal(last, 2 + changes, "no version number skipped or doubled");
    for (const [version, content] of published) {
      const res = await fetch(`${t.controlUrl}/v1/configs/web/versions/${version}/content`, {
        headers: { authorization: `Bearer ${t.token}` },
      });
      assert.equal(await res.text(), content, `content of version ${version}`);
    }
    for (const a of t.agents) await waitForFile(t, a, published.get(last)!, 90_000);
    for (const a of t.agents) {
      await waitFor(
        `${a.id} acked v${last}`,
        async () => (await ackedVersions(primary, a)).includes(last),
        { timeoutMs: 60_000 },
      );
      assertOncePerVersion(await ackedVersions(primary, a), a.id);
    }
  });

  await ctx.step("every container of a region restarted: it converges", async () => {
    const containers = t.containersOf("eu-west");
    const t0 = performance.now();
    await docker("restart", "--time", "10", ...containers);
    await t.waitGateways("eu-west", true);
    console.log(`  eu-west (${containers.length} containers) back in ${secondsSince(t0)}`);
    const before = await ackedVersions(primary, west);
    const version = await publishAndActivate(t, "after-restart", '{"after":"restart"}');
    for (const a of t.agents) await waitForFile(t, a, '{"after":"restart"}', 90_000);
    await waitFor(
      `${west.id} acked v${version}`,
      async () => (await ackedVersions(primary, west)).includes(version),
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(await ackedVersions(primary, west), [...before, version]);
    for (const a of t.agents) assertOncePerVersion(await ackedVersions(primary, a), a.id);
    console.log(`  converged ${secondsSince(t0)} after the restart`);
  });
});
