import assert from "node:assert/strict";
import { connectAtlas, retryTransient } from "@atlas/store";
import {
  ephemeralPortsFrom,
  reservePort,
  startNatsCluster,
  startNatsServer,
  startSupercluster,
} from "./server.ts";
import { connectAs, handshake } from "./auth.ts";
import { waitFor } from "./testing.ts";

Deno.test({
  name: "a supercluster places a bucket in a region, readable there, surviving a node restart",
  fn: async () => {
    await using sc = await startSupercluster([{ name: "primary", nodes: 3 }, { name: "us-east" }]);
    await using primary = await connectAs(sc.cluster("primary").urls, "control");
    // Right after start, placement can still answer "no suitable peers" until every server
    // has reported itself to the meta leader: a passing condition, retried like Atlas does.
    const kv = await retryTransient(() =>
      primary.kvm.create("placed", { placement: { cluster: "us-east", tags: [] } })
    );
    // Interest in a bucket just placed in another cluster crosses the gateways a moment
    // later ("no responders" until then): writers retry, as Atlas's own writes do.
    await retryTransient(() => kv.put("k", "v1"));
    assert.equal((await primary.jsm.streams.info("KV_placed")).cluster?.name, "us-east");
    const node = sc.cluster("us-east").servers[0]!;
    // A graceful stop: after a SIGKILL right after the put, the key once read back as missing
    // under the full suite's load (the file store, without sync_always, writes behind its
    // acks). The restart with its store is what this test is about; Atlas's crash tests
    // live elsewhere.
    await node.stop();
    await node.restart();
    await using region = await connectAs(sc.cluster("us-east").urls, "control");
    assert.equal((await (await region.kvm.open("placed")).get("k"))?.string(), "v1");
    assert.throws(() => sc.cluster("nowhere"), RangeError);
  },
});

Deno.test({
  name: "a stopped server restarts on the same port with its store",
  fn: async () => {
    await using server = await startNatsServer();
    const port = server.port;
    {
      await using nats = await connectAs(server.url, "control");
      await (await nats.kvm.create("kept")).put("k", "v");
    }
    await server.stop();
    assert.equal(server.running, false);
    await server.restart();
    assert.equal(server.port, port);
    await using nats = await connectAs(server.url, "control");
    assert.equal((await (await nats.kvm.open("kept")).get("k"))?.string(), "v");
  },
});

Deno.test({
  name: "cutting a region's gateway links isolates it both ways, and healing joins it again",
  fn: async () => {
    await using sc = await startSupercluster(
      [{ name: "primary" }, { name: "us-east" }, { name: "eu-west" }],
      { cuttable: true },
    );
    // Plain core-NATS requests on made-up subjects: the system user may, no Atlas role may.
    const conn = (region: string) =>
      connectAtlas(sc.cluster(region).urls, { credentials: sc.auth!.systemCreds });
    await using primary = await conn("primary");
    await using east = await conn("us-east");
    await using west = await conn("eu-west");
    // Who hears a publish from `from`: a request to every region's responder.
    for (const [name, c] of [["primary", primary], ["us-east", east], ["eu-west", west]] as const) {
      c.nc.subscribe(`where.${name}`, {
        callback: (_e, m) => {
          m.respond(name);
        },
      });
    }
    await Promise.all([primary.nc.flush(), east.nc.flush(), west.nc.flush()]);
    const reaches = async (from: typeof primary, to: string) => {
      try {
        return (await from.nc.request(`where.${to}`, "", { timeout: 500 })).string() === to;
      } catch {
        return false;
      }
    };
    const matrix = async () => ({
      primaryToEast: await reaches(primary, "us-east"),
      eastToPrimary: await reaches(east, "primary"),
      westToEast: await reaches(west, "us-east"),
      eastToWest: await reaches(east, "eu-west"),
      primaryToWest: await reaches(primary, "eu-west"),
      westToPrimary: await reaches(west, "primary"),
    });
    const allUp = {
      primaryToEast: true,
      eastToPrimary: true,
      westToEast: true,
      eastToWest: true,
      primaryToWest: true,
      westToPrimary: true,
    };
    const same = async () => JSON.stringify(await matrix()) === JSON.stringify(allUp);
    await waitFor("every region reaching every other", same);
    await sc.cutRegion("us-east");
    assert.deepEqual([...sc.links!.cut], ["us-east"]);
    assert.deepEqual(await matrix(), {
      primaryToEast: false,
      eastToPrimary: false,
      westToEast: false,
      eastToWest: false,
      primaryToWest: true,
      westToPrimary: true,
    });
    await sc.healRegion("us-east");
    await waitFor("us-east reachable again after the heal", same);
  },
});

Deno.test({
  name: "every topology refuses anonymous clients and accepts Atlas credentials",
  fn: async () => {
    await using single = await startNatsServer();
    await using cluster = await startNatsCluster({ nodes: 3 });
    await using sc = await startSupercluster([{ name: "primary" }, { name: "us-east" }]);
    for (const server of [single, ...cluster.servers, ...sc.servers]) {
      const answer = await handshake(server.url);
      assert.match(answer, /-ERR 'Authorization Violation'/, `${server.name}: ${answer}`);
      assert.doesNotMatch(answer, /PONG/);
      await using nats = await connectAs(server.url, "reader");
      assert.equal(nats.nc.isClosed(), false);
    }
  },
});

Deno.test({
  name: "a server started with auth: false takes anonymous clients",
  fn: async () => {
    await using server = await startNatsServer({ auth: false });
    await using nats = await connectAtlas(server.url);
    assert.equal(server.auth, undefined);
    assert.match(await handshake(server.url), /PONG/);
    await nats.nc.flush();
  },
});

Deno.test("a reserved port lies below the ephemeral range, where no outgoing connection takes it", () => {
  const low = ephemeralPortsFrom();
  const ports = Array.from({ length: 20 }, () => reservePort());
  for (const port of ports) {
    assert.ok(port >= 1024 && port < low, `port ${port}, ephemeral ports from ${low}`);
    Deno.listen({ hostname: "127.0.0.1", port }).close(); // and it is free to bind
  }
});
