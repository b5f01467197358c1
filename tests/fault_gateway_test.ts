/**
 * Fault test on a real supercluster: every gateway link of one region (us-east) is cut
 * while the other regions keep working. The cut region keeps serving what it applied; an
 * activation reaches eu-west at once and is handed to us-east's coordinator; a server that
 * boots in us-east during the cut applies the region's version from the region's own copy
 * of the blobs, and its ack waits on disk. After the heal, us-east converges to the new
 * version and every ack arrives exactly once.
 */
import assert from "node:assert/strict";
import {
  acksOf,
  connectAs,
  type HasLog,
  printLogsOnFailure,
  serverTls,
  startSupercluster,
  tempPki,
  waitFor,
} from "@atlas/testkit";
import { type AtlasNats, provision, provisionRegion, readMirroredBlob } from "@atlas/store";
import { blobMirrorStream, pointerBucket } from "@atlas/core";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

/** Versions acked by `agent` in `region` for web, in stream order. */
async function ackedVersions(nats: AtlasNats, region: string, agent: string): Promise<number[]> {
  return (await acksOf(nats, region, "web", agent)).map((a) => a.version);
}

const secondsSince = (t: number) => `${((performance.now() - t) / 1000).toFixed(1)} s`;

Deno.test({
  name: "a region cut off by its gateways keeps serving, and converges with its acks once healed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // With NATS authorization and TLS on clients, routes and gateways (through the cuttable
    // proxies), as production runs.
    await using pki = await tempPki();
    const tls = { caFile: pki.caFile };
    await using sc = await startSupercluster(
      [{ name: "primary" }, { name: "us-east" }, { name: "eu-west" }],
      { cuttable: true, tls: serverTls(pki) },
    );
    const logs: HasLog[] = [];
    await printLogsOnFailure(
      () => [sc, ...logs],
      async () => {
        await using primary = await connectAs(sc.cluster("primary").urls, "control", { tls });
        await provision(primary, { cluster: "primary" });
        await provisionRegion(primary, "us-east", { cluster: "us-east" });
        await using control = await startTestControl(sc.cluster("primary").urls, { natsTls: tls });
        const { expect } = control;
        // A region added over the API is placed in its own cluster too.
        await expect("PUT", "/v1/regions/eu-west", { cluster: "eu-west" }, 201);
        for (const stream of [`KV_${pointerBucket("eu-west")}`, blobMirrorStream("eu-west")]) {
          assert.equal((await primary.jsm.streams.info(stream)).cluster?.name, "eu-west", stream);
        }
        await expect("PUT", "/v1/configs/web", {}, 201);
        const v1 = await expect<{ digest: string }>(
          "POST",
          "/v1/configs/web/versions",
          { content: '{"v":1}' },
          201,
        );
        await expect("POST", "/v1/configs/web/activate", { version: 1 });

        // Each region's coordinator and agents talk to their own region's node only.
        await using east = await connectAs(sc.cluster("us-east").urls, "control", { tls });
        const stopEast = await runCoordinators(
          sc.cluster("us-east").urls,
          control,
          ["us-east"],
          (l) => logs.push(l),
          { tls },
        );
        const stopWest = await runCoordinators(
          sc.cluster("eu-west").urls,
          control,
          ["eu-west"],
          (l) => logs.push(l),
          { tls },
        );
        const urls = (region: string) => sc.cluster(region).urls;
        const agents = await startTestAgents(control, [
          { id: "e1", region: "us-east", nats: urls("us-east"), tls },
          { id: "e2", region: "us-east", nats: urls("us-east"), tls },
          { id: "w1", region: "eu-west", nats: urls("eu-west"), tls },
        ], (l) => logs.push(l));
        const content = (a: { file: string }) => Deno.readTextFile(a.file).catch(() => "");
        const [e1, e2, w1] = agents as [typeof agents[0], typeof agents[0], typeof agents[0]];
        try {
          for (const a of agents) {
            await waitFor(`v1 applied by ${a.id}`, async () => (await content(a)) === '{"v":1}');
          }

          // The scenario starts from a region whose blob copy is in sync. (If nats-server
          // started the copy past a message, the region's coordinator rebuilds it.)
          await waitFor(
            "v1 in us-east's blob copy",
            () => readMirroredBlob(east, "us-east", v1.digest),
            { timeoutMs: 30_000 },
          );
          // Cut every gateway link of us-east, both ways.
          await sc.cutRegion("us-east");
          const cut = performance.now();

          // Publishing and activating still work; eu-west gets v2 at once, us-east is
          // handed to its coordinator (the activation tries it for its deadline first).
          await expect("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
          const t0 = performance.now();
          const moved = await expect<{
            regions: { region: string; version: number }[];
            deferred: { region: string; rolloutId: string; reason: string }[];
          }>("POST", "/v1/configs/web/activate", { version: 2 }, 202);
          console.log(`  activate answered 202 in ${secondsSince(t0)} (us-east deferred)`);
          assert.deepEqual(moved.regions.map((r) => [r.region, r.version]), [["eu-west", 2]]);
          assert.deepEqual(moved.deferred.map((d) => d.region), ["us-east"]);
          const handoff = moved.deferred[0]!.rolloutId;
          await waitFor(
            "v2 applied in eu-west during the cut",
            async () => (await content(w1)) === '{"v":2}',
          );

          // Its enrolment (a write to the primary) needs the JetStream meta group, which may
          // still be electing a leader after the cut took us-east's peers away.
          await waitFor("the primary's JetStream answers during the cut", async () => {
            await primary.jsm.getAccountInfo();
            return true;
          }, { timeoutMs: 60_000 });
          // A server boots in us-east during the cut: it gets the region's version, with
          // the content from the region's copy of the blobs, and keeps its ack on disk.
          const [e3] = await startTestAgents(control, [
            { id: "e3", region: "us-east", nats: urls("us-east"), tls },
          ], (l) => logs.push(l));
          agents.push(e3!);
          await waitFor(
            "v1 applied by e3 during the cut",
            async () => (await content(e3!)) === '{"v":1}',
          );
          assert.equal(e3!.agent.stats.regionCopyHits, 1, "content from the region's copy");
          assert.equal(e3!.agent.stats.fetches, 0, "nothing fetched across the gateway");
          await waitFor("e3's ack buffered", async () => (await e3!.agent.pendingAcks()) === 1);

          // The cut region kept serving what it had, well past the agents' reconnect backoff.
          await new Promise((r) => setTimeout(r, 3_000));
          for (const a of [e1, e2]) assert.equal(await content(a), '{"v":1}', a.id);
          console.log(`  us-east cut for ${secondsSince(cut)}; healing`);

          await sc.healRegion("us-east");
          const healed = performance.now();
          for (const a of [e1, e2, e3!]) {
            await waitFor(
              `${a.id} converged to v2 after the heal`,
              async () => (await content(a)) === '{"v":2}',
              { timeoutMs: 60_000 },
            );
          }
          console.log(`  us-east converged to v2 ${secondsSince(healed)} after the heal`);
          // Where the time went (for a slow run): when us-east's coordinator led again.
          const healedAt = Date.now() - (performance.now() - healed);
          const coordinatorLog = logs.find((l) => l.name === "coordinator us-east")!;
          const retaken = (await coordinatorLog.logTail(200)).split("\n")
            .filter((line) => line.includes(" leading "))
            .map((line) => Date.parse(line.slice(0, 24)))
            .find((t) => t >= healedAt);
          if (retaken !== undefined) {
            const after = ((retaken - healedAt) / 1000).toFixed(1);
            console.log(`  (its coordinator led again ${after} s after the heal)`);
          }
          await waitFor(
            "buffered acks delivered",
            async () => (await e3!.agent.pendingAcks()) === 0,
            { timeoutMs: 60_000 },
          );
          const rollout = await waitFor("the handoff rollout succeeded", async () => {
            const r = await expect<{ state: string; regions: Record<string, { note?: string }> }>(
              "GET",
              `/v1/rollouts/${handoff}`,
            );
            // Thrown, it is the timeout's cause: where the rollout stood, for a slow run.
            if (r.state !== "succeeded") {
              throw new Error(`the rollout is ${r.state}: ${r.regions["us-east"]?.note}`);
            }
            return r;
          }, { timeoutMs: 60_000 });
          assert.equal(rollout.state, "succeeded");
          console.log(`  acks and rollout settled ${secondsSince(healed)} after the heal`);

          for (const [id, region] of [["e1", "us-east"], ["e2", "us-east"], ["w1", "eu-west"]]) {
            assert.deepEqual(await ackedVersions(primary, region!, id!), [1, 2], id);
          }
          assert.deepEqual(
            await ackedVersions(primary, "us-east", "e3"),
            [1, 2],
            "e3's buffered ack exactly once, then v2",
          );
        } finally {
          await Promise.all(agents.map((a) => a.agent.close()));
          await stopEast();
          await stopWest();
        }
      },
    );
  },
});
