/**
 * Two coordinator processes for one region; the leader is SIGKILLed mid-rollout. The
 * other takes the lease and finishes the rollout, no stage applied twice or skipped.
 */
import assert from "node:assert/strict";
import {
  activateVersion,
  enrolAgent,
  natsTest,
  type NatsTestContext,
  storeVersion,
  tempDir,
  waitFor,
} from "@atlas/testkit";
import {
  activeRolloutKey,
  Buckets,
  endedKeySet,
  firstKeySet,
  generateSigningKey,
  KeySetRecord,
  planStages,
  RolloutRecord,
  rotatedKeySet,
  Signer,
  Strategy,
  Streams,
  Verifier,
} from "@atlas/core";
import { publishTrustedKeys, storeKeySet } from "@atlas/store";
import { Agent, AgentConfigFile } from "@atlas/agent";
import { main } from "./main.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

natsTest("a SIGKILLed leader's replica takes over and finishes the rollout", async (ctx) => {
  const dir = await tempDir({ prefix: "atlas-coord-proc-" });
  const key = generateSigningKey();
  await Deno.writeTextFile(`${dir}/signing.key`, JSON.stringify(key));
  const signer = new Signer(key);
  await publishTrustedKeys(ctx.nats, [signer.trustedKey]); // as the control plane does at start
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
  await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
  const config = AgentConfigFile.parse({
    id: "a1",
    region: "us-east",
    nats: ctx.urls,
    credentials: await ctx.auth.creds({ kind: "agent", region: "us-east", agent: "a1" }),
    stateDir: `${dir}/a1/state`,
    trustedKeys: "(in memory)",
    heartbeatSeconds: 1,
    configs: { web: { path: `${dir}/a1/web.json` } },
  });
  const { identity } = await enrolAgent(ctx.nats, "us-east", "a1");
  await using agent = await Agent.start(config, {
    identity,
    verifier: new Verifier([signer.trustedKey]),
    log: () => {},
  });
  await agent.whenConnected();

  const coordCreds = await credsFile(ctx, dir);
  const spawn = (replica: string) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "--region",
        "us-east",
        "--nats",
        ctx.urls.join(","),
        "--creds",
        coordCreds,
        "--signing-key",
        `${dir}/signing.key`,
        "--replica",
        replica,
        "--tick-ms",
        "200",
        "--lease-ttl-ms",
        "2000",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let out = "";
    for (const s of [child.stdout, child.stderr]) {
      (async () => {
        for await (const c of s.pipeThrough(new TextDecoderStream())) out += c;
      })().catch(() => {});
    }
    ctx.addLog({ name: `coordinator ${replica}`, logTail: () => Promise.resolve(out) });
    return { child, out: () => out };
  };
  const a = spawn("a");
  await waitFor("a leads", () => a.out().includes("leading"));
  const b = spawn("b");
  try {
    const kv = await ctx.nats.kv(Buckets.rollouts);
    const at = new Date().toISOString();
    await kv.create(activeRolloutKey("web"), JSON.stringify({ rolloutId: "r-kill" }));
    await kv.create(
      "r-kill",
      JSON.stringify(RolloutRecord.parse({
        id: "r-kill",
        config: "web",
        version: 2,
        stages: planStages(Strategy.parse({ name: "linear", steps: 4, bakeSeconds: 1 }), [
          "us-east",
        ]),
        state: "running",
        stage: 0,
        regions: { "us-east": { targeted: 0, applied: 0, rejected: 0, failed: 0, pending: 0 } },
        transitions: [],
        createdAt: at,
        createdBy: "test",
        updatedAt: at,
      })),
    );
    const stageOf = async () => RolloutRecord.parse((await kv.get("r-kill"))!.json()).stage;
    await waitFor("stage 2 under a", async () => (await stageOf()) >= 1, { timeoutMs: 30_000 });
    a.child.kill("SIGKILL");
    await a.child.status;
    const killedAt = performance.now();
    await waitFor("b takes over", () => b.out().includes("leading"), { timeoutMs: 30_000 });
    console.log(
      `  replica b led ${((performance.now() - killedAt) / 1000).toFixed(1)} s after a was killed`,
    );
    await waitFor(
      "succeeded",
      async () => RolloutRecord.parse((await kv.get("r-kill"))!.json()).state === "succeeded",
      {
        timeoutMs: 60_000,
      },
    );
    await waitFor(
      "agent on v2",
      async () => (await Deno.readTextFile(config.configs.web!.path)) === '{"v":2}',
    );
    const info = await ctx.nats.jsm.streams.info(Streams.audit);
    const stages: number[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await ctx.nats.jsm.streams.getMessage(Streams.audit, { seq }).catch(() => null);
      const e = m?.json() as { action: string; details: { stage?: number } } | undefined;
      if (e?.action === "rollout.stage") stages.push(e.details.stage!);
    }
    assert.deepEqual(stages, [0, 1, 2, 3], "every stage once, in order");
  } finally {
    for (const p of [a, b]) {
      try {
        p.child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await p.child.status;
    }
  }
});

