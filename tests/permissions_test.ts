/**
 * The permission matrix against a real nats-server with Atlas auth: for each role, what
 * it must do works and what it must not is refused by the server (core/permissions.ts).
 */
import assert from "node:assert/strict";
import {
  agentKey,
  blobMirrorStream,
  Buckets,
  generateSigningKey,
  pointerBucket,
  quarantineKey,
  Signer,
  Streams,
  Subjects,
} from "@atlas/core";
import {
  type AtlasNats,
  listKeys,
  readBlob,
  readKeySet,
  readMirroredBlob,
  readPointer,
  readPrimaryBlob,
  writePointer,
} from "@atlas/store";
import {
  activateVersion,
  assertRefused,
  natsTest,
  storeVersion,
  waitForBlobCopy,
} from "@atlas/testkit";

const CONFIG = "payments.limits";
const BLOBS = `OBJ_${Buckets.blobs}`;

/** Publishes an ack of `agent` for CONFIG as a JetStream publish. */
function ack(nats: AtlasNats, region: string, agent: string): Promise<unknown> {
  // The body does not matter here: the server decides on the subject alone.
  const record = { agent, region, config: CONFIG, version: 1, status: "applied" };
  return nats.publisher.publish(Subjects.ack(region, CONFIG, agent), JSON.stringify(record), {
    timeoutMs: 1_500,
  });
}

