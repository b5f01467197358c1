import assert from "node:assert/strict";
import { z } from "zod";
import { AtlasErrorCode } from "@atlas/core";
import { natsTest } from "@atlas/testkit";
import { CAS_ATTEMPTS, CasContentionError, casUpdate, readKv, readKvDirect } from "./kv_cas.ts";
import { isCasConflict } from "./retry.ts";

const Counter = z.object({ n: z.number().int(), by: z.array(z.string()) });
type Counter = z.infer<typeof Counter>;
const bump = (who: string) => (c: Counter | null): Counter => ({
  n: (c?.n ?? 0) + 1,
  by: [...(c?.by ?? []), who],
});

natsTest("casUpdate creates, updates and leaves a record as mutate says", async ({ nats }) => {
  await nats.kvm.create("cas", { history: 5 });
  const kv = await nats.kv("cas");
  const created = await casUpdate(kv, "k", Counter, bump("a"));
  assert.deepEqual(created, {
    written: true,
    value: { n: 1, by: ["a"] },
    revision: 1,
    previous: null,
  });
  const updated = await casUpdate(kv, "k", Counter, bump("b"));
  assert.ok(updated.written);
  assert.deepEqual(updated.previous, { value: { n: 1, by: ["a"] }, revision: 1 });
  assert.deepEqual(await readKv(kv, "k", Counter), {
    value: { n: 2, by: ["a", "b"] },
    revision: 2,
  });
  const left = await casUpdate(kv, "k", Counter, () => null);
  assert.deepEqual(left, {
    written: false,
    current: { value: { n: 2, by: ["a", "b"] }, revision: 2 },
  });
  // A deleted key is absent, and is created again over its delete marker.
  await kv.delete("k");
  assert.equal(await readKv(kv, "k", Counter), null);
  const again = await casUpdate(kv, "k", Counter, bump("c"));
  assert.deepEqual(again.written && again.value, { n: 1, by: ["c"] });
  await kv.put("bad", '{"n":"x"}');
  await assert.rejects(readKv(kv, "bad", Counter), { name: "ZodError" });
});

natsTest("casUpdate decides again on the record another writer stored", async ({ nats }) => {
  await nats.kvm.create("cas", { history: 5 });
  const kv = await nats.kv("cas");
  await kv.create("k", JSON.stringify({ n: 1, by: ["a"] }));
  const seen: (Counter | null)[] = [];
  const result = await casUpdate(kv, "k", Counter, async (c) => {
    seen.push(c);
    if (seen.length === 1) await kv.put("k", JSON.stringify(bump("rival")(c))); // wins the race
    return bump("me")(c);
  });
  assert.deepEqual(seen.map((c) => c?.by), [["a"], ["a", "rival"]]);
  assert.deepEqual(result.written && result.value, { n: 3, by: ["a", "rival", "me"] });
  // A create-only write that loses reads the record the winner created.
  const created: (Counter | null)[] = [];
  await casUpdate(kv, "fresh", Counter, async (c) => {
    created.push(c);
    if (created.length === 1) await kv.create("fresh", JSON.stringify({ n: 9, by: [] }));
    return bump("me")(c);
  });
  assert.deepEqual(created, [null, { n: 9, by: [] }]);
  // A stale `known` record costs one write, then the real one is read; kvWrite too.
  const stale = await readKv(kv, "k", Counter);
  await kv.put("k", JSON.stringify({ n: 10, by: [] }));
  const written = await casUpdate(kv, "k", Counter, bump("late"), {
    known: stale,
    write: (data, revision) => nats.kvWrite("cas", "k", data, revision),
  });
  assert.deepEqual(written.written && written.value, { n: 11, by: ["late"] });
});

natsTest("casUpdate gives up after its attempts with a typed conflict", async ({ nats }) => {
  await nats.kvm.create("cas", { history: 5 });
  const kv = await nats.kv("cas");
  let calls = 0;
  const lost = await casUpdate(kv, "k", Counter, async (c) => {
    calls++;
    await kv.put("k", JSON.stringify(bump("rival")(c))); // always first
    return bump("me")(c);
  }, { attempts: 3 }).catch((e) => e);
  assert.ok(lost instanceof CasContentionError, String(lost));
  assert.deepEqual([lost.key, lost.attempts, calls], ["k", 3, 3]);
  assert.equal(lost.code, AtlasErrorCode.contention);
  // Not a single lost write: a loop around casUpdate does not spin on it.
  assert.ok(!isCasConflict(lost) && isCasConflict(lost.cause));
  assert.match(lost.message, /^Key k kept changing .* 3 compare-and-set attempts/);
  await assert.rejects(casUpdate(kv, "k", Counter, bump("x"), { attempts: 0 }), RangeError);
  assert.equal(CAS_ATTEMPTS, 10);
  // What mutate throws is thrown as is, without a write.
  await assert.rejects(
    casUpdate(kv, "k", Counter, () => {
      throw new TypeError("no");
    }),
    TypeError,
  );
});

natsTest("readKvDirect reads a key by subject as readKv does", async ({ nats }) => {
  await nats.kvm.create("direct", { history: 5, allow_direct: true });
  const kv = await nats.kv("direct");
  assert.equal(await readKvDirect(nats, "direct", "k", Counter), null, "absent");
  await kv.put("k", JSON.stringify({ n: 1, by: ["a"] }));
  await kv.put("other", JSON.stringify({ n: 9, by: [] }));
  assert.deepEqual(await readKvDirect(nats, "direct", "k", Counter), {
    value: { n: 1, by: ["a"] },
    revision: 1,
  });
  assert.deepEqual(
    await readKvDirect(nats, "direct", "k", Counter),
    await readKv(kv, "k", Counter),
  );
  await kv.delete("k");
  assert.equal(await readKvDirect(nats, "direct", "k", Counter), null, "deleted");
  await kv.put("k", JSON.stringify({ n: 2, by: [] }));
  await kv.purge("k");
  assert.equal(await readKvDirect(nats, "direct", "k", Counter), null, "purged");
  await kv.put("bad", JSON.stringify({ n: "two" }));
  await assert.rejects(() => readKvDirect(nats, "direct", "bad", Counter));
});
