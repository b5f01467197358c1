/**
 * A region past one server's connection limit: a hub cluster holding JetStream, and leaf
 * nodes agents connect to. With authorization on, agents on a leaf node hear the region's
 * notices, apply what they manage (and only that), and their acks land in the acks stream
 * on the hub. The leaf link is held to what the region's agents may do, and no stolen
 * credentials make another kind of connection than their own (core/permissions.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  agentKey,
  type AgentRecord,
  Buckets,
  generateSigningKey,
  pointerBucket,
  Signer,
  Streams,
  Subjects,
  Verifier,
} from "@atlas/core";
import { provision, provisionRegion, readPointer } from "@atlas/store";
import {
  acksOf,
  activateVersion,
  assertRefused,
  connectAs,
  credsFor,
  handshake,
  type HasLog,
  printLogsOnFailure,
  startNatsCluster,
  startNatsServer,
  storeVersion,
  waitFor,
} from "@atlas/testkit";
import { Agent, AgentConfigFile } from "@atlas/agent";
import { connect } from "@nats-io/transport-node";
import { startTestAgents, startTestControl } from "./harness.ts";

const REGION = "us-east";

/** Starts agent `id` on `urls`, managing `configs`, its files and state under `dir`. */
async function leafAgent(
  urls: string[],
  dir: string,
  id: string,
  configs: string[],
  signer: Signer,
  lines: string[],
): Promise<Agent> {
  const creds = await credsFor(urls, { kind: "agent", region: REGION, agent: id });
  assert.ok(creds, "the leaf node runs with auth");
  await Deno.writeTextFile(`${dir}/${id}.creds`, creds, { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/keys.json`, JSON.stringify({ keys: [signer.trustedKey] }));
  const config = AgentConfigFile.parse({
    id,
    region: REGION,
    nats: urls,
    credentials: `${dir}/${id}.creds`,
    stateDir: `${dir}/${id}/state`,
    trustedKeys: `${dir}/keys.json`,
    reconcileSeconds: 3600,
    labels: {},
    configs: Object.fromEntries(configs.map((c) => [c, { path: `${dir}/${id}/${c}.json` }])),
  });
  const agent = await Agent.start(config, {
    verifier: new Verifier([signer.trustedKey]),
    log: (l) => lines.push(`${id} ${l}`),
  });
  await agent.whenConnected();
  return agent;
}

Deno.test("agents on a leaf node apply what they manage and their acks reach the hub", async () => {
  await using region = await startNatsCluster({ nodes: 1, leafNodes: 1, region: REGION });
  const dir = await Deno.makeTempDir({ prefix: "atlas-leaf-test-" });
  await using _dir = { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
  const lines: string[] = [];
  const agentLog = { name: "agents", logTail: () => Promise.resolve(lines.join("\n")) };
  await printLogsOnFailure(() => [region, agentLog], async () => {
    const leaf = region.leafUrls;
    assert.equal(leaf.length, 1);
    // The leaf enforces the same operator: anonymous clients are refused there too.
    assert.match(await handshake(leaf[0]!), /Authorization Violation/);

    await using control = await connectAs(region.urls, "control");
    await provision(control, { replicas: 1 });
    await provisionRegion(control, REGION, { replicas: 1 });

    // A mixed fleet on the leaf: a1 manages web, a2 only db.
    const signer = new Signer(generateSigningKey());
    await using a1 = await leafAgent(leaf, dir, "a1", ["web"], signer, lines);
    await using a2 = await leafAgent(leaf, dir, "a2", ["db"], signer, lines);
    // Their records cross the link (KV puts): each says what it manages.
    const agents = await control.kv(Buckets.agents);
    for (const [id, manages] of [["a1", ["web"]], ["a2", ["db"]]] as const) {
      await waitFor(`${id}'s record in the hub's agents bucket`, async () => {
        const e = await agents.get(agentKey(REGION, id));
        return e?.operation === "PUT" && Object.keys(e.json<AgentRecord>().configs).join() ===
            manages.join();
      });
    }

    const content = '{"leaf":true}\n';
    const v1 = await storeVersion(control, signer, "web", 1, content);
    await activateVersion(control, signer, REGION, v1, { content });
    await waitFor("web applied on the leaf by a1", () => a1.stats.applies === 1);
    assert.equal(await Deno.readTextFile(`${dir}/a1/web.json`), content);
    let acks: Awaited<ReturnType<typeof acksOf>> = [];
    await waitFor("a1's ack in the hub's stream", async () => {
      acks = await acksOf(control, REGION, "web", "a1");
      return acks.length === 1;
    });
    assert.equal(acks[0]!.status, "applied");
    assert.equal(acks[0]!.version, 1);

    // db goes out without its content in the notice: a2 reads it across the link (the
    // region's copy of the blobs, or the primary). a1 leaves db alone, a2 web.
    const db = '{"db":1}\n';
    const d1 = await storeVersion(control, signer, "db", 1, db);
    await activateVersion(control, signer, REGION, d1);
    await waitFor("db applied on the leaf by a2", () => a2.stats.applies === 1);
    assert.equal(await Deno.readTextFile(`${dir}/a2/db.json`), db);
    assert.equal(a2.stats.regionCopyHits + a2.stats.fetches, 1, "read across the link");
    await waitFor("a2's db ack in the hub's stream", async () => {
      return (await acksOf(control, REGION, "db", "a2")).length === 1;
    });
    assert.deepEqual(await acksOf(control, REGION, "web", "a2"), [], "a2 acks no web");
    await assert.rejects(Deno.stat(`${dir}/a2/web.json`), Deno.errors.NotFound);
    assert.equal(a1.stats.applies, 1, "a1 applies no db");

    // A host that boots later hears no notice: it reads the pointer across the link.
    await using a3 = await leafAgent(leaf, dir, "a3", ["web"], signer, lines);
    await waitFor("web applied by a3 from the pointer it read", () => a3.stats.applies === 1);
    assert.equal(await Deno.readTextFile(`${dir}/a3/web.json`), content);
    await waitFor("a3's ack in the hub's stream", async () => {
      return (await acksOf(control, REGION, "web", "a3")).length === 1;
    });

    // Each agent on the leaf is held to its own lists by the leaf: no ack as another.
    await using asA1 = await connectAs(leaf, { kind: "agent", region: REGION, agent: "a1" });
    await assertRefused(
      asA1,
      "a1 acks as a2 through the leaf",
      () => asA1.publisher.publish(Subjects.ack(REGION, "web", "a2"), "{}", { timeoutMs: 1_500 }),
    );
  });
});

Deno.test("stolen credentials make no other kind of connection, and a taken leaf is held to its region's agents", async () => {
  await using region = await startNatsCluster({ nodes: 1, leafNodes: 1, region: REGION });
  await printLogsOnFailure(() => [region], async () => {
    const hub = region.servers[0]!;
    await using control = await connectAs(region.urls, "control");
    await provision(control, { replicas: 1 });
    await provisionRegion(control, REGION, { replicas: 1 });
    await provisionRegion(control, "eu-west", { replicas: 1 });
    const signer = new Signer(generateSigningKey());
    const v1 = await storeVersion(control, signer, "web", 1, "{}");
    await activateVersion(control, signer, REGION, v1, { content: "{}" });

    // An agent's credentials, taken from its host, dial the hub's leaf port from a
    // nats-server of the attacker's: the hub refuses the link.
    const agentCreds =
      (await credsFor(region.urls, { kind: "agent", region: REGION, agent: "a1" }))!;
    await assert.rejects(
      startNatsServer({
        serverName: "rogue-agent-leaf",
        jetstream: false,
        auth: false,
        leafnodes: { remotes: [{ urls: [hub.leafUrl!], creds: agentCreds }] },
        readyTimeoutMs: 4_000,
      }),
    );
    assert.match(await hub.logTail(200), /Leafnode connection closed: Authentication Failure/);

    // The region's leaf credentials, taken from a leaf host, connect no client.
    const leafCreds = await credsFor(region.urls, { kind: "leaf", region: REGION });
    assert.match(await handshake(hub.url, leafCreds), /Authorization Violation/);

    // With them, the attacker's own leaf links, but what it carries to the hub is what
    // the region's agents may do: any agent's ack, and no pointer, notice or other region.
    await using rogue = await startNatsServer({
      serverName: "rogue-leaf",
      jetstream: false,
      auth: false,
      leafnodes: { remotes: [{ urls: [hub.leafUrl!], creds: leafCreds! }] },
    });
    const heard: string[] = [];
    const sub = control.nc.subscribe("atlas.>", {
      callback: (_e, m) => void heard.push(m.subject),
    });
    await using _sub = { [Symbol.asyncDispose]: () => Promise.resolve(sub.unsubscribe()) };
    await control.nc.flush();
    const pointers = `KV_${pointerBucket(REGION)}`;
    const pointerWrites = async () => (await control.jsm.streams.info(pointers)).state.last_seq;
    const pointersBefore = await pointerWrites();
    const attacker = await connect({ servers: rogue.url });
    await using _attacker = { [Symbol.asyncDispose]: () => attacker.close() };
    const leaked: string[] = [];
    attacker.subscribe("atlas.notify.eu-west.>", {
      callback: (_e, m) => void leaked.push(m.subject),
    });
    await attacker.flush();
    const ack = Subjects.ack(REGION, "web", "a7");
    const forged = [
      Subjects.notify(REGION, "web"),
      Subjects.ack("eu-west", "web", "a7"),
      Subjects.audit("web"),
    ];
    const forgedJs = [
      Subjects.kvKey(pointerBucket(REGION), "web"),
      `$JS.API.STREAM.DELETE.${Streams.acks}`,
    ];
    // The link comes up a moment after the server is ready: the allowed ack is the proof.
    await waitFor("an agent's ack carried by the rogue leaf", async () => {
      for (const s of [...forged, ...forgedJs, ack]) attacker.publish(s, "forged");
      await attacker.flush();
      await control.nc.flush();
      return heard.includes(ack);
    });
    control.nc.publish(Subjects.notify("eu-west", "web"), "other region");
    await control.nc.flush();
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(heard.filter((s) => forged.includes(s)), [], "forgeries reached the hub");
    assert.deepEqual(leaked, [], "another region's notices reached the rogue leaf");
    assert.equal(await pointerWrites(), pointersBefore, "a pointer was written");
    assert.ok(await control.jsm.streams.info(Streams.acks), "the acks stream is gone");
    assert.equal((await readPointer(control, REGION, "web"))?.pointer.active.version, 1);

    // The leaf's system-account link: its credentials connect no client, and a leaf of the
    // attacker's linked with them hears revocations but asks no server for its connections
    // (every agent's name and address). With the system user's, as leaves held before, it
    // could: the contrast shows the request reaches the hub when allowed.
    const leafSys = region.auth!.setup.system.leafCreds;
    assert.match(await handshake(hub.url, leafSys), /Authorization Violation/);
    /** Names of the servers that answer a CONNZ ping sent over a rogue leaf's link. */
    const connzFrom = async (creds: string) => {
      await using rogueSys = await startNatsServer({
        serverName: "rogue-sys-leaf",
        jetstream: false,
        auth: false,
        leafnodes: { remotes: [{ urls: [hub.leafUrl!], creds }] },
      });
      const nc = await connect({ servers: rogueSys.url });
      try {
        const names = new Set<string>();
        const inbox = nc.subscribe("connz.answers", {
          callback: (_e, m) => void names.add(m.json<{ server: { name: string } }>().server.name),
        });
        // The link's interest arrives a moment after the server is ready; the rogue
        // server answers its own ping (its account is bound to the hub's system account).
        for (let i = 0; i < 10 && names.size < 2; i++) {
          nc.publish("$SYS.REQ.SERVER.PING.CONNZ", "", { reply: "connz.answers" });
          await new Promise((r) => setTimeout(r, 300));
        }
        inbox.unsubscribe();
        names.delete("rogue-sys-leaf");
        return [...names];
      } finally {
        await nc.close();
      }
    };
    assert.ok((await connzFrom(region.auth!.systemCreds)).includes(hub.name));
    assert.deepEqual(await connzFrom(leafSys), [], "a leaf's link read the hub's connections");
  });
});

Deno.test("a cluster refuses leaf nodes it cannot start, saying what to pass", async () => {
  await assert.rejects(() => startNatsCluster({ leafNodes: -1 }), /whole number/);
  await assert.rejects(() => startNatsCluster({ leafNodes: 1.5 }), /whole number/);
  await assert.rejects(() => startNatsCluster({ leafNodes: 1 }), /pass `region`/);
  const tls = { certFile: "c.pem", keyFile: "k.pem", caFile: "ca.pem" };
  await assert.rejects(
    () => startNatsCluster({ leafNodes: 1, region: REGION, tls }),
    /does not start leaf nodes with TLS yet/,
  );
});

Deno.test("an agent revoked by the control plane is dropped at its leaf and refused there", async () => {
  await using region = await startNatsCluster({ nodes: 1, leafNodes: 1, region: REGION });
  const logs: HasLog[] = [region];
  await printLogsOnFailure(() => logs, async () => {
    const leaf = region.leaves[0]!;
    await using t = await startTestControl(region.urls, { enrolment: true });
    logs.push(t);
    await t.expect("PUT", `/v1/regions/${REGION}`, { replicas: 1 }, 201);
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
    await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
    const enrolled = await t.expect<{ publicKey: string; creds: string }>(
      "POST",
      `/v1/agents/${REGION}/a1/credentials`,
      {},
      201,
    );
    const [a1] = await startTestAgents(t, [
      { id: "a1", region: REGION, nats: region.leafUrls, credentials: enrolled.creds },
    ], (l) => logs.push(l));
    try {
      await waitFor("v1 applied through the leaf", async () => {
        return (await Deno.readTextFile(a1!.file).catch(() => "")) === '{"v":1}';
      });
      assert.ok((await leaf.connectionNames()).includes(`atlas-agent ${REGION}/a1`));
      // The revocation goes to the hub's resolver; the leaf hears it over its SYS link.
      await t.expect("DELETE", `/v1/agents/${REGION}/a1/credentials`);
      await waitFor(
        "the revoked agent dropped by its leaf",
        async () => !(await leaf.connectionNames()).includes(`atlas-agent ${REGION}/a1`),
        { timeoutMs: 10_000 },
      );
      await waitFor(
        "the revoked credentials refused by the leaf",
        async () => /Authorization Violation/.test(await handshake(leaf.url, enrolled.creds)),
        { timeoutMs: 10_000 },
      );
    } finally {
      await a1!.agent.close();
    }
  });
});
