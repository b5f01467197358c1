/**
 * Fault test on a real supercluster: the primary region (3 nodes, R3: configs, versions,
 * blobs, acks, audit) goes down entirely. The other regions' agents keep their files and
 * read their region's pointers; a pointer move made in the region is applied, and its ack
 * waits on disk; publishes fail with a clear 503. When the primary returns, the buffered
 * ack arrives exactly once and publishing works again.
 */
import assert from "node:assert/strict";
import {
  acksOf,
  connectAs,
  type HasLog,
  printLogsOnFailure,
  serverTls,
  startSupercluster,
  storeVersion,
  tempPki,
  waitFor,
} from "@atlas/testkit";
import { loadSigner, provision, provisionRegion, readPointer, writePointer } from "@atlas/store";
import { startTestAgents, startTestControl } from "./harness.ts";

Deno.test({
  name: "with the primary region down, regions keep serving and applying; publishes get 503",
  fn: async () => {
    // With NATS authorization and TLS on clients, routes and gateways, as production runs.
    await using pki = await tempPki();
    const tls = { caFile: pki.caFile };
    await using sc = await startSupercluster([{ name: "primary", nodes: 3 }, { name: "us-east" }], {
      tls: serverTls(pki),
    });
    const logs: HasLog[] = [];
    await printLogsOnFailure(
      () => [sc, ...logs],
      async () => {
        await using primary = await connectAs(sc.cluster("primary").urls, "control", { tls });
        await provision(primary, { replicas: 3, cluster: "primary" });
        await provisionRegion(primary, "us-east", { cluster: "us-east" });
        await using control = await startTestControl(sc.cluster("primary").urls, {
          replicas: 3,
          natsTls: tls,
        });
        const signer = await loadSigner(control.signingKeyFile);
        const call = control.call;
        assert.equal((await call("PUT", "/v1/configs/web", {})).status, 201);
        assert.equal(
          (await call("POST", "/v1/configs/web/versions", { content: '{"v":1}' })).status,
          201,
        );
        assert.equal((await call("POST", "/v1/configs/web/activate", { version: 1 })).status, 200);
        // v2 is stored now; during the outage the region will move to it by itself.
        const v2 = await storeVersion(primary, signer, "web", 2, '{"v":2}');

        const [e1] = await startTestAgents(control, [{
          id: "e1",
          region: "us-east",
          nats: sc.cluster("us-east").urls,
          tls,
        }], (l) => logs.push(l));
        await using agent = e1!.agent;
        const file = e1!.file;
        await waitFor(
          "v1 applied",
          async () => (await Deno.readTextFile(file).catch(() => "")) === '{"v":1}',
        );

        // v1's ack delivered first: under load it could still be queued at the kill, and the
        // count of buffered acks below would be two.
        await waitFor("v1's ack delivered", async () => (await agent.pendingAcks()) === 0);
        // The whole primary region goes down.
        const down = performance.now();
        await Promise.all(sc.cluster("primary").servers.map((s) => s.kill()));

        await using region = await connectAs(sc.cluster("us-east").urls, "control", { tls });
        assert.equal(
          (await readPointer(region, "us-east", "web"))?.pointer.active.version,
          1,
          "region-local reads",
        );
        // An operator (or coordinator) in the region moves the pointer: only regional state.
        await writePointer(region, signer, "us-east", "web", (cur) => ({
          active: v2,
          history: [cur!.active.version, ...cur!.history],
          reason: "emergency move during the primary outage",
        }), { issuedBy: "ops", inline: { [v2.digest]: new TextEncoder().encode('{"v":2}') } });
        await waitFor(
          "v2 applied with the primary down",
          async () => (await Deno.readTextFile(file)) === '{"v":2}',
        );
        await waitFor("its ack is buffered", async () => (await agent.pendingAcks()) === 1);

        const refused = await call("POST", "/v1/configs/web/versions", { content: '{"v":3}' });
        const body = refused.json as { error: { code: string; message: string } };
        assert.equal(refused.status, 503, JSON.stringify(body));
        assert.equal(body.error.code, "unavailable");
        assert.ok(refused.headers.get("retry-after"));
        console.log(
          `  publish refused with 503 after ${
            ((performance.now() - down) / 1000).toFixed(1)
          } s of outage`,
        );
        // Disconnected for longer than a reconnect takes: the next write is refused at once.
        const t0 = performance.now();
        const fast = await call("POST", "/v1/configs/web/versions", { content: '{"v":3}' });
        const fastBody = fast.json as { error: { message: string } };
        assert.equal(fast.status, 503);
        assert.match(fastBody.error.message, /disconnected from NATS .* nothing was written/);
        console.log(`  the next publish was refused in ${(performance.now() - t0).toFixed(0)} ms`);

        // The primary returns.
        const back = performance.now();
        await Promise.all(sc.cluster("primary").servers.map((s) => s.restart()));
        await waitFor("buffered ack delivered", async () => (await agent.pendingAcks()) === 0, {
          timeoutMs: 60_000,
        });
        console.log(
          `  buffered ack delivered ${
            ((performance.now() - back) / 1000).toFixed(1)
          } s after the primary restarted`,
        );
        const acks = await acksOf(primary, "us-east", "web", "e1");
        assert.deepEqual(acks.map((a) => a.version), [1, 2], "each ack exactly once, in order");
        await waitFor(
          "publishing works again",
          async () =>
            (await call("POST", "/v1/configs/web/versions", { content: '{"v":3}' })).status === 201,
          { timeoutMs: 60_000 },
        );
      },
    );
  },
});
