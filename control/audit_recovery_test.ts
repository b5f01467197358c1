import assert from "node:assert/strict";
import {
  activeRolloutKey,
  AuditEvent,
  AuditIntent,
  Buckets,
  ConfigRecord,
  quarantineKey,
  QuarantineRecord,
  type RolloutRecord,
  Streams,
  Subjects,
} from "@atlas/core";
import { type AtlasNats, readKv, updateRollout, writePointer } from "@atlas/store";
import { storeVersion } from "@atlas/testkit";
import { createContext } from "./context.ts";
import { ensureKeySet } from "./keys.ts";
import { recoverAudit } from "./server.ts";
import { controlTest, createConfig, publish } from "./testing.ts";

async function events(nats: AtlasNats): Promise<AuditEvent[]> {
  const { state } = await nats.jsm.streams.info(Streams.audit);
  const out: AuditEvent[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await nats.jsm.direct.getMessage(Streams.audit, { seq });
    if (m) out.push(AuditEvent.parse(m.json()));
  }
  return out;
}

/** Leaves an intent as a writer that died right after writing it would. */
async function leaveIntent(nats: AtlasNats, id: string, event: AuditIntent["event"]) {
  const intent = AuditIntent.parse({ id, at: new Date(Date.now() - 1_000).toISOString(), event });
  await nats.js.publish(Subjects.intent(id), JSON.stringify(intent));
}

async function latestVersion(nats: AtlasNats, name: string): Promise<number> {
  return (await readKv(await nats.kv(Buckets.configs), name, ConfigRecord))!.value.latestVersion;
}

controlTest(
  "recovery records a publish that died before its event and raises latestVersion",
  async ({
    api,
    nats,
    signer,
  }) => {
    await createConfig(api, "web");
    await publish(api, "web", { n: 1 });
    // Died after creating v2 (nothing else), and another publish died before creating any.
    const v2 = await storeVersion(nats, signer, "web", 2, '{"n":2}');
    await leaveIntent(nats, "pub-made", {
      actor: "fixture",
      action: "version.publish",
      config: "web",
      details: { digest: v2.digest, size: v2.size, createdAt: v2.createdAt, after: 1 },
    });
    await leaveIntent(nats, "pub-lost", {
      actor: "fixture",
      action: "version.publish",
      config: "web",
      details: {
        digest: v2.digest,
        size: v2.size,
        createdAt: "2020-01-01T00:00:00.000Z",
        after: 1,
      },
    });
    // And v3 was written with no intent at all (before this mechanism): only the number lags.
    await storeVersion(nats, signer, "web", 3, '{"n":3}');
    assert.equal(await latestVersion(nats, "web"), 1);

    const report = await recoverAudit(createContext({ nats, signer }));
    assert.deepEqual(report.recovered.map((e) => [e.id, e.action, e.version, e.recovered]), [
      ["pub-made", "version.publish", 2, true],
    ]);
    assert.deepEqual(report.abandoned.map((e) => [e.details["intentId"], e.details["action"]]), [
      ["pub-lost", "version.publish"],
    ]);
    assert.deepEqual(report.repaired, ["web"]);
    assert.equal(await latestVersion(nats, "web"), 3);
    const publishes = (await events(nats)).filter((e) => e.action === "version.publish");
    assert.deepEqual(publishes.map((e) => e.version), [1, 2]);
    assert.deepEqual(publishes[1]?.details, { digest: v2.digest, size: v2.size });
    // The next publish takes the next number.
    assert.equal(await publish(api, "web", { n: 4 }), 4);
  },
);

