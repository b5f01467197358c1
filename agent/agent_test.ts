import assert from "node:assert/strict";
import {
  acksOf,
  activateVersion,
  natsTest,
  storeVersion,
  tempDir,
  waitFor,
  waitForBlobCopy,
} from "@atlas/testkit";
import {
  type AckRecord,
  agentKey,
  type AgentRecord,
  blobMirrorStream,
  blobName,
  Buckets,
  generateSigningKey,
  PointerRecord,
  Signer,
  Subjects,
  Verifier,
  VersionRecord,
} from "@atlas/core";
import { type AtlasNats, provision, readMirroredBlob, readPointer } from "@atlas/store";
import { Agent } from "./agent.ts";
import { agentOnV1, fileOf, makeAgentConfig, signer, startTestAgent } from "./test_helpers.ts";

function acksOfA1(nats: AtlasNats): Promise<AckRecord[]> {
  return acksOf(nats, "us-east", "web", "a1");
}

async function waitForAcks(nats: AtlasNats, n: number): Promise<AckRecord[]> {
  let acks: AckRecord[] = [];
  await waitFor(`${n} acks`, async () => (acks = await acksOfA1(nats)).length === n);
  return acks;
}

natsTest("agent applies the exact bytes of an activated version and acks it", async (ctx) => {
  const cfg = await makeAgentConfig(ctx.urls);
  await using agent = await startTestAgent(ctx, cfg);
  const content = '{\n  "feature": true\n}\n';
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, content);
  await activateVersion(ctx.nats, signer, "us-east", v1, { content });
  await waitFor(
    "file written",
    async () => (await Deno.readTextFile(fileOf(cfg)).catch(() => "")) === content,
  );
  const acks = await waitForAcks(ctx.nats, 1);
  assert.equal(acks[0]!.status, "applied");
  assert.equal(acks[0]!.version, 1);
  assert.equal(agent.stats.inlineHits, 1);
  assert.equal(agent.stats.fetches, 0);
  assert.equal(agent.stateOf("web").applied?.version, 1);
});

natsTest("the agent's log lines name the component, the agent and the version", async (ctx) => {
  const cfg = await makeAgentConfig(ctx.urls);
  const lines: string[] = [];
  await using _agent = await Agent.start(cfg, {
    verifier: new Verifier([signer.trustedKey]),
    log: (l) => lines.push(l),
  });
  ctx.addLog({ name: "agent a1", logTail: () => Promise.resolve(lines.join("\n")) });
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  await activateVersion(ctx.nats, signer, "us-east", v1);
  await waitFor("applied logged", () => lines.some((l) => / applied /.test(l)));
  const applied = lines.find((l) => / applied /.test(l))!;
  assert.match(applied, / INFO agent applied agent=a1 region=us-east config=web version=1 seq=\d+/);
  assert.ok(lines.every((l) => / agent=a1 region=us-east/.test(l)), lines.join("\n"));
});

natsTest("rollback is applied from the local cache without fetching", async (ctx) => {
  const cfg = await makeAgentConfig(ctx.urls);
  await using agent = await startTestAgent(ctx, cfg);
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
  await activateVersion(ctx.nats, signer, "us-east", v1, { inline: false });
  await waitFor(
    "v1",
    async () => (await Deno.readTextFile(fileOf(cfg)).catch(() => "")) === '{"v":1}',
  );
  // The cache holds its own copy, never a second link to the file: cron, for one, ignores
  // a file in /etc/cron.d with more than one ("NUMBER OF HARD LINKS > 1").
  await agent.idle();
  await waitFor("v1 cached", async () => {
    const entry = await Deno.stat(`${cfg.stateDir}/blobs/${v1.digest}`).catch(() => null);
    return entry !== null;
  });
  assert.equal((await Deno.stat(fileOf(cfg))).nlink, 1);
  await activateVersion(ctx.nats, signer, "us-east", v2, { inline: false });
  await waitFor("v2", async () => (await Deno.readTextFile(fileOf(cfg))) === '{"v":2}');
  // Fetched from the region's copy, or from the object store if the copy lagged.
  assert.equal(agent.stats.fetches + agent.stats.regionCopyHits, 2);
  await activateVersion(ctx.nats, signer, "us-east", v1, { inline: false });
  await waitFor("back on v1", async () => (await Deno.readTextFile(fileOf(cfg))) === '{"v":1}');
  assert.equal(agent.stats.fetches + agent.stats.regionCopyHits, 2, "rollback must not fetch");
  assert.equal(agent.stats.cacheHits, 1);
});

