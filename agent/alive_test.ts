import assert from "node:assert/strict";
import { Subjects } from "@atlas/core";
import { natsTest, waitFor } from "@atlas/testkit";
import { AlivePings } from "./alive.ts";

natsTest("an agent pings at once on start, on its timer, and never after stop", async (ctx) => {
  const got: string[] = [];
  const sub = ctx.nats.nc.subscribe(Subjects.aliveOf("us-east"), {
    callback: (_e, m) => void got.push(m.subject),
  });
  await ctx.nats.nc.flush();
  const pings = new AlivePings(
    { region: "us-east", id: "a1", aliveSeconds: 0.05 },
    () => ctx.nats,
  );
  pings.start();
  pings.start(); // a second start (a reconnect) adds no timer
  await waitFor("three pings", () => got.length >= 3);
  assert.deepEqual(new Set(got), new Set(["atlas.alive.us-east.a1"]));
  pings.stop(); // the sanitizers check no timer is left
  const sent = pings.sent;
  pings.ping();
  assert.equal(pings.sent, sent, "stopped: no ping");
  sub.unsubscribe();
});
