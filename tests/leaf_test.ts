/**
 * A region past one server's connection limit: a hub cluster holding JetStream, and leaf
 * nodes agents connect to. With authorization on, an agent on a leaf node hears the
 * region's notices, applies, and its ack lands in the acks stream on the hub.
 *
 * @module
 */
import assert from "node:assert/strict";
import { generateSigningKey, Signer, Verifier } from "@atlas/core";
import { provision, provisionRegion } from "@atlas/store";
import {
  acksOf,
  activateVersion,
  connectAs,
  credsFor,
  handshake,
  printLogsOnFailure,
  startNatsCluster,
  storeVersion,
  waitFor,
} from "@atlas/testkit";
import { Agent, AgentConfigFile } from "@atlas/agent";

Deno.test("agents on a leaf node apply a pointer and their acks reach the hub", async () => {
  await using region = await startNatsCluster({ nodes: 1, leafNodes: 1 });
  const dir = await Deno.makeTempDir({ prefix: "atlas-leaf-test-" });
  await using _dir = { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
  const lines: string[] = [];
  const agentLog = { name: "agent a1", logTail: () => Promise.resolve(lines.join("\n")) };
  await printLogsOnFailure(() => [region, agentLog], async () => {
    const leaf = region.leafUrls;
    assert.equal(leaf.length, 1);
    // The leaf enforces the same operator: anonymous clients are refused there too.
    assert.match(await handshake(leaf[0]!), /Authorization Violation/);

    await using control = await connectAs(region.urls, "control");
    await provision(control, { replicas: 1 });
    await provisionRegion(control, "us-east", { replicas: 1 });

    const signer = new Signer(generateSigningKey());
    await Deno.writeTextFile(`${dir}/keys.json`, JSON.stringify({ keys: [signer.trustedKey] }));
    const creds = await credsFor(leaf, { kind: "agent", region: "us-east", agent: "a1" });
    assert.ok(creds, "the leaf node runs with auth");
    await Deno.writeTextFile(`${dir}/agent.creds`, creds, { mode: 0o600 });
    const config = AgentConfigFile.parse({
      id: "a1",
      region: "us-east",
      nats: leaf,
      credentials: `${dir}/agent.creds`,
      stateDir: `${dir}/state`,
      trustedKeys: `${dir}/keys.json`,
      reconcileSeconds: 3600,
      labels: {},
      configs: { web: { path: `${dir}/files/web.json` } },
    });
    await using agent = await Agent.start(config, {
      verifier: new Verifier([signer.trustedKey]),
      log: (l) => lines.push(l),
    });
    await agent.whenConnected();

    const content = '{"leaf":true}\n';
    const v1 = await storeVersion(control, signer, "web", 1, content);
    await activateVersion(control, signer, "us-east", v1, { content });
    await waitFor("applied on the leaf", () => agent.stats.applies === 1);
    assert.equal(await Deno.readTextFile(`${dir}/files/web.json`), content);
    let acks: Awaited<ReturnType<typeof acksOf>> = [];
    await waitFor("ack in the hub's stream", async () => {
      acks = await acksOf(control, "us-east", "web", "a1");
      return acks.length === 1;
    });
    assert.equal(acks[0]!.status, "applied");
    assert.equal(acks[0]!.version, 1);
  });
});

Deno.test("a cluster refuses leaf nodes it cannot start, saying what to pass", async () => {
  await assert.rejects(() => startNatsCluster({ leafNodes: -1 }), /whole number/);
  await assert.rejects(() => startNatsCluster({ leafNodes: 1.5 }), /whole number/);
  const tls = { certFile: "c.pem", keyFile: "k.pem", caFile: "ca.pem" };
  await assert.rejects(
    () => startNatsCluster({ leafNodes: 1, tls }),
    /does not start leaf nodes with TLS yet/,
  );
});
