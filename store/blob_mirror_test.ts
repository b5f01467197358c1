import assert from "node:assert/strict";
import type { SeqMsgRequest } from "@nats-io/jetstream";
import { BlobCopyError, readBlob, readMirroredBlob, readPrimaryBlob } from "./blob_mirror.ts";
import { checkBlobCopy, judgeBlobCopy, rebuildBlobCopy } from "./compat/mirror_start.ts";
import type { AtlasNats } from "./connect.ts";
import { blobMirrorStream, blobName, Buckets, sha256Hex } from "@atlas/core";
import { listRegions, provision, provisionRegion } from "./provision.ts";
import {
  connectAs,
  natsTest,
  printLogsOnFailure,
  startSupercluster,
  waitFor,
  waitForBlobCopy,
  waitForCompleteBlobCopy,
} from "@atlas/testkit";

/** `n` bytes of a pattern that differs from chunk to chunk (128 KiB chunks). */
function pattern(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed + (i >> 17)) % 251);
}

/** Stores `bytes` in the blobs object store under their digest; returns the digest. */
async function putBlob(nats: AtlasNats, bytes: Uint8Array): Promise<string> {
  const digest = sha256Hex(bytes);
  await (await nats.blobs()).putBlob({ name: blobName(digest) }, bytes);
  return digest;
}

function mirrored(nats: AtlasNats, region: string, digest: string): Promise<Uint8Array> {
  return waitForBlobCopy(nats, region, digest);
}

natsTest(
  "the primary reads blobs of one and of several chunks by leader gets, null when absent",
  async ({ nats }) => {
    const small = new TextEncoder().encode('{"feature":true}\n');
    const large = pattern(300 * 1024); // 3 chunks of at most 128 KiB
    const empty = new Uint8Array(0);
    for (const bytes of [small, large, empty]) {
      const digest = await putBlob(nats, bytes);
      assert.deepEqual(await readPrimaryBlob(nats, digest), bytes);
    }
    const absent = sha256Hex(new TextEncoder().encode("never stored"));
    assert.equal(await readPrimaryBlob(nats, absent), null);
    assert.equal(await readBlob(nats, "no-such-region", absent), null);
    // A deleted blob is absent too.
    const gone = await putBlob(nats, pattern(10, 7));
    await (await nats.blobs()).delete(blobName(gone));
    assert.equal(await readPrimaryBlob(nats, gone), null);
  },
);

natsTest(
  "blobs of one and of several chunks read back byte-identical from the copy",
  async ({ nats }) => {
    const small = new TextEncoder().encode('{"feature":true}\n');
    const large = pattern(300 * 1024); // 3 chunks of at most 128 KiB
    const empty = new Uint8Array(0);
    const digests = [
      await putBlob(nats, small),
      await putBlob(nats, large),
      await putBlob(nats, empty),
    ];
    const chunks = await Promise.all(
      digests.map(async (d) => (await (await nats.blobs()).info(blobName(d)))!.chunks),
    );
    assert.deepEqual(chunks, [1, 3, 0]);
    for (const region of ["us-east", "eu-west"]) {
      assert.deepEqual(await mirrored(nats, region, digests[0]!), small);
      assert.deepEqual(await mirrored(nats, region, digests[1]!), large);
      assert.deepEqual(await mirrored(nats, region, digests[2]!), empty);
    }
  },
);