natsTest(
  "content too large to inline is applied from the region's copy, else from the object store",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls);
    await using agent = await startTestAgent(ctx, cfg);
    // Over the control plane's 64 KiB inline limit (so notices never carry it), 2 chunks.
    const content = (n: number) => JSON.stringify({ v: n, pad: "x".repeat(200 * 1024) });
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, content(1));
    await waitForBlobCopy(ctx.nats, "us-east", v1.digest);
    await activateVersion(ctx.nats, signer, "us-east", v1, { inline: false });
    await waitFor("v1 applied", () => agent.stats.applies === 1);
    assert.equal(await Deno.readTextFile(fileOf(cfg)), content(1));
    assert.equal(agent.stats.regionCopyHits, 1);
    assert.equal(agent.stats.fetches, 0);
    // A copy that fails (here: it lost a chunk) is passed over for the object store.
    const v2 = await storeVersion(ctx.nats, signer, "web", 2, content(2));
    await waitForBlobCopy(ctx.nats, "us-east", v2.digest);
    const nuid = (await (await ctx.nats.blobs()).info(blobName(v2.digest)))!.nuid;
    const chunk = { seq: 1, next_by_subj: `$O.${Buckets.blobs}.C.${nuid}` };
    const copy = blobMirrorStream("us-east");
    const first = (await ctx.nats.jsm.streams.getMessage(copy, chunk))!;
    await ctx.nats.jsm.streams.deleteMessage(copy, first.seq);
    await activateVersion(ctx.nats, signer, "us-east", v2, { inline: false });
    await waitFor("v2 applied", () => agent.stats.applies === 2);
    assert.equal(await Deno.readTextFile(fileOf(cfg)), content(2));
    assert.equal(agent.stats.regionCopyHits, 1);
    assert.equal(agent.stats.fetches, 1);
    // A region provisioned before copies existed has none: the object store serves.
    await ctx.nats.jsm.streams.delete(copy);
    const v3 = await storeVersion(ctx.nats, signer, "web", 3, content(3));
    await activateVersion(ctx.nats, signer, "us-east", v3, { inline: false });
    await waitFor("v3 applied", () => agent.stats.applies === 3);
    assert.equal(await Deno.readTextFile(fileOf(cfg)), content(3));
    assert.equal(agent.stats.regionCopyHits, 1);
    assert.equal(agent.stats.fetches, 2);
  },
);

natsTest(
  "an apply that fails for a passing reason is retried within seconds, not at the next reconcile",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls); // reconcile: once an hour
    await using agent = await startTestAgent(ctx, cfg);
    const content = JSON.stringify({ v: 1, pad: "x".repeat(100 * 1024) });
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, content);
    // Neither the region's copy nor the object store can be read for a moment.
    await ctx.nats.jsm.streams.delete(blobMirrorStream("us-east"));
    await ctx.nats.jsm.streams.delete(`OBJ_${Buckets.blobs}`);
    await activateVersion(ctx.nats, signer, "us-east", v1, { inline: false });
    await waitFor("a failed attempt", () => agent.stats.applies === 0 && agent.stats.notices > 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(agent.stats.applies, 0);
    // The object store is back (a restored primary): the agent retries by itself.
    await provision(ctx.nats);
    await storeVersion(ctx.nats, signer, "web", 1, content);
    await waitFor("v1 applied on a retry", () => agent.stats.applies === 1, { timeoutMs: 10_000 });
    assert.equal(await Deno.readTextFile(fileOf(cfg)), content);
    assert.equal(agent.stats.rejects, 0, "a passing failure is not a rejection");
  },
);

