/**
 * Signing-key rotation on a real nats-server with a real control plane and agent: during
 * the overlap both keys' versions apply; a retired key's versions were re-signed and still
 * roll back; a revoked key's version is refused once the revocation reached the agent;
 * nothing is applied twice; forged key sets change nothing.
 */
import assert from "node:assert/strict";
import {
  AckRecord,
  firstKeySet,
  generateSigningKey,
  generateTokenSecret,
  KeySetRecord,
  rotatedKeySet,
  Signer,
  Subjects,
  tokenFileEntry,
  VersionRecord,
} from "@atlas/core";
import {
  KeyRing,
  KeyRingSigner,
  readKeySet,
  storeKeySet,
  UnusableSigningKeyError,
  writePointer,
} from "@atlas/store";
import { type HasLog, natsTest, waitFor } from "@atlas/testkit";
import { startControl } from "@atlas/control";
import { startTestAgents, startTestControl, type TestAgent, type TestControl } from "./harness.ts";

type KeySetReply = { keySet: KeySetRecord };

/** Every ack the agents of us-east send for `web`, as they arrive. */
function collectAcks(nats: { nc: import("@nats-io/transport-node").NatsConnection }) {
  const acks: AckRecord[] = [];
  const sub = nats.nc.subscribe(Subjects.acksOf("us-east", "web"), {
    callback: (_e, m) => void acks.push(AckRecord.parse(m.json())),
  });
  return { acks, [Symbol.dispose]: () => sub.unsubscribe() };
}

async function publish(t: TestControl, content: string): Promise<VersionRecord> {
  return VersionRecord.parse(
    await t.expect("POST", "/v1/configs/web/versions", { content }, 201),
  );
}

async function applied(a: TestAgent, text: string): Promise<void> {
  await waitFor(`agent has ${text}`, async () => (await Deno.readTextFile(a.file)) === text);
}

natsTest(
  "both keys' versions apply during a rotation; a revoked key's version is refused",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
    ctx.addLog(t);
    const [a] = await startTestAgents(
      t,
      [{ id: "a1", region: "us-east", nats: ctx.urls }],
      ctx.addLog,
    );
    using collected = collectAcks(ctx.nats);
    try {
      await t.expect("PUT", "/v1/configs/web", {}, 201);
      const v1 = await publish(t, '{"v":1}');
      await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
      await applied(a!, '{"v":1}');
      const oldKey = v1.keyId;
      await waitFor("the agent took key set 1", () => a!.agent.keySet?.seq === 1);

      // A coordinator following the key set, with the control plane's key directory.
      await using coordinator = await KeyRingSigner.start(
        ctx.nats,
        await KeyRing.load({ files: [t.signingKeyFile], dir: `${t.dir}/keys` }),
        { region: "us-east", refreshMs: 60_000 },
      );
      assert.equal(coordinator.keyId, oldKey);

      // Rotate: the agent takes set 2 (signed by the old key) from the notice.
      const rotated = await t.expect<{ keyId: string; keySet: KeySetRecord }>(
        "POST",
        "/v1/keys/rotate",
        undefined,
        201,
      );
      assert.notEqual(rotated.keyId, oldKey);
      assert.equal(rotated.keySet.keyId, oldKey, "the new set is signed by the key in force");
      await waitFor("the agent took key set 2", () => a!.agent.keySet?.seq === 2);
      // The coordinator picks the new key up from the notice and the directory.
      await waitFor(
        "the coordinator signs with the new key",
        () => coordinator.keyId === rotated.keyId,
      );

      // Overlap: a version and pointer of the new key, then the old key's v1 again.
      const v2 = await publish(t, '{"v":2}');
      assert.equal(v2.keyId, rotated.keyId);
      await t.expect("POST", "/v1/configs/web/activate", { version: 2 });
      await applied(a!, '{"v":2}');
      await t.expect("POST", "/v1/configs/web/rollback", {});
      await applied(a!, '{"v":1}');
      assert.equal(a!.agent.stateOf("web").applied?.version, 1);

      // Revoke the old key (no re-signing): v1 is signed only by it.
      const revoked = await t.expect<KeySetReply & { resigned: { versions: number } }>(
        "POST",
        `/v1/keys/${oldKey}/revoke`,
      );
      assert.equal(revoked.resigned.versions, 0);
      await waitFor("the agent took key set 3", () => a!.agent.keySet?.seq === 3);
      await t.expect("POST", "/v1/configs/web/activate", { version: 2 });
      await applied(a!, '{"v":2}');
      const before = a!.agent.stats.applies;
      await t.expect("POST", "/v1/configs/web/rollback", {});
      const refused = await waitFor("v1 refused", () => {
        const last = a!.agent.stateOf("web").lastAck;
        return last?.version === 1 && last.status === "rejected" && last;
      });
      assert.match(refused.reason ?? "", new RegExp(`${oldKey}.*revoked in key set 3`));
      assert.equal(await Deno.readTextFile(a!.file), '{"v":2}', "it keeps what it applied");
      assert.equal(a!.agent.stats.applies, before);

      // A pointer signed by the revoked key itself (someone who stole it) is refused too.
      const stolen = new Signer(
        JSON.parse(await Deno.readTextFile(t.signingKeyFile)),
      );
      await writePointer(ctx.nats, stolen, "us-east", "web", (cur) => ({
        active: v1,
        history: cur?.history ?? [],
        reason: "forged",
      }), { issuedBy: "mallory" });
      await waitFor("forged pointer refused", () => {
        const last = a!.agent.stateOf("web").lastAck;
        return last?.refusal === "untrusted" && last.reason?.includes("revoked");
      });
      assert.equal(await Deno.readTextFile(a!.file), '{"v":2}');

      // One application per pointer: applied acks are v1, v2, v1, v2, each seq once.
      await waitFor("acks arrived", () => collected.acks.some((k) => k.status === "rejected"));
      const appliedAcks = collected.acks.filter((k) => k.status === "applied");
      assert.deepEqual(appliedAcks.map((k) => k.version), [1, 2, 1, 2]);
      assert.equal(new Set(appliedAcks.map((k) => k.seq)).size, appliedAcks.length);
    } finally {
      await a!.agent.close();
    }
  },
);