natsTest(
  "a copy that skipped the origin's first messages is found incomplete and rebuilt whole",
  async ({ nats }) => {
    const a = await putBlob(nats, new TextEncoder().encode("a")); // seq 1 (chunk), 2 (meta)
    const b = await putBlob(nats, new TextEncoder().encode("b")); // seq 3, 4
    await mirrored(nats, "us-east", b);
    // A healthy copy to start from: under load 2.9.10 can start the provisioned mirror
    // late itself (seen in CI), which is what this test then does on purpose.
    await waitForCompleteBlobCopy(nats, "us-east");
    // What nats-server 2.9.10 did under load: a mirror that started past seq 1.
    const stream = blobMirrorStream("us-east");
    const config = (await nats.jsm.streams.info(stream)).config;
    await nats.jsm.streams.delete(stream);
    await nats.jsm.streams.add({
      ...config,
      mirror: { name: `OBJ_${Buckets.blobs}`, opt_start_seq: 3 },
    });
    // Not mirrored(): it rebuilds a copy it finds incomplete, and this one is on purpose.
    await waitFor("b in the broken copy", () => readMirroredBlob(nats, "us-east", b));
    assert.equal(await readMirroredBlob(nats, "us-east", a), null, "a never reaches the copy");
    const check = await checkBlobCopy(nats, "us-east");
    assert.equal(check.complete, false);
    assert.match(check.detail, /2 messages from seq 3, the origin 4 from seq 1/);
    await rebuildBlobCopy(nats, "us-east");
    assert.deepEqual(await mirrored(nats, "us-east", a), new TextEncoder().encode("a"));
    // Stream info can trail the copy by a moment under load: wait. The rebuilt copy is
    // made while the origin is idle, so it must complete without another rebuild.
    await waitFor(
      "the rebuilt us-east copy found complete",
      async () => (await checkBlobCopy(nats, "us-east")).complete,
    );
    await waitForCompleteBlobCopy(nats, "eu-west");
  },
);

Deno.test("a copy behind its origin is catching up until a second look finds it unmoved", () => {
  const state = (first_seq: number, last_seq: number, messages = last_seq - first_seq + 1) => ({
    first_seq,
    last_seq,
    messages,
  });
  const origin = state(1, 40);
  const caughtUp = judgeBlobCopy(origin, state(1, 40));
  assert.deepEqual(caughtUp, {
    complete: true,
    detail: "caught up to seq 40",
    copyLastSeq: 40,
    originLastSeq: 40,
  });
  const behind = judgeBlobCopy(origin, state(1, 10));
  assert.equal(behind.complete, true, "one look cannot tell a stall from catching up");
  assert.equal(behind.detail, "catching up: seq 10 of 40");
  // Moved since the last look: still catching up, however far behind.
  assert.equal(judgeBlobCopy(state(1, 90), state(1, 11), behind).complete, true);
  // A copy that was not behind at the last look is only behind now.
  assert.equal(judgeBlobCopy(state(1, 41), state(1, 40), caughtUp).complete, true);
  const stalled = judgeBlobCopy(state(1, 45), state(1, 10), behind);
  assert.equal(stalled.complete, false);
  assert.equal(
    stalled.detail,
    "the copy is stalled at seq 10: it has not moved since the last check, and the origin " +
      "is at seq 45",
  );
  // An empty copy that never copied is stalled too.
  const empty = { first_seq: 0, last_seq: 0, messages: 0 };
  assert.equal(judgeBlobCopy(origin, empty, judgeBlobCopy(origin, empty)).complete, false);
  // Caught up but short: skipped the origin's first messages, or holds fewer.
  assert.match(judgeBlobCopy(origin, state(3, 40)).detail, /38 messages from seq 3/);
  assert.equal(judgeBlobCopy(origin, state(1, 40, 39)).complete, false);
  // Purges are not mirrored: a copy holding more, from earlier, is whole.
  assert.equal(judgeBlobCopy(state(20, 40), state(1, 40)).complete, true);
});