natsTest("the same pointer seen again (notice and reconcile) is applied once", async (ctx) => {
  const cfg = await makeAgentConfig(ctx.urls);
  await using agent = await startTestAgent(ctx, cfg);
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
  await waitFor("applied", () => agent.stats.applies === 1);
  await agent.reconcile();
  await agent.reconcile();
  await agent.idle();
  assert.equal(agent.stats.applies, 1);
  assert.ok(agent.stats.noops >= 2);
  assert.equal((await acksOfA1(ctx.nats)).length, 1);
});

natsTest(
  "a tampered blob in the object store is rejected and the last good file kept",
  async (ctx) => {
    await using onV1 = await agentOnV1(ctx);
    const { cfg, agent } = onV1;
    const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
    const store = await ctx.nats.blobs();
    await store.putBlob({ name: blobName(v2.digest) }, new TextEncoder().encode('{"v":"evil"}'));
    // Else a lagging region copy could still serve the genuine bytes.
    await waitFor(
      "the tampered bytes in the region's copy",
      async () =>
        new TextDecoder().decode(
          (await readMirroredBlob(ctx.nats, "us-east", v2.digest)) ?? new Uint8Array(),
        ) === '{"v":"evil"}',
    );
    await activateVersion(ctx.nats, signer, "us-east", v2, { inline: false });
    await waitFor("rejected", () => agent.stats.rejects === 1);
    assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":1}');
    const acks = await waitForAcks(ctx.nats, 2);
    assert.equal(acks[1]!.status, "rejected");
    assert.match(acks[1]!.reason ?? "", /the region copy does not match the signed version/);
    assert.equal(agent.stateOf("web").applied?.version, 1);
  },
);

natsTest("tampered inline content in a notice is rejected", async (ctx) => {
  const cfg = await makeAgentConfig(ctx.urls);
  await using agent = await startTestAgent(ctx, cfg);
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  const stored = await activateVersion(ctx.nats, signer, "us-east", v1, { inline: false });
  await waitFor("v1", () => agent.stats.applies === 1);
  const forged = {
    pointer: { ...stored!, seq: stored!.seq },
    blobs: { [v1.digest]: btoa('{"v":"evil"}') },
  };
  // Same seq as already applied: a no-op, evil bytes never read.
  ctx.nats.nc.publish(Subjects.notify("us-east", "web"), JSON.stringify(forged));
  const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
  const p2 = await activateVersion(ctx.nats, signer, "us-east", v2, { inline: false });
  await waitFor("v2", () => agent.stats.applies === 2);
  const v3 = await storeVersion(ctx.nats, signer, "web", 3, '{"v":3}');
  // A fresh, validly signed pointer whose inline bytes were swapped in transit.
  const p3 = PointerRecord.parse(signer.sign({ ...p2!, seq: p2!.seq + 1, active: v3 }));
  ctx.nats.nc.publish(
    Subjects.notify("us-east", "web"),
    JSON.stringify({ pointer: p3, blobs: { [v3.digest]: btoa('{"v":"evil"}') } }),
  );
  await waitFor("rejected", () => agent.stats.rejects === 1);
  assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":2}');
});

natsTest("a version signed by an unknown key is rejected", async (ctx) => {
  await using onV1 = await agentOnV1(ctx);
  const { cfg, agent } = onV1;
  const stranger = new Signer(generateSigningKey());
  const evil = await storeVersion(ctx.nats, stranger, "web", 2, '{"v":"evil"}');
  // The pointer itself is signed by the trusted key, the version it names is not.
  await activateVersion(ctx.nats, signer, "us-east", evil, { content: '{"v":"evil"}' });
  await waitFor("rejected", () => agent.stats.rejects === 1);
  assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":1}');
  const ack = (await waitForAcks(ctx.nats, 2))[1]!;
  assert.equal(ack.status, "rejected");
  assert.match(ack.reason ?? "", new RegExp(`untrusted key "${stranger.keyId}"`));
});

