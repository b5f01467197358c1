import assert from "node:assert/strict";
import { blobMetaSubject, BLOBS_STREAM, storeBlob } from "./blobs.ts";
import type { AtlasNats } from "./connect.ts";
import { blobName, sha256Hex } from "@atlas/core";
import { natsTest, waitForBlobCopy } from "@atlas/testkit";

function pattern(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed + (i >> 17)) % 251);
}

async function messages(nats: AtlasNats): Promise<number> {
  return (await nats.jsm.streams.info(BLOBS_STREAM)).state.messages;
}

natsTest("a stored blob reads back through the object store client and the region copy", async ({
  nats,
}) => {
  const blobs = await nats.blobs();
  for (
    const bytes of [new TextEncoder().encode('{"a":1}\n'), pattern(300 * 1024), new Uint8Array()]
  ) {
    const digest = sha256Hex(bytes);
    assert.equal(await storeBlob(nats, digest, bytes), true);
    // The client checks size, chunk count and SHA-256 against the metadata as it reads.
    assert.deepEqual(Uint8Array.from((await blobs.getBlob(blobName(digest)))!), bytes);
    const info = await blobs.info(blobName(digest));
    assert.equal(info?.chunks, Math.ceil(bytes.length / (128 * 1024)));
    assert.equal(info?.size, bytes.length);
    assert.deepEqual(await waitForBlobCopy(nats, "us-east", digest), bytes);
  }
});

natsTest("storing a blob twice stores it once and leaves no stray chunk", async ({ nats }) => {
  const bytes = pattern(200 * 1024, 7);
  const digest = sha256Hex(bytes);
  assert.equal(await storeBlob(nats, digest, bytes), true);
  const once = await messages(nats);
  assert.equal(await storeBlob(nats, digest, bytes), false);
  assert.equal(await messages(nats), once);
  // Concurrent publishers of the same new bytes: one stores it, the others find it.
  const other = pattern(1000, 9);
  const results = await Promise.all(
    Array.from({ length: 4 }, () => storeBlob(nats, sha256Hex(other), other)),
  );
  assert.deepEqual(results.filter((r) => r).length, 1);
  assert.equal(await messages(nats), once + 2); // one chunk, one metadata
  assert.deepEqual(
    Uint8Array.from((await (await nats.blobs()).getBlob(blobName(sha256Hex(other))))!),
    other,
  );
});

natsTest("a deleted blob is stored again", async ({ nats }) => {
  const bytes = new TextEncoder().encode("deleted once\n");
  const digest = sha256Hex(bytes);
  await storeBlob(nats, digest, bytes);
  const blobs = await nats.blobs();
  await blobs.delete(blobName(digest));
  assert.equal(await blobs.getBlob(blobName(digest)), null);
  assert.equal(await storeBlob(nats, digest, bytes), true);
  assert.deepEqual(Uint8Array.from((await blobs.getBlob(blobName(digest)))!), bytes);
});

natsTest("metadata that is not an object store record is refused with what to do", async ({
  nats,
}) => {
  const bytes = new TextEncoder().encode("squatted\n");
  const digest = sha256Hex(bytes);
  const subject = blobMetaSubject(blobName(digest));
  await nats.publisher.publish(subject, "not json");
  const before = await messages(nats);
  await assert.rejects(
    storeBlob(nats, digest, bytes),
    /is not an object store record \(not JSON \(.+\)\); remove it \(`nats object rm atlas_blobs sha256-/,
  );
  assert.equal(await messages(nats), before, "its chunk is purged again");
});
