import assert from "node:assert/strict";
import { type AckRecord, Subjects } from "@atlas/core";
import { writeHeartbeat } from "@atlas/control/testing";
import { enrolAgent, natsTest } from "@atlas/testkit";
import { atlasHere, startTestControl } from "./testing.ts";

natsTest("atlas top shows who acked the active pointer and how fast, signed acks only", async ({
  urls,
  nats,
}) => {
  await using control = await startTestControl(urls);
  const run = (...args: string[]) => atlasHere(control.env, control.dir, ...args);
  await Deno.writeTextFile(`${control.dir}/web.json`, '{"a": 1}');
  await run("configs", "create", "web");
  await run("publish", "web", "web.json");
  assert.equal((await run("activate", "web", "1", "--regions", "us-east")).code, 0);

  // A mixed region: a1 and a2 manage web, batch manages nothing.
  const applied = {
    applied: { version: 1, digest: "0".repeat(64), seq: 1, appliedAt: new Date().toISOString() },
    diskDigest: null,
    lastAck: null,
  };
  const t0 = Date.now();
  for (const [id, latencyMs] of [["a1", 100], ["a2", 300]] as const) {
    const { identity } = await enrolAgent(nats, "us-east", id);
    await writeHeartbeat(nats, "us-east", id, { web: applied });
    const ack: AckRecord = {
      agent: id,
      region: "us-east",
      config: "web",
      version: 1,
      digest: "0".repeat(64),
      seq: 1,
      status: "applied",
      latencyMs,
      at: new Date(t0 + latencyMs).toISOString(),
    };
    await nats.js.publish(Subjects.ack("us-east", "web", id), JSON.stringify(identity.sign(ack)));
  }
  await enrolAgent(nats, "us-east", "batch");
  await writeHeartbeat(nats, "us-east", "batch", {});
  // A forged, unsigned ack in a third name never counts.
  await nats.js.publish(
    Subjects.ack("us-east", "web", "a3"),
    JSON.stringify({
      agent: "a3",
      region: "us-east",
      config: "web",
      version: 1,
      digest: "0".repeat(64),
      seq: 1,
      status: "applied",
      latencyMs: 9_000,
      at: new Date().toISOString(),
    }),
  );

  const out = await run("top", "web", "--iterations", "1");
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stdout,
    /REGION\s+ACTIVE\s+SEQ\s+AGE\s+ACKED\s+P50 MS\s+P95 MS\s+P99 MS\s+MAX MS\s+SKEW MS\n/,
  );
  assert.match(out.stdout, /\nus-east\s+v1\s+1\s+\d+s\s+2\/2\s+100\s+300\s+300\s+300\s+200\n/);
  assert.match(out.stdout, /\neu-west\s+-\s+-\s+-\s+0\/0\s+-/);

  const json = await run("top", "web", "--iterations", "2", "--interval", "10ms", "--json");
  const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  const east = lines[0].regions.find((r: { region: string }) => r.region === "us-east");
  assert.deepEqual(
    { agents: east.agents, acked: east.propagation.acked, p99: east.propagation.p99Ms },
    { agents: 2, acked: 2, p99: 300 },
  );

  const bad = await run("top", "web", "--interval", "soon");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--interval must be a positive duration/);
});