natsTest(
  "a version under another trusted key is checked on its own, even inside a valid pointer",
  async (ctx) => {
    // A pointer proves the records it embeds under its own key (writePointer checks them
    // before signing); a record under any other key, here an older one, is the agent's to check.
    const older = new Signer(generateSigningKey());
    const cfg = await makeAgentConfig(ctx.urls);
    await using agent = await startTestAgent(ctx, cfg, [older.trustedKey]);
    const v1 = await storeVersion(ctx.nats, older, "web", 1, '{"v":1}');
    await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
    await waitFor("v1 applied", () => agent.stats.applies === 1);
    const v2 = await storeVersion(ctx.nats, older, "web", 2, '{"v":2}');
    const altered = { ...v2, message: "altered after signing" };
    await activateVersion(ctx.nats, signer, "us-east", altered, { content: '{"v":2}' });
    await waitFor("rejected", () => agent.stats.rejects === 1);
    assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":1}');
    const ack = (await waitForAcks(ctx.nats, 2))[1]!;
    assert.equal(ack.status, "rejected");
    assert.match(ack.reason ?? "", /version web v2 has an invalid signature/);
  },
);

natsTest("a pointer signed by an unknown key is rejected", async (ctx) => {
  const cfg = await makeAgentConfig(ctx.urls);
  await using agent = await startTestAgent(ctx, cfg);
  const stranger = new Signer(generateSigningKey());
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  await activateVersion(ctx.nats, stranger, "us-east", v1, { content: '{"v":1}' });
  await waitFor("rejected", () => agent.stats.rejects === 1);
  assert.equal(agent.stats.applies, 0);
  await assert.rejects(Deno.stat(fileOf(cfg)), Deno.errors.NotFound);
  assert.equal(agent.stateOf("web").maxSeq, 0, "an unverified pointer must not raise maxSeq");
});

natsTest("a replayed older pointer is refused", async (ctx) => {
  const cfg = await makeAgentConfig(ctx.urls);
  await using agent = await startTestAgent(ctx, cfg);
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
  const old = await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
  await activateVersion(ctx.nats, signer, "us-east", v2, { content: '{"v":2}' });
  await waitFor("v2", () => agent.stats.applies === 2);
  ctx.nats.nc.publish(
    Subjects.notify("us-east", "web"),
    JSON.stringify({ pointer: old, blobs: { [v1.digest]: btoa('{"v":1}') } }),
  );
  await waitFor("refused", () => agent.stats.refusedReplays === 1);
  assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":2}');
  assert.equal((await readPointer(ctx.nats, "us-east", "web"))?.pointer.active.version, 2);
});

natsTest("a failing reload command restores the previous file and acks failed", async (ctx) => {
  const dir = await tempDir();
  const marker = `${dir}/fail`;
  const cfg = await makeAgentConfig(ctx.urls, {
    configs: { web: { reload: `test ! -e ${marker} || { echo boom >&2; exit 3; }` } },
  });
  await using agent = await startTestAgent(ctx, cfg);
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
  await waitFor("v1", () => agent.stats.applies === 1);
  await Deno.writeTextFile(marker, "");
  const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
  await activateVersion(ctx.nats, signer, "us-east", v2, { content: '{"v":2}' });
  await waitFor("failed", () => agent.stats.failures === 1);
  assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":1}');
  const st = agent.stateOf("web");
  assert.equal(st.applied?.version, 1);
  assert.equal(st.lastAck?.status, "failed");
  assert.match(st.lastAck?.reason ?? "", /exit 3: boom/);
});

natsTest(
  "a restarted agent applies nothing again and catches up on what it missed",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls);
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
    {
      await using agent = await startTestAgent(ctx, cfg);
      await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
      await waitFor("v1", () => agent.stats.applies === 1);
    }
    {
      await using again = await startTestAgent(ctx, cfg);
      assert.equal(again.stats.applies, 0);
      assert.equal(again.stats.noops, 1);
    }
    for (let n = 2; n <= 6; n++) {
      const v = await storeVersion(ctx.nats, signer, "web", n, `{"v":${n}}`);
      await activateVersion(ctx.nats, signer, "us-east", v, { content: `{"v":${n}}` });
    }
    await using back = await startTestAgent(ctx, cfg);
    assert.equal(back.stats.applies, 1, "only the active version is applied, not the history");
    assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":6}');
    assert.equal((await acksOfA1(ctx.nats)).length, 2);
  },
);

