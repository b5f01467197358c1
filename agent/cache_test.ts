import assert from "node:assert/strict";
import { sha256Hex } from "@atlas/core";
import { BlobCache } from "./cache.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("the blob cache evicts the least recently used entry but never a kept one", async () => {
  const dir = await Deno.makeTempDir();
  const cache = new BlobCache(dir, 2);
  const [a, b, c] = ["a", "b", "c"].map((s) => ({ bytes: enc(s), digest: sha256Hex(s) }));
  await cache.put(a!.digest, a!.bytes);
  await cache.put(b!.digest, b!.bytes);
  assert.ok(await cache.get(a!.digest), "a is now the most recently used");
  await cache.put(c!.digest, c!.bytes);
  assert.equal(await cache.get(b!.digest), null, "b was evicted");
  await cache.put(b!.digest, b!.bytes, [a!.digest, c!.digest]);
  assert.equal([...Deno.readDirSync(dir)].length, 3, "kept entries may exceed the bound");
  const reopened = new BlobCache(dir, 2);
  assert.deepEqual(await reopened.get(c!.digest), c!.bytes);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a corrupted cache entry is dropped, never returned", async () => {
  const dir = await Deno.makeTempDir();
  const cache = new BlobCache(dir, 4);
  const digest = sha256Hex("good");
  await cache.put(digest, enc("good"));
  await Deno.writeTextFile(`${dir}/${digest}`, "evil");
  assert.equal(await cache.get(digest), null);
  await assert.rejects(Deno.stat(`${dir}/${digest}`), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("content put soon is served from memory at once and on disk after the delay", async () => {
  const dir = await Deno.makeTempDir();
  const cache = new BlobCache(dir, 1);
  const [a, b] = ["a", "b"].map((s) => ({ bytes: enc(s), digest: sha256Hex(s) }));
  await cache.put(a!.digest, a!.bytes);
  cache.putSoon(b!.digest, b!.bytes, () => [a!.digest], 50);
  assert.deepEqual(await cache.get(b!.digest), b!.bytes);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [a!.digest], "not written yet");
  await new Promise((r) => setTimeout(r, 150));
  // Written, and the kept entry survived the bound of 1.
  assert.deepEqual(
    new Set([...Deno.readDirSync(dir)].map((e) => e.name)),
    new Set([a!.digest, b!.digest]),
  );
  const c = { bytes: enc("c"), digest: sha256Hex("c") };
  cache.putSoon(c.digest, c.bytes, () => [], 60_000);
  await cache.flush(); // writes it now, without waiting a minute
  assert.deepEqual(await new BlobCache(dir, 3).get(c.digest), c.bytes);
  await Deno.remove(dir, { recursive: true });
});