/** The us-east coordinator's credentials, written to a file in `dir`. */
async function credsFile(ctx: NatsTestContext, dir: string): Promise<string> {
  const file = `${dir}/coordinator.creds`;
  await Deno.writeTextFile(file, await ctx.auth.creds({ kind: "coordinator", region: "us-east" }));
  return file;
}

natsTest("a coordinator whose key agents do not trust exits 2 before leading", async (ctx) => {
  const dir = await tempDir({ prefix: "atlas-coord-untrusted-" });
  try {
    const control = new Signer(generateSigningKey());
    await publishTrustedKeys(ctx.nats, [control.trustedKey]);
    const stranger = generateSigningKey();
    await Deno.writeTextFile(`${dir}/signing.key`, JSON.stringify(stranger));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "--region",
        "us-east",
        "--nats",
        ctx.urls.join(","),
        "--creds",
        await credsFile(ctx, dir),
        "--signing-key",
        `${dir}/signing.key`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(
      stderr,
      new RegExp(
        `coordinator us-east signs with key ${stranger.keyId}, which agents do not trust ` +
          `\\(trusted: ${control.keyId}\\)`,
      ),
    );
    assert.doesNotMatch(new TextDecoder().decode(out.stdout), /started/);
    assert.equal(await (await ctx.nats.kv(Buckets.leases)).get("us-east"), null, "never led");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

natsTest("a coordinator holding only a retired key exits 2 naming the key to copy", async (ctx) => {
  const dir = await tempDir({ prefix: "atlas-coord-retired-" });
  try {
    const oldKeyFile = generateSigningKey();
    const old = new Signer(oldKeyFile);
    const next = new Signer(generateSigningKey());
    const meta = { at: new Date().toISOString(), by: "ops" };
    const s1 = KeySetRecord.parse(old.sign(firstKeySet(old.trustedKey, [], meta)));
    const s2 = KeySetRecord.parse(old.sign(rotatedKeySet(s1, next.trustedKey, meta)));
    const s3 = KeySetRecord.parse(next.sign(endedKeySet(s2, old.keyId, "retired", meta)));
    for (const s of [s1, s2, s3]) await storeKeySet(ctx.nats, s, []);
    const keyFile = `${dir}/old.key`;
    await Deno.writeTextFile(keyFile, JSON.stringify(oldKeyFile));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "--region",
        "us-east",
        "--nats",
        ctx.urls.join(","),
        "--creds",
        await credsFile(ctx, dir),
        "--signing-key",
        keyFile,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(
      stderr,
      new RegExp(
        `coordinator us-east refuses to sign: it holds ${old.keyId} \\(retired\\), and key ` +
          `set 3 signs with ${next.keyId}\\. Copy that key's file \\(${next.keyId}\\.key`,
      ),
    );
    assert.equal(await (await ctx.nats.kv(Buckets.leases)).get("us-east"), null, "never led");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a coordinator given a bad number of ack check threads exits 2 saying why", async () => {
  const errors: string[] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  try {
    for (const threads of ["-1", "1.5", "many"]) {
      const code = await main([
        "--region",
        "r",
        "--signing-key",
        "k",
        `--ack-check-threads=${threads}`,
      ]);
      assert.equal(code, 2);
    }
  } finally {
    console.error = error;
  }
  assert.equal(errors.length, 3);
  assert.match(errors[0]!, /--ack-check-threads must be a whole number \(0: no threads\)/);
});