natsTest("a hand edit of an applied file is healed on reconcile", async (ctx) => {
  await using onV1 = await agentOnV1(ctx);
  const { cfg, agent } = onV1;
  await Deno.writeTextFile(fileOf(cfg), '{"v":"hand edit"}');
  await agent.reconcile();
  assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":1}');
  assert.equal(agent.stats.driftHealed, 1);
  assert.equal(agent.stats.fetches, 0, "healed from the local cache");
});

natsTest(
  "a hand edit that keeps the size and puts the modification time back is still found",
  async (ctx) => {
    await using onV1 = await agentOnV1(ctx);
    const { cfg, agent } = onV1;
    const path = fileOf(cfg);
    // Old enough for the agent to trust the file's stamp, and hashed once more by a reconcile.
    await new Promise((r) => setTimeout(r, 2_200));
    await agent.reconcile();
    const { mtime, size } = await Deno.stat(path);
    await Deno.writeTextFile(path, '{"v":9}');
    await Deno.utime(path, mtime!, mtime!);
    const after = await Deno.stat(path);
    assert.deepEqual([after.size, after.mtime], [size, mtime], "only the change time moved");
    await agent.reconcile();
    await waitFor("restored", async () => (await Deno.readTextFile(path)) === '{"v":1}');
    assert.equal(agent.stats.driftHealed, 1);
  },
);

natsTest("a pointer with the same seq and signature but other content is rejected", async (ctx) => {
  await using onV1 = await agentOnV1(ctx);
  const { cfg, agent } = onV1;
  const stored = (await readPointer(ctx.nats, "us-east", "web"))!.pointer;
  // The agent verified `stored` already; this one differs under the same signature.
  const forged = { ...stored, reason: "forged" };
  ctx.nats.nc.publish(Subjects.notify("us-east", "web"), JSON.stringify({ pointer: forged }));
  await waitFor("rejected", () => agent.stats.rejects === 1);
  assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":1}');
  assert.equal(agent.stateOf("web").maxSeq, stored.seq);
});

natsTest("a candidate reaches only the agents in its share", async (ctx) => {
  const ids = Array.from({ length: 6 }, (_, i) => `a${i}`);
  const agents = await Promise.all(ids.map(async (id) => {
    const cfg = await makeAgentConfig(ctx.urls, { id });
    const agent = await startTestAgent(ctx, cfg);
    return { id, cfg, agent };
  }));
  try {
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
    const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
    await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
    await activateVersion(ctx.nats, signer, "us-east", v1, {
      content: '{"v":2}',
      candidate: {
        version: v2,
        rolloutId: "r1",
        selector: { percent: 0, agents: ["a1", "a4"], exclude: [] },
      },
    });
    for (const a of agents) {
      const want = a.id === "a1" || a.id === "a4" ? '{"v":2}' : '{"v":1}';
      await waitFor(
        `${a.id} on ${want}`,
        async () => (await Deno.readTextFile(fileOf(a.cfg)).catch(() => "")) === want,
      );
    }
  } finally {
    await Promise.all(agents.map((a) => a.agent.close()));
  }
});

Deno.test("version records round-trip through the schema unchanged (signatures stay valid)", () => {
  const rec = VersionRecord.parse(signer.sign({
    config: "web",
    version: 1,
    digest: "b".repeat(64),
    size: 3,
    contentType: "application/json",
    author: "x",
    message: "",
    createdAt: new Date().toISOString(),
  }));
  assert.deepEqual(VersionRecord.parse(JSON.parse(JSON.stringify(rec))), rec);
});

