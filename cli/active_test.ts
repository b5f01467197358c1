import assert from "node:assert/strict";
import { writeHeartbeat } from "@atlas/control/testing";
import { enrolAgent, natsTest, waitFor } from "@atlas/testkit";
import { main } from "./cli.ts";
import { atlasHere, captureIo, startTestControl } from "./testing.ts";

const applied = (version: number) => ({
  applied: {
    version,
    digest: "0".repeat(64),
    seq: version,
    appliedAt: new Date().toISOString(),
  },
  diskDigest: null,
  lastAck: null,
});

natsTest("get prints the active version per region, and for one region its content", async ({
  urls,
}) => {
  await using control = await startTestControl(urls);
  const run = (...args: string[]) => atlasHere(control.env, control.dir, ...args);
  await Deno.writeTextFile(`${control.dir}/web.json`, '{"a": 1}\n');
  await run("configs", "create", "web");
  await run("publish", "web", "web.json");
  assert.equal((await run("activate", "web", "1", "--regions", "us-east")).code, 0);

  const all = await run("get", "web");
  assert.equal(all.code, 0, all.stderr);
  assert.match(
    all.stdout,
    /^REGION\s+ACTIVE\s+SEQ\s+AGENTS ON IT\neu-west\s+-\s+-\s+0\/0\nus-east\s+v1\s+1\s+0\/0\n$/,
  );
  const one = await run("get", "web", "--region", "us-east");
  assert.match(
    one.stdout,
    /us-east\s+v1[\s\S]*# web v1 in us-east \(application\/json\)\n\{"a": 1\}\n$/,
  );
  const json = JSON.parse((await run("get", "web", "--region", "us-east", "--json")).stdout);
  assert.deepEqual(json.content, {
    region: "us-east",
    version: 1,
    contentType: "application/json",
    text: '{"a": 1}\n',
  });
  const unknown = await run("get", "web", "--region", "mars");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /Region "mars" is not provisioned \(known: eu-west, us-east\)/);
});

natsTest(
  "activate --wait follows the acks until every agent runs it, or times out naming who",
  async ({
    urls,
    nats,
  }) => {
    await using control = await startTestControl(urls);
    const run = (...args: string[]) => atlasHere(control.env, control.dir, ...args);
    await Deno.writeTextFile(`${control.dir}/web.json`, '{"a": 1}');
    await run("configs", "create", "web");
    await run("publish", "web", "web.json");
    // Enrolled: only an enrolled agent's heartbeat is believed.
    await enrolAgent(nats, "us-east", "a1");
    await enrolAgent(nats, "us-east", "a2");
    await writeHeartbeat(nats, "us-east", "a1", { web: { ...applied(1), applied: null } });
    await writeHeartbeat(nats, "us-east", "a2", { web: { ...applied(1), applied: null } });

    const captured = captureIo(control.env, control.dir);
    const waiting = main(
      ["activate", "web", "1", "--regions", "us-east", "--wait", "--timeout", "30s"],
      captured.io,
    );
    await waitFor("the wait's progress", () => captured.stdout().includes("waiting: 0/2"));
    await writeHeartbeat(nats, "us-east", "a1", { web: applied(1) });
    await waitFor("a1's ack", () => captured.stdout().includes("waiting: 1/2"));
    await writeHeartbeat(nats, "us-east", "a2", { web: applied(1) });
    assert.equal(await waiting, 0, captured.stderr());
    assert.match(
      captured.stdout(),
      /us-east\s+\[\.{10}\] 0\/2\s+waiting: 0\/2 agents on v1 \(a1 on none, a2 on none\)/,
    );
    assert.match(
      captured.stdout(),
      /us-east\s+\[#{10}\] 2\/2\s+v1\nevery agent managing web in us-east runs/,
    );

    await run("publish", "web", "web.json", "-m", "same content, new version");
    const timedOut = await run(
      "activate",
      "web",
      "2",
      "--regions",
      "us-east",
      "--wait",
      "--timeout",
      "1s",
    );
    assert.equal(timedOut.code, 1);
    assert.match(
      timedOut.stderr,
      /^error: Timed out after 1s waiting for web: us-east: 0\/2 agents on v2 \(a1 on v1, a2 on v1\)/,
    );
    const json = await run("rollback", "web", "--regions", "us-east", "--wait", "--json");
    assert.equal(json.code, 0, json.stdout);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.version, 1);
    assert.deepEqual(parsed.wait.regions.map((r: { onTarget: string[] }) => r.onTarget), [[
      "a1",
      "a2",
    ]]);
    assert.match(
      (await run("activate", "web", "1", "--timeout", "5s")).stderr,
      /--timeout applies to --wait only/,
    );
  },
);