controlTest(
  "recovery records a pointer move and a rollout action that died before their events",
  async ({
    api,
    nats,
    signer,
  }) => {
    await createConfig(api, "web");
    await publish(api, "web", { n: 1 });
    const v2 = await publish(api, "web", { n: 2 });
    await api.ok(200, "POST", "/v1/configs/web/activate", { body: { version: 1 } });
    // An activation of v2 in us-east that stored its pointer, then died.
    const record = await api.ok<Record<string, unknown>>(
      200,
      "GET",
      `/v1/configs/web/versions/${v2}`,
    );
    await leaveIntent(nats, "move", {
      actor: "alice",
      action: "pointer.activate",
      config: "web",
      region: "us-east",
      details: {},
    });
    await writePointer(nats, signer, "us-east", "web", (cur) => ({
      active: record as never,
      history: cur ? [cur.active.version] : [],
      reason: "activate v2 (audit move)",
    }), { issuedBy: "alice" });
    // An activation in eu-west that died before it moved anything.
    await leaveIntent(nats, "no-move", {
      actor: "alice",
      action: "pointer.activate",
      config: "web",
      region: "eu-west",
      details: {},
    });
    // A pause that was written, then died.
    const rollout = await api.ok<RolloutRecord>(201, "POST", "/v1/configs/web/rollouts", {
      body: { version: 2, strategy: "immediate", allowNoCoordinator: true },
    });
    await leaveIntent(nats, "pause", {
      actor: "alice",
      action: "rollout.pause",
      config: "web",
      version: 2,
      details: { rolloutId: rollout.id, after: rollout.transitions.length, reason: "lunch" },
    });
    await updateRollout(nats, rollout.id, () => ({ type: "pause", reason: "lunch" }), {
      by: "alice",
    });

    const report = await recoverAudit(createContext({ nats, signer }));
    const recovered = new Map(report.recovered.map((e) => [e.id, e]));
    assert.deepEqual([...recovered.keys()].sort(), ["move", "pause"]);
    assert.deepEqual(recovered.get("move")?.details, {
      previousVersion: 1,
      seq: 2,
      changed: true,
    });
    assert.equal(recovered.get("move")?.version, 2);
    assert.deepEqual(recovered.get("pause")?.details, {
      rolloutId: rollout.id,
      from: "running",
      to: "paused",
      stage: 0,
      reason: "lunch",
      transition: 1,
    });
    assert.deepEqual(report.abandoned.map((e) => e.details["intentId"]), ["no-move"]);
    // Recovery is idempotent: a second start-up finds nothing to do.
    const again = await recoverAudit(createContext({ nats, signer }));
    assert.deepEqual([again.recovered, again.abandoned, again.repaired], [[], [], []]);
    const all = await events(nats);
    assert.equal(all.filter((e) => e.id === "move" || e.id === "pause").length, 2);
  },
);

controlTest("recovery records quarantine changes that died before their events", async ({
  nats,
  signer,
}) => {
  const kv = await nats.kv(Buckets.quarantine);
  const record = (agent: string) =>
    JSON.stringify(QuarantineRecord.parse({
      region: "us-east",
      agent,
      config: "web",
      reason: "failed web 3 times",
      rolloutId: "r-20260102030405-aaaaaa",
      at: new Date().toISOString(),
    }));
  const quarantine = (agent: string) => ({
    actor: "coordinator/us-east",
    action: "agent.quarantine",
    config: "web",
    region: "us-east",
    details: { agent, reason: "failed web 3 times", rolloutId: "r-20260102030405-aaaaaa" },
  });
  // A coordinator quarantined a1 and died; another died before quarantining a2.
  await leaveIntent(nats, "q-made", quarantine("a1"));
  await kv.put(quarantineKey("us-east", "a1", "web"), record("a1"));
  await leaveIntent(nats, "q-lost", quarantine("a2"));
  // An operator's release of a3 deleted its record and died; one of a4 deleted nothing.
  await kv.put(quarantineKey("us-east", "a4", "web"), record("a4"));
  const release = (agent: string) => ({
    actor: "alice",
    action: "agent.release",
    region: "us-east",
    details: { agent, keys: [quarantineKey("us-east", agent, "web")] },
  });
  await leaveIntent(nats, "r-made", release("a3"));
  await leaveIntent(nats, "r-lost", release("a4"));

  const report = await recoverAudit(createContext({ nats, signer }));
  assert.deepEqual(report.recovered.map((e) => e.id).sort(), ["q-made", "r-made"]);
  assert.deepEqual(report.abandoned.map((e) => e.details["intentId"]).sort(), ["q-lost", "r-lost"]);
  assert.equal((await events(nats)).length, 4);
});

controlTest("a dead action is not credited with a transition another action recorded", async ({
  api,
  nats,
  signer,
}) => {
  await createConfig(api, "web");
  await publish(api, "web", { n: 1 });
  const rollout = await api.ok<RolloutRecord>(201, "POST", "/v1/configs/web/rollouts", {
    body: { version: 1, strategy: "immediate", allowNoCoordinator: true },
  });
  // alice's abort died before changing anything, while her second abort (an activate's
  // supersede, say) made the transition and recorded it.
  await leaveIntent(nats, "dead-abort", {
    actor: "alice",
    action: "rollout.abort",
    config: "web",
    version: 1,
    details: { rolloutId: rollout.id, after: rollout.transitions.length, reason: "x" },
  });
  await api.ok(200, "POST", `/v1/rollouts/${rollout.id}/abort`, { body: {} });
  const report = await recoverAudit(createContext({ nats, signer }));
  assert.deepEqual(report.recovered, []);
  assert.deepEqual(report.abandoned.map((e) => e.details["intentId"]), ["dead-abort"]);
  const aborts = (await events(nats)).filter((e) => e.action === "rollout.abort");
  assert.deepEqual(aborts.map((e) => e.details["transition"]), [1]);
});