natsTest(
  "a trusted pointer that names another config's version is rejected, its seq kept",
  async (ctx) => {
    await using onV1 = await agentOnV1(ctx);
    const { cfg, agent } = onV1;
    const other = await storeVersion(ctx.nats, signer, "db", 1, '{"db":true}');
    const stored = await readPointer(ctx.nats, "us-east", "web");
    const wrong = PointerRecord.parse(
      signer.sign({ ...stored!.pointer, seq: stored!.pointer.seq + 1, active: other }),
    );
    ctx.nats.nc.publish(
      Subjects.notify("us-east", "web"),
      JSON.stringify({ pointer: wrong, blobs: {} }),
    );
    await waitFor("rejected", () => agent.stats.rejects === 1);
    assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":1}');
    assert.match(agent.stateOf("web").lastAck?.reason ?? "", /names a version of db/);
    assert.equal(agent.stateOf("web").maxSeq, wrong.seq, "the pointer verified, so its seq counts");
  },
);

natsTest("a candidate chosen by labels reaches only the agents that carry them", async (ctx) => {
  const canary = await makeAgentConfig(ctx.urls, { id: "c1", labels: { tier: "canary" } });
  const plain = await makeAgentConfig(ctx.urls, { id: "p1", labels: { tier: "main" } });
  await using a = await startTestAgent(ctx, canary);
  await using b = await startTestAgent(ctx, plain);
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
  await activateVersion(ctx.nats, signer, "us-east", v1, {
    content: '{"v":1}',
    candidate: {
      version: v2,
      rolloutId: "r1",
      selector: { percent: 0, agents: [], exclude: [], labels: { tier: "canary" } },
    },
  });
  await waitFor(
    "canary on v2",
    async () => (await Deno.readTextFile(fileOf(canary)).catch(() => "")) === '{"v":2}',
  );
  await waitFor(
    "main on v1",
    async () => (await Deno.readTextFile(fileOf(plain)).catch(() => "")) === '{"v":1}',
  );
  assert.equal(a.stats.applies + b.stats.applies, 2);
});

natsTest(
  "an agent offline while 50 versions are published applies only the active one, once",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls);
    {
      await using first = await startTestAgent(ctx, cfg);
      const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
      await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
      await waitFor("v1", () => first.stats.applies === 1);
    }
    for (let n = 2; n <= 51; n++) {
      const v = await storeVersion(ctx.nats, signer, "web", n, `{"v":${n}}`);
      await activateVersion(ctx.nats, signer, "us-east", v, { content: `{"v":${n}}` });
    }
    await using back = await startTestAgent(ctx, cfg);
    assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":51}');
    assert.equal(back.stats.applies, 1, "one apply, straight to the active version");
    assert.equal(
      back.stats.fetches + back.stats.regionCopyHits,
      1,
      "one fetch: the notices it missed are not replayed",
    );
    await back.reconcile();
    assert.equal(back.stats.applies, 1, "and only once");
    assert.equal((await waitForAcks(ctx.nats, 2)).at(-1)!.version, 51);
  },
);

natsTest(
  "a hand edit is restored within the watch interval, and the agent's own writes cause no reconcile",
  async (ctx) => {
    await using onV1 = await agentOnV1(ctx);
    const { cfg, agent } = onV1;
    const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
    const reconciles = agent.stats.reconciles;
    await activateVersion(ctx.nats, signer, "us-east", v2, { content: '{"v":2}' });
    await waitFor("v2", () => agent.stats.applies === 2);
    // Two looks at the file (every 1 s): what the agent wrote itself is not drift.
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(agent.stats.reconciles, reconciles, "writing v2 did not look like drift");
    const edited = performance.now();
    await Deno.writeTextFile(fileOf(cfg), '{"v":"hand edit"}');
    await waitFor(
      "restored without a reconcile call",
      async () => (await Deno.readTextFile(fileOf(cfg))) === '{"v":2}',
    );
    console.log(`  hand edit restored ${(performance.now() - edited).toFixed(0)} ms after it`);
    assert.equal(agent.stats.driftHealed, 1);
  },
);