/** Receives one notice on `subject` or fails: a refused subscription closes with an error. */
async function notices(nats: AtlasNats, filter: string, publisher: AtlasNats, subject: string) {
  const sub = nats.nc.subscribe(filter, { max: 1 });
  await nats.nc.flush();
  publisher.nc.publish(subject, "hi");
  const got = await Promise.race([
    (async () => {
      for await (const m of sub) return m.string();
      throw new Error(`subscription to ${filter} closed`);
    })(),
    sub.closed.then((e) => {
      throw e ?? new Error(`subscription to ${filter} closed`);
    }),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no notice on ${filter}`)), 1_500)
    ),
  ]).finally(() => sub.unsubscribe());
  return got;
}

natsTest("each role may do what it must and the server refuses the rest", async (ctx) => {
  const signer = new Signer(generateSigningKey());
  const { nats: control } = ctx;
  // The control plane: versions, blobs, pointers, notices, audit.
  const version = await storeVersion(control, signer, CONFIG, 1, '{"limit":1}');
  await activateVersion(control, signer, "us-east", version, { content: '{"limit":1}' });
  await activateVersion(control, signer, "eu-west", version, { content: '{"limit":1}' });
  await waitForBlobCopy(control, "us-east", version.digest);
  await control.publisher.publish(Subjects.audit(CONFIG), "{}", { timeoutMs: 1_500 });
  await assertRefused(
    control,
    "control deletes the audit stream",
    () => control.jsm.streams.delete(Streams.audit),
  );
  await assertRefused(
    control,
    "control purges the audit stream",
    () => control.jsm.streams.purge(Streams.audit),
  );

  const opts = { timeoutMs: 1_500 };
  await using agent = await ctx.connect({ kind: "agent", region: "us-east", agent: "a1" }, opts);
  // Allowed: notices, pointers, blobs (copy and primary), keys, its acks and heartbeat.
  assert.equal(
    await notices(agent, Subjects.notifyRegion("us-east"), control, "atlas.notify.us-east.x"),
    "hi",
  );
  assert.equal((await readPointer(agent, "us-east", CONFIG))?.pointer.active.version, 1);
  assert.equal((await readBlob(agent, "us-east", version.digest))?.from, "region copy");
  assert.ok(await readMirroredBlob(agent, "us-east", version.digest));
  assert.ok(await readPrimaryBlob(agent, version.digest));
  await readKeySet(agent);
  await ack(agent, "us-east", "a1");
  assert.ok(
    await agent.jsm.direct.getMessage(Streams.acks, {
      last_by_subj: Subjects.ack("us-east", CONFIG, "a1"),
    }),
  );
  await agent.kvWrite(Buckets.agents, agentKey("us-east", "a1"), "{}");
  // Refused.
  await assertRefused(
    agent,
    "agent writes a pointer",
    () =>
      writePointer(agent, signer, "us-east", CONFIG, () => ({
        active: version,
        history: [],
        reason: "forged",
      }), { issuedBy: "attacker" }),
  );
  await assertRefused(
    agent,
    "agent writes a pointer key",
    () => agent.kvWrite(pointerBucket("us-east"), CONFIG, "{}"),
  );
  await assertRefused(
    agent,
    "agent deletes the acks stream",
    () => agent.jsm.streams.delete(Streams.acks),
  );
  await assertRefused(
    agent,
    "agent purges the acks stream",
    () => agent.jsm.streams.purge(Streams.acks),
  );
  await assertRefused(agent, "agent acks as another agent", () => ack(agent, "us-east", "a2"));
  await assertRefused(agent, "agent acks in another region", () => ack(agent, "eu-west", "a1"));
  await assertRefused(
    agent,
    "agent reads another agent's last ack",
    () =>
      agent.jsm.direct.getMessage(Streams.acks, {
        last_by_subj: Subjects.ack("us-east", CONFIG, "a2"),
      }),
  );
  await assertRefused(
    agent,
    "agent writes another agent's heartbeat",
    () => agent.kvWrite(Buckets.agents, agentKey("us-east", "a2"), "{}"),
  );
  await assertRefused(
    agent,
    "agent hears another region's notices",
    () => notices(agent, Subjects.notifyRegion("eu-west"), control, "atlas.notify.eu-west.x"),
  );
  await assertRefused(
    agent,
    "agent writes a lease",
    () => agent.kvWrite(Buckets.leases, "us-east", "{}"),
  );
  await assertRefused(
    agent,
    "agent edits the quarantine",
    () => agent.kvWrite(Buckets.quarantine, quarantineKey("us-east", "a1", CONFIG), "{}"),
  );
  await assertRefused(
    agent,
    "agent appends to the audit",
    () => agent.publisher.publish(Subjects.audit(CONFIG), "{}", opts),
  );
  await assertRefused(
    agent,
    "agent reads another region's pointers",
    () => readPointer(agent, "eu-west", CONFIG),
  );
  await assertRefused(
    agent,
    "agent reads the versions bucket",
    () => agent.jsm.streams.info(`KV_${Buckets.versions}`),
  );
  await assertRefused(
    agent,
    "agent deletes its region's blob copy",
    () => agent.jsm.streams.delete(blobMirrorStream("us-east")),
  );
  // Reads narrowed to message gets: no consumer, no stream info, no other region's copy.
  await assertRefused(
    agent,
    "agent opens a consumer on the primary blobs",
    () => agent.blobs().then((b) => b.getBlob(`sha256-${version.digest}`)),
  );
  await assertRefused(
    agent,
    "agent reads the primary blobs through a replica",
    () => agent.jsm.direct.getMessage(BLOBS, { seq: 1 }),
  );
  await assertRefused(
    agent,
    "agent reads another region's blob copy",
    () => readMirroredBlob(agent, "eu-west", version.digest),
  );
  await assertRefused(
    agent,
    "agent gets from another region's blob copy",
    () => agent.jsm.direct.getMessage(blobMirrorStream("eu-west"), { seq: 1 }),
  );
  await assertRefused(
    agent,
    "agent reads another region's pointers by sequence",
    () => agent.jsm.direct.getMessage(`KV_${pointerBucket("eu-west")}`, { seq: 1 }),
  );
  await assertRefused(
    agent,
    "agent reads the acks stream by sequence",
    () => agent.jsm.direct.getMessage(Streams.acks, { seq: 1 }),
  );
  await assertRefused(
    agent,
    "agent reads another agent's heartbeat",
    () => agent.jsm.direct.getMessage(`KV_${Buckets.agents}`, { seq: 1 }),
  );
  await assertRefused(
    agent,
    "agent reads the versions bucket by subject",
    () =>
      agent.jsm.direct.getMessage(`KV_${Buckets.versions}`, {
        last_by_subj: `$KV.${Buckets.versions}.${CONFIG}`,
      }),
  );
  await assertRefused(
    agent,
    "agent gets a message of the acks stream from its leader",
    () => agent.jsm.streams.getMessage(Streams.acks, { seq: 1 }),
  );
  await assertRefused(
    agent,
    "agent changes the primary blobs",
    () => agent.jsm.streams.purge(BLOBS),
  );

  await using coord = await ctx.connect({ kind: "coordinator", region: "us-east" }, opts);
  // Allowed: its pointers and notices, lease, quarantine, alerts, audit, reading acks/agents.
  await writePointer(coord, signer, "us-east", CONFIG, (cur) => ({
    active: version,
    history: cur ? [cur.active.version] : [],
    reason: "coordinator",
  }), { issuedBy: "coordinator" });
  await coord.kvWrite(Buckets.leases, "us-east", "{}");
  await coord.kvWrite(Buckets.quarantine, quarantineKey("us-east", "a1", CONFIG), "{}");
  await coord.kvWrite(Buckets.alerts, "alert-1", "{}");
  await coord.publisher.publish(Subjects.audit(CONFIG), "{}", opts);
  assert.deepEqual(await listKeys(coord, Buckets.agents, "us-east.*"), ["us-east.a1"]);
  assert.ok(
    await coord.jsm.direct.getMessage(Streams.acks, {
      last_by_subj: Subjects.ack("us-east", CONFIG, "a1"),
    }),
  );
  // Its region's key-set notices reach it (the signer follows the active key); another
  // region's do not.
  assert.equal(
    await notices(coord, Subjects.keysNotice("us-east"), control, Subjects.keysNotice("us-east")),
    "hi",
  );
  await assert.rejects(
    () => notices(coord, Subjects.keysNotice("eu-west"), control, Subjects.keysNotice("eu-west")),
    /permission|closed|no notice/i,
  );
  // Refused: another region, agents' records and acks, stream removal.
  await assertRefused(
    coord,
    "coordinator writes another region's pointer",
    () => coord.kvWrite(pointerBucket("eu-west"), CONFIG, "{}"),
  );
  await assertRefused(
    coord,
    "coordinator writes another region's lease",
    () => coord.kvWrite(Buckets.leases, "eu-west", "{}"),
  );
  await assertRefused(
    coord,
    "coordinator quarantines in another region",
    () => coord.kvWrite(Buckets.quarantine, quarantineKey("eu-west", "a1", CONFIG), "{}"),
  );
  await assertRefused(
    coord,
    "coordinator forges an agent's heartbeat",
    () => coord.kvWrite(Buckets.agents, agentKey("us-east", "a1"), "{}"),
  );
  await assertRefused(coord, "coordinator forges an ack", () => ack(coord, "us-east", "a1"));
  await assertRefused(
    coord,
    "coordinator purges the audit stream",
    () => coord.jsm.streams.purge(Streams.audit),
  );
  await assertRefused(
    coord,
    "coordinator deletes the acks stream",
    () => coord.jsm.streams.delete(Streams.acks),
  );

  await using reader = await ctx.connect("reader", opts);
  assert.equal((await readPointer(reader, "eu-west", CONFIG))?.pointer.active.version, 1);
  assert.ok(await readBlob(reader, "eu-west", version.digest));
  assert.equal(
    await notices(reader, "atlas.notify.>", control, "atlas.notify.eu-west.y"),
    "hi",
  );
  await assertRefused(
    reader,
    "reader writes a pointer",
    () => reader.kvWrite(pointerBucket("us-east"), CONFIG, "{}"),
  );
  await assertRefused(reader, "reader acks", () => ack(reader, "us-east", "a1"));
  await assertRefused(
    reader,
    "reader writes a heartbeat",
    () => reader.kvWrite(Buckets.agents, agentKey("us-east", "a1"), "{}"),
  );
  await assertRefused(
    reader,
    "reader deletes a stream",
    () => reader.jsm.streams.delete(Streams.acks),
  );
});
