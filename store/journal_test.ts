import assert from "node:assert/strict";
import { AuditEvent, Buckets, Streams, Subjects } from "@atlas/core";
import { natsTest, withMember } from "@atlas/testkit";
import { appendAudit, appendAuditOnce } from "./audit.ts";
import type { AtlasNats } from "./connect.ts";
import { audited, eventsAppended, type IntentResolver, recoverIntents } from "./journal.ts";
import { UnavailableError } from "./retry.ts";

async function events(nats: AtlasNats): Promise<AuditEvent[]> {
  const { state } = await nats.jsm.streams.info(Streams.audit);
  const out: AuditEvent[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await nats.jsm.direct.getMessage(Streams.audit, { seq });
    if (m) out.push(AuditEvent.parse(m.json()));
  }
  return out;
}

async function openIntents(nats: AtlasNats): Promise<number> {
  await nats.settled(); // a resolved intent is deleted in the background
  return (await nats.jsm.streams.info(Streams.intents)).state.messages;
}

/** A change that happens and then "crashes" its writer: the intent stays, no event. */
async function crashAfter(nats: AtlasNats, id: string, change: () => Promise<void>) {
  await assert.rejects(
    () =>
      audited(nats, { actor: "alice", action: "thing.make", config: "web" }, async () => {
        await change();
        throw new UnavailableError("the writer died here");
      }, { id }),
    UnavailableError,
  );
}

const things = (nats: AtlasNats) => nats.kv(Buckets.configs);
/** The resolver of `thing.make`: it happened when key `thing-<id>` exists. */
const thingResolver = (nats: AtlasNats): IntentResolver => async (intent) => {
  const found = await (await things(nats)).get(`thing-${intent.id}`);
  return found?.operation === "PUT"
    ? { happened: true, event: { ...intent.event, details: { found: true } } }
    : { happened: false, reason: "no thing" };
};

natsTest("a change records exactly one event, under its intent's id", async ({ nats }) => {
  const result = await audited(
    nats,
    { actor: "alice", action: "thing.make", config: "web", details: { planned: 1 } },
    (id) => Promise.resolve(`made ${id}`),
    { record: (r, planned) => ({ ...planned, details: { result: r } }), id: "fixed-id" },
  );
  assert.equal(result, "made fixed-id");
  const [event, ...more] = await events(nats);
  assert.deepEqual(more, []);
  assert.equal(event?.id, "fixed-id");
  assert.deepEqual(event?.details, { result: "made fixed-id" });
  assert.equal(event?.recovered, undefined);
  assert.equal(await openIntents(nats), 0);
  // A refusal changes nothing: no event, no intent left.
  await assert.rejects(
    () =>
      audited(nats, { actor: "alice", action: "thing.make" }, () => {
        throw new RangeError("refused");
      }),
    RangeError,
  );
  // A change that turns out to be none: no event either.
  await audited(nats, { actor: "alice", action: "thing.make" }, () => Promise.resolve(0), {
    record: () => null,
  });
  assert.equal((await events(nats)).length, 1);
  assert.equal(await openIntents(nats), 0);
});

/** `nats` as seen by a writer that dies before any audit event of its leaves the process. */
function diesBeforeEvents(nats: AtlasNats): AtlasNats {
  const publisher = {
    publish: (subject: string, ...rest: unknown[]) =>
      subject.startsWith(Subjects.audit("x").slice(0, -1))
        ? Promise.reject(new Error("the writer died before its event went out"))
        : (nats.publisher.publish as (...a: unknown[]) => Promise<unknown>)(subject, ...rest),
  };
  return withMember(nats, "publisher", () => publisher as AtlasNats["publisher"]);
}

natsTest("an event appended in the background is read right after, its intent then gone", async ({
  nats,
}) => {
  const result = await audited(
    nats,
    { actor: "alice", action: "thing.make", config: "web" },
    (id) => Promise.resolve(`made ${id}`),
    { id: "bg", eventInBackground: true },
  );
  assert.equal(result, "made bg");
  await eventsAppended(nats);
  assert.deepEqual((await events(nats)).map((e) => [e.id, e.recovered]), [["bg", undefined]]);
  assert.equal(await openIntents(nats), 0);
});

natsTest(
  "a writer dying after its change, before its background event: recovery appends it once",
  async ({
    nats,
  }) => {
    const kv = await things(nats);
    const dying = diesBeforeEvents(nats);
    // The change returns before its event is appended...
    const result = await audited(
      dying,
      { actor: "alice", action: "thing.make", config: "web" },
      async (id) => {
        await kv.put(`thing-${id}`, "{}");
        return id;
      },
      { id: "died", eventInBackground: true },
    );
    assert.equal(result, "died");
    // ...and the append never gets out: the intent still names the change.
    await eventsAppended(dying);
    assert.deepEqual(await events(nats), []);
    assert.equal(await openIntents(nats), 1);

    const report = await recoverIntents(nats, { "thing.make": thingResolver(nats) });
    assert.deepEqual(report.recovered.map((e) => [e.id, e.recovered]), [["died", true]]);
    assert.deepEqual(report.abandoned, []);
    assert.deepEqual((await events(nats)).map((e) => e.id), ["died"]);
    assert.equal(await openIntents(nats), 0);
    const again = await recoverIntents(nats, { "thing.make": thingResolver(nats) });
    assert.deepEqual([again.recovered, again.abandoned, again.recorded], [[], [], 0]);
    assert.equal((await events(nats)).length, 1);
  },
);

