import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import { listEntries, listKeys } from "./list_keys.ts";

natsTest("key listings finish while the bucket is being written", async ({ nats }) => {
  const kv = await nats.kvm.create("probe", { history: 1 });
  await kv.put("us.a", "1");
  await kv.put("eu.b", "1");
  let stop = false;
  const writer = (async () => {
    for (let i = 0; !stop; i++) await kv.put(i % 2 ? "us.a" : "eu.b", String(i));
  })();
  try {
    for (let n = 0; n < 100; n++) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const keys = await Promise.race([
        listKeys(nats, "probe", n % 2 ? "us.*" : ">"),
        new Promise<string>((r) => (timer = setTimeout(() => r("still listing after 5 s"), 5_000))),
      ]);
      clearTimeout(timer);
      assert.deepEqual(keys, n % 2 ? ["us.a"] : ["eu.b", "us.a"]);
    }
  } finally {
    stop = true;
    await writer;
  }
});

natsTest("a key filter keeps dotted names apart and an empty match is empty", async ({ nats }) => {
  const kv = await nats.kvm.create("probe", { history: 1 });
  for (const k of ["web.1", "web.2", "web.api.1"]) await kv.put(k, "x");
  assert.deepEqual(await listKeys(nats, "probe", "web.*"), ["web.1", "web.2"]);
  assert.deepEqual(await listKeys(nats, "probe", "db.*"), []);
});

natsTest("entries are read in batches, in key order, delete markers included", async ({ nats }) => {
  const kv = await nats.kvm.create("probe", { history: 1 });
  const keys = Array.from({ length: 150 }, (_, i) => `r.a${String(i).padStart(3, "0")}`);
  await Promise.all(keys.map((k, i) => kv.put(k, `v${i}`)));
  await kv.put("other.a1", "not matched");
  await kv.delete("r.a007");
  const entries = await listEntries(nats, "probe", "r.*");
  assert.deepEqual(entries.map((e) => e.key), keys, "every key once, in order, past one batch");
  assert.equal(entries[7]!.operation, "DEL");
  assert.equal(entries[149]!.string(), "v149");
  assert.deepEqual(await listEntries(nats, "probe", "none.*"), []);
});

Deno.test("waitFor keeps its deadline when a condition never settles", async () => {
  await assert.rejects(
    waitFor("a hung request", () => new Promise<boolean>(() => {}), { timeoutMs: 200 }),
    /Timed out waiting for a hung request/,
  );
});