controlTest("recovery finds a promote by the stage it marked", async ({ api, nats, signer }) => {
  await createConfig(api, "web");
  await publish(api, "web", { n: 1 });
  const rollout = await api.ok<RolloutRecord>(201, "POST", "/v1/configs/web/rollouts", {
    body: { version: 1, strategy: "immediate", allowNoCoordinator: true },
  });
  const promote = (atStage: number) => ({
    actor: "alice",
    action: "rollout.promote",
    config: "web",
    version: 1,
    details: { rolloutId: rollout.id, after: 1, atStage, reason: "promoted by alice" },
  });
  await leaveIntent(nats, "promoted", promote(0));
  await updateRollout(nats, rollout.id, () => ({ type: "promote" }), { by: "alice" });
  await leaveIntent(nats, "not-promoted", promote(1));
  const report = await recoverAudit(createContext({ nats, signer }));
  assert.deepEqual(report.recovered.map((e) => [e.id, e.details["from"], e.details["to"]]), [
    ["promoted", "running", "running"],
  ]);
  assert.deepEqual(report.abandoned.map((e) => e.details["intentId"]), ["not-promoted"]);
});

controlTest("a rollout start that died after taking the active key frees it at recovery", async ({
  api,
  nats,
  signer,
}) => {
  await createConfig(api, "web");
  await publish(api, "web", { n: 1 });
  // Died between taking the config's active key and writing the rollout record.
  const dead = "r-20260102030405-deadaa";
  await leaveIntent(nats, "start", {
    actor: "alice",
    action: "rollout.start",
    config: "web",
    version: 1,
    details: { rolloutId: dead, stages: 1, regions: ["us-east"], preflight: false },
  });
  const rollouts = await nats.kv(Buckets.rollouts);
  await rollouts.put(activeRolloutKey("web"), JSON.stringify({ rolloutId: dead }));
  const body = { version: 1, strategy: "immediate", allowNoCoordinator: true };
  const blocked = await api.call("POST", "/v1/configs/web/rollouts", { body });
  assert.equal(blocked.status, 409, "the stale key blocks a new rollout before recovery");

  const report = await recoverAudit(createContext({ nats, signer }));
  assert.deepEqual(report.abandoned.map((e) => e.details["intentId"]), ["start"]);
  await api.ok(201, "POST", "/v1/configs/web/rollouts", { body });
});

controlTest("recovery records a config write that died before its event", async ({
  nats,
  signer,
}) => {
  await leaveIntent(nats, "put", {
    actor: "alice",
    action: "config.put",
    config: "web",
    details: {},
  });
  const now = new Date().toISOString();
  await (await nats.kv(Buckets.configs)).put(
    "web",
    JSON.stringify(ConfigRecord.parse({
      name: "web",
      description: "",
      contentType: "application/json",
      latestVersion: 0,
      createdAt: now,
      updatedAt: now,
    })),
  );
  await leaveIntent(nats, "put-lost", {
    actor: "alice",
    action: "config.put",
    config: "api",
    details: {},
  });
  const report = await recoverAudit(createContext({ nats, signer }));
  assert.deepEqual(report.recovered.map((e) => [e.id, e.details]), [
    ["put", { created: true, contentType: "application/json", schema: false }],
  ]);
  assert.deepEqual(report.abandoned.map((e) => e.details["intentId"]), ["put-lost"]);
});

controlTest(
  "recovery records a key change whose key set is stored, abandons one that is not",
  async ({
    nats,
    signer,
  }) => {
    const ctx = createContext({ nats, signer });
    const set = await ensureKeySet(ctx);
    await leaveIntent(nats, "key-made", {
      actor: "fixture",
      action: "key.rotate",
      details: { keyId: signer.keyId, keySet: set.seq },
    });
    await leaveIntent(nats, "key-lost", {
      actor: "fixture",
      action: "key.revoke",
      details: { keyId: "ed25519-0000", keySet: set.seq + 1 },
    });
    const report = await recoverAudit(ctx);
    assert.deepEqual(report.recovered.map((e) => [e.id, e.action, e.recovered]), [
      ["key-made", "key.rotate", true],
    ]);
    assert.deepEqual(report.abandoned.map((e) => [e.details["intentId"], e.details["reason"]]), [
      ["key-lost", `key set ${set.seq + 1} was not stored`],
    ]);
  },
);
