import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import { Buckets, ConfigRecord, RegionRecord } from "@atlas/core";
import { provisionRegion } from "@atlas/store";
import { BucketCache } from "./bucket_cache.ts";

function record(name: string, latestVersion: number): ConfigRecord {
  const at = new Date().toISOString();
  return ConfigRecord.parse({
    name,
    contentType: "application/json",
    latestVersion,
    createdAt: at,
    updatedAt: at,
  });
}

natsTest("the config cache follows writes made by anyone, deletes included", async ({ nats }) => {
  const kv = await nats.kv(Buckets.configs);
  await kv.put("before", JSON.stringify(record("before", 1)));
  const cache = new BucketCache(nats, Buckets.configs, ConfigRecord);
  assert.equal((await cache.get("before"))?.value.latestVersion, 1, "loaded at start");
  // Another control plane replica writes straight to the bucket.
  await kv.put("before", JSON.stringify(record("before", 2)));
  await kv.put("after", JSON.stringify(record("after", 5)));
  await waitFor("update seen", async () => (await cache.get("before"))?.value.latestVersion === 2);
  await waitFor("new config seen", async () => (await cache.get("after")) !== null);
  await kv.delete("after");
  await waitFor("delete seen", async () => (await cache.get("after")) === null);
  assert.deepEqual((await cache.list()).map((c) => c.name), ["before"]);
});

natsTest(
  "a write noted by this process is read back at once and never rolled back",
  async ({ nats }) => {
    const kv = await nats.kv(Buckets.configs);
    const cache = new BucketCache(nats, Buckets.configs, ConfigRecord);
    assert.equal(await cache.get("web"), null);
    const revision = await kv.put("web", JSON.stringify(record("web", 3)));
    cache.note("web", { value: record("web", 3), revision });
    assert.equal((await cache.get("web"))?.revision, revision);
    cache.note("web", { value: record("web", 1), revision: revision - 1 });
    assert.equal((await cache.get("web"))?.value.latestVersion, 3, "an older revision is ignored");
  },
);

natsTest("the regions cache sees a region another process provisions", async ({ nats }) => {
  const cache = new BucketCache(nats, Buckets.regions, RegionRecord);
  assert.deepEqual((await cache.list()).map((r) => r.name), ["eu-west", "us-east"]);
  await provisionRegion(nats, "ap-south", { cluster: "ap" });
  await waitFor("new region seen", async () => (await cache.list()).length === 3);
  assert.deepEqual((await cache.get("ap-south"))?.value.cluster, "ap");
  assert.deepEqual((await cache.list()).map((r) => r.name), ["ap-south", "eu-west", "us-east"]);
});
