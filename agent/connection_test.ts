import assert from "node:assert/strict";
import { AgentConfigFile } from "./config.ts";
import { Connection } from "./connection.ts";
import { waitFor } from "@atlas/testkit";

/** A connection that is never connected: reconcileSoon needs no server. */
function connection(splaySeconds: number, random: () => number, reconcile: () => Promise<void>) {
  const config = AgentConfigFile.parse({
    id: "a1",
    region: "us-east",
    nats: "nats://127.0.0.1:4222",
    stateDir: "state",
    trustedKeys: "keys.json",
    configs: {},
    reconcileSplaySeconds: splaySeconds,
  });
  return new Connection(config, {
    log: { debug() {}, info() {}, warn() {}, error() {} } as never,
    stats: { notices: 0 },
    onNotice: () => {},
    onKeySet: () => {},
    reconcile,
    random,
  });
}

Deno.test("reconcileSoon runs one reconcile however often it is asked while one waits", async () => {
  let runs = 0;
  const c = connection(0.2, () => 0.5, () => Promise.resolve(void runs++));
  c.reconcileSoon();
  c.reconcileSoon();
  c.reconcileSoon();
  assert.equal(c.reconcilePending, true);
  await waitFor("the splayed reconcile ran", () => runs === 1);
  assert.equal(c.reconcilePending, false);
  c.reconcileSoon(); // a new request after it ran gets a run of its own
  await waitFor("the second reconcile ran", () => runs === 2);
  c.stop();
});

Deno.test("stop cancels a splayed reconcile still waiting, and later requests", () => {
  let runs = 0;
  const c = connection(600, () => 0.99, () => Promise.resolve(void runs++));
  c.reconcileSoon();
  assert.equal(c.reconcilePending, true);
  c.stop(); // the test's timer sanitizer fails if the timer was left behind
  assert.equal(c.reconcilePending, false);
  c.reconcileSoon();
  assert.equal(c.reconcilePending, false);
  assert.equal(runs, 0);
});