natsTest(
  "a copy that stopped copying is found stalled at the second check and rebuilt whole",
  async ({ nats }) => {
    const a = await putBlob(nats, new TextEncoder().encode("a")); // seq 1 (chunk), 2 (meta)
    await mirrored(nats, "us-east", a);
    // A mirror that never copies again: its origin's API is asked on a subject nothing
    // answers. From outside it looks like a 2.9 mirror stuck on a message it refuses.
    const stream = blobMirrorStream("us-east");
    const config = (await nats.jsm.streams.info(stream)).config;
    await nats.jsm.streams.delete(stream);
    await nats.jsm.streams.add({
      ...config,
      mirror: { name: `OBJ_${Buckets.blobs}`, external: { api: "$JS.nowhere.API" } },
    });
    const b = await putBlob(nats, new TextEncoder().encode("b")); // seq 3, 4
    const first = await checkBlobCopy(nats, "us-east");
    assert.equal(first.complete, true, "one look cannot tell a stall from catching up");
    assert.equal(first.detail, "catching up: seq 0 of 4");
    const second = await checkBlobCopy(nats, "us-east", first);
    assert.equal(second.complete, false);
    assert.match(second.detail, /stalled at seq 0: .* the origin is at seq 4$/);
    assert.equal(await readMirroredBlob(nats, "us-east", b), null, "b never reaches the copy");
    await rebuildBlobCopy(nats, "us-east");
    assert.deepEqual(await mirrored(nats, "us-east", a), new TextEncoder().encode("a"));
    assert.deepEqual(await mirrored(nats, "us-east", b), new TextEncoder().encode("b"));
    assert.equal((await nats.jsm.streams.info(stream)).config.mirror?.external, undefined);
  },
);

natsTest(
  "the copy is a mirror stream without subjects that takes rollups and direct gets",
  async ({ nats }) => {
    const info = await nats.jsm.streams.info(blobMirrorStream("us-east"));
    assert.equal(info.config.mirror?.name, `OBJ_${Buckets.blobs}`);
    assert.deepEqual(info.config.subjects ?? [], []);
    assert.equal(info.config.storage, "file");
    assert.equal(info.config.num_replicas, 1);
    // Without it, nats-server 2.9 refuses the metadata (a rollup) and the mirror stalls.
    assert.equal(info.config.allow_rollup_hdrs, true);
    // Direct gets: what still answers in a region that has lost the JetStream meta leader.
    assert.equal(info.config.allow_direct, true);
    assert.equal(blobMirrorStream("us-east"), "atlas_blobs_us-east");
    assert.throws(() => blobMirrorStream("us.east"), TypeError);
  },
);

