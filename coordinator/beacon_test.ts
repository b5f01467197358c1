/**
 * The region beacon (coordinator/beacon.ts) on a mixed fleet: the leader publishes the
 * newest pointer seq of every config; agents of the config that missed its notice catch
 * up, agents in step and agents that do not manage it do nothing.
 */
import assert from "node:assert/strict";
import { RegionBeacon, Subjects } from "@atlas/core";
import { componentLogger } from "@atlas/store";
import { moveWithoutNotice, natsTest } from "@atlas/testkit";
import { Beacon } from "./beacon.ts";
import {
  coordinator,
  FakeClock,
  readOr,
  signer,
  startFleet,
  stepUntil,
  V1,
  V2,
} from "./test_helpers.ts";

natsTest(
  "on a mixed fleet the leader's beacon brings back only the agents that missed a notice",
  async (ctx) => {
    await using f = await startFleet(ctx, [
      { id: "web-0", region: "us-east", configs: { web: {} } },
      { id: "web-1", region: "us-east", configs: { web: {}, cache: {} } },
      { id: "cache-0", region: "us-east", configs: { cache: {} } },
      { id: "batch-0", region: "us-east", configs: {} },
    ], { agentJson: { reconcileSplaySeconds: 0 } });
    const moved = await moveWithoutNotice(ctx.nats, signer, "us-east", f.v2.web!);
    for (const id of ["web-0", "web-1"]) {
      assert.equal(await readOr(f.get(id).files.web!), V1, `${id}: no notice, still v1`);
    }
    const reader = await ctx.connect("reader");
    const beacons = reader.nc.subscribe(Subjects.beacon("us-east"), { max: 1 });
    await reader.nc.flush();

    const us = await coordinator(ctx, "us-east", new FakeClock(), { beaconSeconds: 1 });
    try {
      await stepUntil(
        "web on v2 through the beacon",
        [us],
        async () =>
          (await readOr(f.get("web-0").files.web!)) === V2 &&
          (await readOr(f.get("web-1").files.web!)) === V2,
      );
      let first: RegionBeacon | undefined;
      for await (const m of beacons) first = RegionBeacon.parse(m.json());
      assert.deepEqual(first?.configs, { web: moved.seq, cache: 1 });
      assert.equal(first?.region, "us-east");

      assert.equal(f.get("web-0").agent.stats.beaconsBehind, 1);
      assert.equal(f.get("web-1").agent.stats.beaconsBehind, 1);
      assert.equal(f.get("cache-0").agent.stats.beaconsBehind, 0, "cache is in step");
      assert.equal(f.get("batch-0").agent.stats.beaconsBehind, 0, "manages nothing");
      assert.equal(await readOr(f.get("cache-0").files.cache!), V1);
      assert.equal(await readOr(f.get("web-1").files.cache!), V1);
    } finally {
      await us.close();
    }
  },
);

natsTest("a coordinator refuses a beacon period that is not positive", async (ctx) => {
  await assert.rejects(
    coordinator(ctx, "us-east", new FakeClock(), { beaconSeconds: 0 }),
    (e: Error) => e instanceof RangeError && /every 0 s: give a positive number/.test(e.message),
  );
});

natsTest("the beacon states the region's reconnect window from its agent count", async (ctx) => {
  const reader = await ctx.connect("reader");
  const beacons = reader.nc.subscribe(Subjects.beacon("us-east"), { max: 1 });
  await reader.nc.flush();
  const nats = await ctx.connect({ kind: "coordinator", region: "us-east" });
  const log = componentLogger("test", {}, { sink: () => {} }).logger;
  const beacon = new Beacon(nats, {
    region: "us-east",
    log,
    agents: () => 4,
    reconnectRatePerSecond: 2,
  });
  await beacon.send();
  let got: RegionBeacon | undefined;
  for await (const m of beacons) got = RegionBeacon.parse(m.json());
  assert.equal(got?.reconnectSpreadMs, 2_000, "4 agents at 2 per second: 2 s");
  assert.throws(
    () => new Beacon(nats, { region: "us-east", log, agents: () => 1, reconnectRatePerSecond: 0 }),
    /positive number/,
  );
});
