import assert from "node:assert/strict";
import {
  agentKey,
  blobMirrorStream,
  blobName,
  Buckets,
  sha256Hex,
  Streams,
  Subjects,
} from "@atlas/core";
import { provisionRegion, readMirroredBlob } from "@atlas/store";
import { agentRecord, natsTest, waitFor, waitForBlobCopy } from "@atlas/testkit";
import { coordinator, FakeClock } from "./test_helpers.ts";

const REGION = "us-east";
const D1 = "1".repeat(64);
const D2 = "2".repeat(64);

/** `n` records on web v1, the `drifted` ones with another file on disk than they applied. */
async function records(
  nats: Parameters<typeof provisionRegion>[0],
  n: number,
  drifted: number[],
): Promise<string[]> {
  await provisionRegion(nats, REGION);
  const kv = await nats.kv(Buckets.agents);
  const at = new Date().toISOString();
  const ids = Array.from({ length: n }, (_, i) => `s${i}`);
  for (const [i, id] of ids.entries()) {
    await kv.put(
      agentKey(REGION, id),
      JSON.stringify(agentRecord(id, REGION, {
        web: {
          applied: { version: 1, digest: D1, seq: 1, appliedAt: at },
          diskDigest: drifted.includes(i) ? D2 : D1,
        },
      }, { at, heartbeatSeconds: 3600 })),
    );
  }
  return ids;
}

natsTest(
  "a fleet scan larger than a slice spans steps and raises its alerts at the last",
  async (ctx) => {
    // Five members, two per step: the scan looks at s0-s1, s2-s3, then s4 and writes.
    const ids = await records(ctx.nats, 5, [0, 2, 4]);
    const clock = new FakeClock(); // not moved: one scan, begun by the first step
    await using c = await coordinator(ctx, REGION, clock, { scanSlice: 2 });
    const alerts = await ctx.nats.kv(Buckets.alerts);
    const open = async () =>
      (await Promise.all(ids.map((id) => alerts.get(`drift-${REGION}-${id}-web`))))
        .filter((e) => e?.operation === "PUT").map((e) => e!.key);
    await c.step(); // s0, s1
    assert.ok(c.lease.isLeader);
    assert.deepEqual(await open(), [], "no alert before the scan's last slice");
    await c.step(); // s2, s3
    assert.deepEqual(await open(), [], "no alert before the scan's last slice");
    await c.step(); // s4: the region's alerts written
    assert.deepEqual(
      await open(),
      ["drift-us-east-s0-web", "drift-us-east-s2-web", "drift-us-east-s4-web"],
      "the drift of every slice is raised",
    );
    await c.step(); // the scan's window has not passed: no new scan, nothing resolved
    assert.equal((await open()).length, 3);
  },
);

natsTest("a scan slice that is not a positive whole number is refused", async (ctx) => {
  const clock = new FakeClock();
  for (const scanSlice of [0, -1, 1.5, NaN]) {
    await assert.rejects(
      coordinator(ctx, REGION, clock, { scanSlice }),
      /Cannot scan .* members per step: give a positive whole number/,
    );
  }
});

natsTest(
  "a region's blob copy that stopped copying is rebuilt by the leader at its third scan",
  async (ctx) => {
    const { nats } = ctx;
    const put = async (text: string) => {
      const bytes = new TextEncoder().encode(text);
      const digest = sha256Hex(bytes);
      await (await nats.blobs()).putBlob({ name: blobName(digest) }, bytes);
      return digest;
    };
    const a = await put("a");
    await waitForBlobCopy(nats, REGION, a);
    // A copy that never copies again: its origin's API is asked on a subject nothing answers.
    const stream = blobMirrorStream(REGION);
    const config = (await nats.jsm.streams.info(stream)).config;
    await nats.jsm.streams.delete(stream);
    await nats.jsm.streams.add({
      ...config,
      mirror: { name: `OBJ_${Buckets.blobs}`, external: { api: "$JS.nowhere.API" } },
    });
    const b = await put("b");
    const stalled = async () => (await nats.jsm.streams.info(stream)).config.mirror?.external;
    const clock = new FakeClock();
    await using c = await coordinator(ctx, REGION, clock);
    await c.step(); // scan 1: behind the origin, which one look takes for catching up
    assert.ok(c.lease.isLeader);
    clock.t += 10_000;
    await c.step(); // scan 2: not moved since, so stalled; seen once
    assert.ok(await stalled(), "not rebuilt on one finding");
    clock.t += 10_000;
    await c.step(); // scan 3: stalled again, rebuilt
    assert.equal(await stalled(), undefined, "rebuilt as a plain mirror of the origin");
    // Waited for without a rebuild of its own: the new mirror copies from seq 1.
    await waitFor("b in the rebuilt copy", () => readMirroredBlob(nats, REGION, b));
    const last = await nats.jsm.streams.getMessage(Streams.audit, {
      last_by_subj: Subjects.audit(),
    });
    const event = last!.json<{ action: string; region: string; details: { reason: string } }>();
    assert.equal(event.action, "blobs.copy.rebuilt");
    assert.equal(event.region, REGION);
    assert.match(event.details.reason, /stalled at seq 0/);
  },
);