natsTest(
  "a blob never stored, deleted, or in a region without a copy reads as null",
  async ({ nats }) => {
    assert.equal(await readMirroredBlob(nats, "us-east", "0".repeat(64)), null);
    const digest = await putBlob(nats, pattern(1000, 7));
    assert.ok(await mirrored(nats, "us-east", digest));
    // A region provisioned before copies existed has no mirror stream: null, not an error.
    assert.equal(await readMirroredBlob(nats, "ap-south", digest), null);
    await (await nats.blobs()).delete(blobName(digest));
    // Not a timing check: under the full suite's load the mirror once took over 15 s to
    // copy the delete marker (nats-server 2.9.10; the cause was not found).
    await waitFor(
      "the deletion mirrored",
      async () => (await readMirroredBlob(nats, "us-east", digest)) === null,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await assert.rejects(() => readMirroredBlob(nats, "us-east", "not-a-digest"), TypeError);
  },
);

natsTest("a copy that lost a chunk is an error, not short bytes", async ({ nats }) => {
  const digest = await putBlob(nats, pattern(300 * 1024, 3));
  await mirrored(nats, "us-east", digest);
  const stream = blobMirrorStream("us-east");
  const meta = (await nats.blobs().then((s) => s.info(blobName(digest))))!;
  const query: SeqMsgRequest & { next_by_subj: string } = {
    seq: 1,
    next_by_subj: `$O.${Buckets.blobs}.C.${meta.nuid}`,
  };
  const first = await nats.jsm.streams.getMessage(stream, query);
  assert.equal(first?.data.length, 128 * 1024);
  assert.ok(await nats.jsm.streams.deleteMessage(stream, first.seq));
  await assert.rejects(
    () => readMirroredBlob(nats, "us-east", digest),
    (e: unknown) => e instanceof BlobCopyError && /has 2 of its 3 chunks/.test(e.message),
  );
});

natsTest("provisioning a region twice keeps its copy as it is", async ({ nats }) => {
  const digest = await putBlob(nats, pattern(2000, 1));
  await mirrored(nats, "us-east", digest);
  const before = await nats.jsm.streams.info(blobMirrorStream("us-east"));
  await provision(nats);
  await provisionRegion(nats, "us-east");
  const after = await nats.jsm.streams.info(blobMirrorStream("us-east"));
  assert.equal(after.created, before.created);
  assert.deepEqual(after.config, before.config);
  assert.equal(after.state.messages, before.state.messages);
  assert.deepEqual((await listRegions(nats)).map((r) => r.name), ["eu-west", "us-east"]);
  assert.ok(await readMirroredBlob(nats, "us-east", digest));
});

Deno.test({
  name: "a region reads blobs from its copy, also with the primary region killed",
  fn: async () => {
    await using sc = await startSupercluster([{ name: "primary" }, { name: "us-east" }]);
    await printLogsOnFailure(
      () => [sc],
      async () => {
        await using primary = await connectAs(sc.cluster("primary").urls, "control");
        await provision(primary, { cluster: "primary" });
        await provisionRegion(primary, "us-east", { cluster: "us-east" });
        const stream = blobMirrorStream("us-east");
        assert.equal((await primary.jsm.streams.info(stream)).cluster?.name, "us-east");
        const large = pattern(300 * 1024, 5);
        const small = new TextEncoder().encode("small");
        const digests = [await putBlob(primary, large), await putBlob(primary, small)];

        await using region = await connectAs(sc.cluster("us-east").urls, "control", {
          timeoutMs: 2_000,
        });
        assert.deepEqual(await mirrored(region, "us-east", digests[0]!), large);
        assert.deepEqual(await mirrored(region, "us-east", digests[1]!), small);

        const node = sc.cluster("us-east").servers[0]!;
        await sc.cluster("primary").servers[0]!.kill();
        await primary.nc.close();
        const readAll = async (when: string) => {
          const t0 = performance.now();
          assert.deepEqual(await readMirroredBlob(region, "us-east", digests[0]!), large);
          assert.deepEqual(await readMirroredBlob(region, "us-east", digests[1]!), small);
          assert.equal(await readMirroredBlob(region, "us-east", "0".repeat(64)), null);
          console.log(`  ${when}: read from the copy in ${(performance.now() - t0).toFixed(0)} ms`);
        };
        await readAll("primary just killed");
        // Seconds later the region notices it has lost the JetStream meta leader (the only
        // other member of the meta group was the primary); reads must go on.
        await waitFor("us-east without a JetStream meta leader", async () => {
          const res = await fetch(`${node.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1_000) });
          const jsz = (await res.json()) as { meta_cluster?: { leader?: string } };
          return jsz.meta_cluster !== undefined && !jsz.meta_cluster.leader;
        }, { timeoutMs: 60_000, intervalMs: 200 });
        // On 2.9.10 the message-get API refuses a little later still; then only direct gets
        // answer. (A newer server that keeps answering is fine too: reads are what count.)
        const api = await waitFor("the message-get API to refuse", async () => {
          const said = await region.jsm.streams.getMessage(stream, { seq: 1 }).then(
            () => "answers",
            (e: Error) => e.message,
          );
          return /temporarily unavailable/.test(said) && said;
        }, { timeoutMs: 15_000, intervalMs: 200 }).catch(() => "answers");
        await readAll(`meta leader lost (the message-get API: ${api})`);
        // The way it was read before, through the primary object store, is cut off.
        await assert.rejects(() => region.blobs().then((s) => s.getBlob(blobName(digests[1]!))));
      },
    );
  },
});
