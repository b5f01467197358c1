import assert from "node:assert/strict";
import { connectAtlas, provision, provisionRegion, readPointer } from "@atlas/store";
import { pointerBucket } from "@atlas/core";
import { makePki, type Pki } from "./pki.ts";
import { serverTls, startNatsCluster, startNatsServer, startSupercluster } from "./server.ts";

/** A fresh throw-away PKI for `fn`, removed afterwards. */
async function withPki(fn: (pki: Pki) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "atlas-pki-test-" });
  try {
    await fn(await makePki(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Connects, or returns the error's message. */
async function refusal(url: string, options: Parameters<typeof connectAtlas>[1]): Promise<string> {
  try {
    const nats = await connectAtlas(url, { ...options, timeoutMs: 3_000 });
    await nats.close();
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail("the connection was accepted");
}

Deno.test("a TLS server takes clients that trust its CA and refuses the others", async () => {
  await withPki(async (pki) => {
    await using server = await startNatsServer({ tls: serverTls(pki), auth: false });
    assert.match(server.url, /^tls:\/\//);
    await using nats = await connectAtlas(server.url, { tls: { caFile: pki.caFile } });
    await provision(nats);
    const kv = await nats.kv("atlas_configs");
    await kv.put("web", "{}");
    assert.equal((await kv.get("web"))?.string(), "{}");

    // No CA: the system's CAs do not know the throw-away one.
    assert.match(await refusal(server.url, {}), /certificate|verify|self.signed|issuer/i);
    // Another CA: the server's certificate is not signed by it.
    await withPki(async (other) => {
      assert.match(
        await refusal(server.url, { tls: { caFile: other.caFile } }),
        /certificate|verify|issuer/i,
      );
    });
  });
});

// TLS alone here (auth: false): these tests are about certificates; tests/tls_e2e_test.ts
// runs TLS and NATS authorization together.

/**
 * Connects from a child process and returns how it ended. A refused client certificate
 * surfaces in nats.js 3.4 as an uncaught socket error after the TLS 1.3 handshake (the
 * transport drops its listeners once the handshake is done, before the server's alert
 * arrives), which would fail the test runner itself; in a child it is just the exit.
 */
async function connectInChild(url: string, tls: Record<string, string>) {
  const code = `import { connectAtlas } from "@atlas/store";
const nats = await connectAtlas(${JSON.stringify(url)}, {
  tls: ${JSON.stringify(tls)},
  timeoutMs: 2_000,
});
await nats.nc.flush();
await nats.close();
console.log("CONNECTED-OK");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { success: out.success, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("mutual TLS: a client without a certificate from the CA is refused", async () => {
  await withPki(async (pki) => {
    await using server = await startNatsServer({
      tls: serverTls(pki, { verifyClients: true }),
      auth: false,
    });
    const none = await connectInChild(server.url, { caFile: pki.caFile });
    assert.ok(!none.success && !none.output.includes("CONNECTED-OK"), none.output);
    await withPki(async (other) => {
      // A certificate from another CA is no better than none.
      const foreign = await connectInChild(server.url, {
        caFile: pki.caFile,
        certFile: other.clientCert,
        keyFile: other.clientKey,
      });
      assert.ok(!foreign.success && !foreign.output.includes("CONNECTED-OK"), foreign.output);
    });
    const own = await connectInChild(server.url, {
      caFile: pki.caFile,
      certFile: pki.clientCert,
      keyFile: pki.clientKey,
    });
    assert.ok(own.success && own.output.includes("CONNECTED-OK"), own.output);
    await using nats = await connectAtlas(server.url, {
      tls: { caFile: pki.caFile, certFile: pki.clientCert, keyFile: pki.clientKey },
    });
    await provision(nats);
  });
});

Deno.test("a client certificate without its key is a clear error before connecting", async () => {
  await withPki(async (pki) => {
    await assert.rejects(
      connectAtlas("tls://127.0.0.1:1", { tls: { caFile: pki.caFile, certFile: pki.clientCert } }),
      /needs its key/,
    );
    await assert.rejects(
      connectAtlas("tls://127.0.0.1:1", { tls: { caFile: `${pki.dir}/missing.pem` } }),
      /cannot read caFile/,
    );
  });
});

Deno.test("TLS routes: a three-node cluster replicates JetStream over TLS", async () => {
  await withPki(async (pki) => {
    await using cluster = await startNatsCluster({ nodes: 3, tls: serverTls(pki), auth: false });
    await using nats = await connectAtlas(cluster.urls, { tls: { caFile: pki.caFile } });
    await provision(nats, { replicas: 3 });
    const info = await nats.jsm.streams.info("KV_atlas_configs");
    assert.equal(info.cluster?.replicas?.length, 2);
  });
});

Deno.test("TLS gateways: a region's bucket is read across the supercluster", async () => {
  await withPki(async (pki) => {
    await using sc = await startSupercluster([{ name: "primary" }, { name: "us-east" }], {
      tls: serverTls(pki),
      auth: false,
    });
    const tls = { caFile: pki.caFile };
    await using primary = await connectAtlas(sc.cluster("primary").urls, { tls });
    await provision(primary);
    await provisionRegion(primary, "us-east", { cluster: "us-east" });
    await using east = await connectAtlas(sc.cluster("us-east").urls, { tls });
    const info = await east.jsm.streams.info(`KV_${pointerBucket("us-east")}`);
    assert.equal(info.cluster?.name, "us-east");
    assert.equal(await readPointer(east, "us-east", "web"), null);
  });
});
