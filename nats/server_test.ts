import assert from "node:assert/strict";
import { connectAtlas } from "./connect.ts";
import { retryTransient } from "./retry.ts";
import { startNatsServer, startSupercluster } from "./server.ts";

Deno.test({
  name: "a supercluster places a bucket in a region, readable there, surviving a node restart",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using sc = await startSupercluster([{ name: "primary", nodes: 3 }, { name: "us-east" }]);
    await using primary = await connectAtlas(sc.cluster("primary").urls);
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
    await node.kill();
    await node.restart();
    await using region = await connectAtlas(sc.cluster("us-east").urls);
    assert.equal((await (await region.kvm.open("placed")).get("k"))?.string(), "v1");
    assert.throws(() => sc.cluster("nowhere"), RangeError);
  },
});

Deno.test({
  name: "a stopped server restarts on the same port with its store",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using server = await startNatsServer();
    const port = server.port;
    {
      await using nats = await connectAtlas(server.url);
      await (await nats.kvm.create("kept")).put("k", "v");
    }
    await server.stop();
    assert.equal(server.running, false);
    await server.restart();
    assert.equal(server.port, port);
    await using nats = await connectAtlas(server.url);
    assert.equal((await (await nats.kvm.open("kept")).get("k"))?.string(), "v");
  },
});