natsTest(
  "on a host with two configs, a hand edit of one restores that file and leaves the other be",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls, { configs: { web: {}, db: {} } });
    await using agent = await startTestAgent(ctx, cfg);
    for (const [config, content] of [["web", '{"web":1}'], ["db", '{"db":1}']] as const) {
      const v = await storeVersion(ctx.nats, signer, config, 1, content);
      await activateVersion(ctx.nats, signer, "us-east", v, { content });
    }
    await waitFor("both applied", () => agent.stats.applies === 2);
    const webInode = Deno.statSync(fileOf(cfg, "web")).ino;
    await Deno.writeTextFile(fileOf(cfg, "db"), '{"db":"hand edit"}');
    await waitFor(
      "db restored",
      async () => (await Deno.readTextFile(fileOf(cfg, "db"))) === '{"db":1}',
    );
    assert.equal(agent.stats.driftHealed, 1);
    assert.equal(agent.stateOf("db").lastDriftHealed?.version, 1);
    assert.equal(agent.stateOf("web").lastDriftHealed, undefined);
    assert.equal(Deno.statSync(fileOf(cfg, "web")).ino, webInode, "web was not written again");
    assert.equal(await Deno.readTextFile(fileOf(cfg, "web")), '{"web":1}');
  },
);

natsTest(
  "a drift the agent cannot heal starts one reconcile per driftCheckSeconds, not one a look",
  async (ctx) => {
    const dir = await Deno.makeTempDir({ prefix: "atlas-agent-test-" });
    const marker = `${dir}/refuse`;
    try {
      // The heal writes the applied version again; this verify refuses it once `marker` exists.
      const cfg = await makeAgentConfig(ctx.urls, {
        configs: { web: { verify: ["/bin/sh", "-c", `test ! -e ${marker}`] } },
      });
      await using agent = await startTestAgent(ctx, cfg);
      const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
      await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
      await waitFor("v1 applied", () => agent.stats.applies === 1);
      await Deno.writeTextFile(marker, "");
      const reconciles = agent.stats.reconciles;
      await Deno.writeTextFile(fileOf(cfg), '{"v":"hand edit"}');
      await waitFor("the look's reconcile", () => agent.stats.reconciles === reconciles + 1);
      await waitFor("the heal refused", () => agent.stats.rejects === 1);
      // Three more looks at the same bytes on disk: none reads the pointer again.
      await new Promise((r) => setTimeout(r, 3_500));
      assert.equal(agent.stats.reconciles, reconciles + 1);
      assert.equal(await Deno.readTextFile(fileOf(cfg)), '{"v":"hand edit"}');
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

natsTest("an apply writes no record: the agent's signed ack says what it applied", async (ctx) => {
  await using on = await agentOnV1(ctx);
  const kv = await ctx.nats.kv(Buckets.agents);
  const key = agentKey("us-east", on.cfg.id);
  const before = await kv.get(key);
  assert.ok(before, "the record written at start");
  const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
  await activateVersion(ctx.nats, signer, "us-east", v2, { content: '{"v":2}' });
  await waitFor(
    "v2 acked",
    async () => (await acksOf(ctx.nats, "us-east", "web", on.cfg.id)).some((a) => a.version === 2),
  );
  // A record after a change would be sent 0.5–1.5 s later: wait past that window.
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal((await kv.get(key))?.revision, before.revision, "no record after the apply");
  assert.equal(on.agent.stateOf("web").applied?.version, 2);
});

natsTest(
  "a refusal after an apply writes the record: the newest ack alone would mislead",
  async (ctx) => {
    await using on = await agentOnV1(ctx);
    const kv = await ctx.nats.kv(Buckets.agents);
    const key = agentKey("us-east", on.cfg.id);
    const before = await kv.get(key);
    const stranger = new Signer(generateSigningKey());
    const evil = await storeVersion(ctx.nats, stranger, "web", 2, '{"v":"evil"}');
    await activateVersion(ctx.nats, signer, "us-east", evil, { content: '{"v":"evil"}' });
    await waitFor("rejected", () => on.agent.stats.rejects === 1);
    // The newest ack (rejected) says nothing of v1; the start record said nothing applied.
    await waitFor("the record states v1", async () => {
      const e = await kv.get(key);
      return e !== null && e.revision > before!.revision &&
        (e.json() as AgentRecord).configs.web?.applied?.version === 1;
    });
  },
);