natsTest("after a retirement old versions were re-signed and a rollback applies", async (ctx) => {
  await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
  ctx.addLog(t);
  const [a] = await startTestAgents(
    t,
    [{ id: "a1", region: "us-east", nats: ctx.urls }],
    ctx.addLog,
  );
  try {
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    const v1 = await publish(t, '{"v":1}');
    await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
    await applied(a!, '{"v":1}');
    const oldKey = v1.keyId;
    const { keyId: newKey } = await t.expect<{ keyId: string }>(
      "POST",
      "/v1/keys/rotate",
      undefined,
      201,
    );
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
    await t.expect("POST", "/v1/configs/web/activate", { version: 2 });
    await applied(a!, '{"v":2}');
    // The signing key cannot be retired: rotate first.
    const refused = await t.call("POST", `/v1/keys/${newKey}/retire`);
    assert.equal(refused.status, 409);
    assert.match(JSON.stringify(refused.json), /rotate first/);

    const applies = a!.agent.stats.applies;
    const retired = await t.expect<
      KeySetReply & { resigned: { versions: number; pointers: number } }
    >(
      "POST",
      `/v1/keys/${oldKey}/retire`,
    );
    assert.deepEqual(retired.resigned, { versions: 1, pointers: 0 });
    await waitFor("the agent took key set 3", () => a!.agent.keySet?.seq === 3);
    const stored = VersionRecord.parse(await t.expect("GET", "/v1/configs/web/versions/1"));
    assert.equal(stored.keyId, newKey);
    assert.equal(stored.digest, v1.digest);

    await t.expect("POST", "/v1/configs/web/rollback", {});
    await applied(a!, '{"v":1}');
    assert.equal(a!.agent.stats.applies, applies + 1, "v1 applied once, nothing else");

    // A coordinator holding only the retired key refuses to sign, saying what to do.
    const ring = await KeyRing.load({ files: [t.signingKeyFile] });
    await using coordinator = await KeyRingSigner.start(ctx.nats, ring, {
      who: "coordinator us-east",
    });
    assert.throws(() => coordinator.sign({ n: 1 }), (e: Error) => {
      assert.ok(e instanceof UnusableSigningKeyError);
      assert.match(e.message, new RegExp(`${oldKey} \\(retired\\).*${newKey}\\.key`));
      return true;
    });
    // Given the new key's file, it signs with it.
    const withNew = await KeyRing.load({ files: [t.signingKeyFile], dir: `${t.dir}/keys` });
    await using picked = await KeyRingSigner.start(ctx.nats, withNew);
    assert.equal(picked.keyId, newKey);

    // A control plane restarted with the old key file signs with the key set's key.
    const secret = generateTokenSecret();
    await using restarted = await startControl({
      nats: ctx.urls,
      port: 0,
      signingKey: t.signingKeyFile,
      credentials: await ctx.auth.creds("control"),
      tokens: [tokenFileEntry("ops", "admin", secret)],
      log: () => {},
    });
    const res = await fetch(`${restarted.url}/v1/configs/web/versions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ content: '{"v":3}' }),
    });
    assert.equal(res.status, 201);
    assert.equal(VersionRecord.parse(await res.json()).keyId, newKey);

    const audit = await t.expect<{ events: { action: string }[] }>("GET", "/v1/audit");
    const actions = audit.events.map((e) => e.action);
    assert.ok(actions.includes("key.rotate") && actions.includes("key.retire"), String(actions));
  } finally {
    await a!.agent.close();
  }
});

natsTest("an agent refuses forged key sets and fetches a set it missed", async (ctx) => {
  await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
  ctx.addLog(t);
  let agentLog: HasLog | undefined;
  const [a] = await startTestAgents(t, [{ id: "a1", region: "us-east", nats: ctx.urls }], (l) => {
    ctx.addLog(l);
    agentLog = l;
  });
  const refusals = async (what: string) =>
    (await agentLog!.logTail(500)).split("\n").filter((l) => l.includes(what)).length;
  try {
    await waitFor("the agent took key set 1", () => a!.agent.keySet?.seq === 1);
    const set1 = (await readKeySet(ctx.nats))!;
    const control = new Signer(JSON.parse(await Deno.readTextFile(t.signingKeyFile)));
    const stranger = new Signer(generateSigningKey());
    const meta = { at: new Date().toISOString(), by: "mallory" };
    const byStranger = KeySetRecord.parse(
      stranger.sign(rotatedKeySet(set1, stranger.trustedKey, meta)),
    );
    const genuine2 = KeySetRecord.parse(
      control.sign(rotatedKeySet(set1, new Signer(generateSigningKey()).trustedKey, meta)),
    );
    const tampered = { ...genuine2, issuedBy: "eve" }; // signed as "mallory"
    const older = KeySetRecord.parse(
      control.sign({ ...firstKeySet(stranger.trustedKey, [], meta), seq: 1 }),
    );
    for (const forged of [byStranger, tampered, older]) {
      ctx.nats.nc.publish(Subjects.keysNotice("us-east"), JSON.stringify({ keySet: forged }));
    }
    await waitFor("three notices refused", async () => (await refusals("refused a key set")) === 3);
    // Also stored as the newest set, where a reconcile reads it.
    await ctx.nats.kvWrite("atlas_keys", "set", JSON.stringify(byStranger));
    await a!.agent.reconcile();
    await waitFor(
      "the stored forgery refused",
      async () => (await refusals("refused the stored key set")) === 1,
    );
    assert.equal(a!.agent.keySet?.seq, 1);
    assert.equal(a!.agent.keySet?.signature, set1.signature);

    // A genuine set stored without a notice: the agent fetches it on the unknown key id.
    const next = new Signer(generateSigningKey());
    const set2 = KeySetRecord.parse(control.sign(rotatedKeySet(set1, next.trustedKey, meta)));
    await storeKeySet(ctx.nats, set2, []);
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    const v1 = await publish(t, '{"v":1}');
    const byNext = VersionRecord.parse(
      next.sign({ ...v1, keyId: undefined, signature: undefined }),
    );
    await writePointer(ctx.nats, next, "us-east", "web", () => ({
      active: byNext,
      history: [],
      reason: "signed by the new key",
    }), { issuedBy: "test", inline: { [v1.digest]: new TextEncoder().encode('{"v":1}') } });
    await applied(a!, '{"v":1}');
    assert.equal(a!.agent.keySet?.seq, 2);
    // The set it took is persisted: a restarted agent starts from it.
    const persisted = KeySetRecord.parse(
      JSON.parse(await Deno.readTextFile(`${t.dir}/a1/state/keyset.json`)),
    );
    assert.equal(persisted.seq, 2);
  } finally {
    await a!.agent.close();
  }
});