natsTest("recovery records a crashed change once, and abandons one that never happened", async ({
  nats,
}) => {
  const kv = await things(nats);
  await crashAfter(nats, "made", async () => void await kv.put("thing-made", "{}"));
  await crashAfter(nats, "never", () => Promise.resolve());
  assert.equal(await openIntents(nats), 2);
  assert.deepEqual(await events(nats), []);

  const report = await recoverIntents(nats, { "thing.make": thingResolver(nats) });
  assert.deepEqual(report.recovered.map((e) => [e.id, e.action, e.recovered]), [
    ["made", "thing.make", true],
  ]);
  assert.deepEqual(report.abandoned.map((e) => [e.id, e.action, e.details["action"]]), [
    ["never-abandoned", "audit.abandoned", "thing.make"],
  ]);
  const all = await events(nats);
  assert.deepEqual(all.map((e) => e.id).sort(), ["made", "never-abandoned"]);
  assert.deepEqual(all.find((e) => e.id === "made")?.details, { found: true });
  assert.equal(await openIntents(nats), 0);
  // Run again (a second start-up): nothing is left to do, nothing is written twice.
  const again = await recoverIntents(nats, { "thing.make": thingResolver(nats) });
  assert.deepEqual([again.recovered, again.abandoned, again.recorded], [[], [], 0]);
  assert.equal((await events(nats)).length, 2);
  // Had "never"'s writer been alive after all (another control plane), its event still
  // gets in: the abandoned record does not take its id.
  const late = await appendAuditOnce(nats, { id: "never", actor: "alice", action: "thing.make" });
  assert.equal(late.duplicate, false);
});

natsTest("an intent whose event was written is recorded once, within and past the window", async ({
  nats,
}) => {
  const kv = await things(nats);
  for (const id of ["recent", "old"]) {
    await crashAfter(nats, id, async () => void await kv.put(`thing-${id}`, "{}"));
    // The writer appended the event, then died before deleting the intent.
    await appendAudit(nats, { id, actor: "alice", action: "thing.make", config: "web" });
  }
  // Within the window the stream drops the second append of "recent"...
  const within = await recoverIntents(nats, { "thing.make": thingResolver(nats) }, {
    minAgeMs: 0,
  });
  assert.equal(within.recorded, 2);
  assert.deepEqual([within.recovered, within.abandoned], [[], []]);
  assert.equal((await events(nats)).length, 2);

  // ...past it (a control plane down for 11 minutes), recovery reads the stream instead.
  await crashAfter(nats, "late", async () => void await kv.put("thing-late", "{}"));
  // Stored without a message id, so only reading the stream (not the window) can find it.
  await nats.js.publish(
    Subjects.audit("web"),
    JSON.stringify({
      id: "late",
      at: new Date().toISOString(),
      actor: "alice",
      action: "thing.make",
      config: "web",
      details: {},
    }),
  );
  await crashAfter(nats, "late-missing", async () => void await kv.put("thing-late-missing", "{}"));
  const later = Date.now() + 11 * 60_000;
  const past = await recoverIntents(nats, { "thing.make": thingResolver(nats) }, {
    now: () => later,
  });
  assert.equal(past.recorded, 1);
  assert.deepEqual(past.recovered.map((e) => e.id), ["late-missing"]);
  const ids = (await events(nats)).map((e) => e.id).sort();
  assert.deepEqual(ids, ["late", "late-missing", "old", "recent"]);
});

natsTest("recovery leaves young intents to their writer and marks unverifiable ones", async ({
  nats,
}) => {
  await crashAfter(nats, "young", () => Promise.resolve());
  const skipped = await recoverIntents(nats, {}, { minAgeMs: 60_000 });
  assert.equal(skipped.skipped, 1);
  assert.equal(await openIntents(nats), 1);
  // No resolver for the action: recorded as happened, saying it was not checked.
  const report = await recoverIntents(nats, {});
  assert.deepEqual(report.recovered.map((e) => [e.id, e.details["unverified"]]), [["young", true]]);
  assert.equal(await openIntents(nats), 0);
});

natsTest("the audit stream refuses delete and purge from any client", async ({ nats }) => {
  const event = await appendAudit(nats, { actor: "alice", action: "thing.make", config: "web" });
  const { state } = await nats.jsm.streams.info(Streams.audit);
  await assert.rejects(() => nats.jsm.streams.deleteMessage(Streams.audit, state.last_seq));
  await assert.rejects(() => nats.jsm.streams.deleteMessage(Streams.audit, state.last_seq, false));
  await assert.rejects(() => nats.jsm.streams.purge(Streams.audit));
  await assert.rejects(() =>
    nats.jsm.streams.purge(Streams.audit, { filter: Subjects.audit("web") })
  );
  const after = await nats.jsm.streams.info(Streams.audit);
  assert.equal(after.state.messages, state.messages);
  const stored = await nats.jsm.direct.getMessage(Streams.audit, { seq: state.last_seq });
  assert.equal(AuditEvent.parse(stored!.json()).id, event.id);
  // Nor can a client turn the denial off.
  await assert.rejects(() =>
    nats.jsm.streams.update(Streams.audit, { deny_delete: false, deny_purge: false })
  );
});
