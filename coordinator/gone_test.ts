import assert from "node:assert/strict";
import { agentIsStale, type AgentRecord, type AliveSignal } from "@atlas/core";
import { agentRecord, seededRandom } from "@atlas/testkit";
import { GoneAgents } from "./gone.ts";

const T0 = Date.parse("2026-11-29T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** A region as a coordinator sees it: records, pings heard, the listener's start. */
function region() {
  const records = new Map<string, AgentRecord>();
  const lastAlive = new Map<string, number>();
  const world = { now: T0, listeningSinceMs: T0, judged: 0 };
  const aliveOf = (id: string): AliveSignal => {
    world.judged++;
    return { lastSeenMs: lastAlive.get(id), listeningSinceMs: world.listeningSinceMs };
  };
  const gone = new GoneAgents(aliveOf);
  const write = (
    id: string,
    opts: { pings?: boolean; heartbeatSeconds?: number; left?: boolean },
  ) => {
    records.set(id, {
      ...agentRecord(id, "r", { web: {} }, {
        at: iso(world.now),
        heartbeatSeconds: opts.heartbeatSeconds ?? 600,
      }),
      ...(opts.pings === false ? {} : { aliveSeconds: 10 }),
      ...(opts.left ? { leftAt: iso(world.now) } : {}),
    });
    gone.changed(id);
  };
  const ping = (id: string) => {
    lastAlive.set(id, world.now);
    gone.heard(id);
  };
  /** What agentIsStale says of every record now, asked afresh. */
  const truth = () => {
    const ids = new Set<string>();
    const silent = new Set<string>();
    for (const a of records.values()) {
      const alive = { lastSeenMs: lastAlive.get(a.id), listeningSinceMs: world.listeningSinceMs };
      if (!agentIsStale(a, world.now, alive)) continue;
      ids.add(a.id);
      if (a.leftAt === undefined) silent.add(a.id);
    }
    return { ids, silent };
  };
  const answer = () => gone.at(world.now, world.listeningSinceMs, records, true);
  /** A record of `id` written now, kept out of `records`. */
  const truthRecord = (id: string): AgentRecord => ({
    ...agentRecord(id, "r", { web: {} }, { at: iso(world.now), heartbeatSeconds: 600 }),
    aliveSeconds: 10,
  });
  return { records, world, gone, write, ping, truth, answer, truthRecord };
}

Deno.test("the kept answer is what agentIsStale says, through a random walk of changes", () => {
  const random = seededRandom(15);
  const r = region();
  const ids = Array.from({ length: 24 }, (_, i) => `a${i}`);
  for (const [i, id] of ids.entries()) {
    r.write(id, { pings: i % 4 !== 0, heartbeatSeconds: i % 3 === 0 ? 20 : 600 });
  }
  const seen = { gone: 0, back: 0 };
  let before = new Set<string>();
  for (let step = 0; step < 3_000; step++) {
    const id = ids[Math.floor(random() * ids.length)]!;
    const op = random();
    if (op < 0.35) r.world.now += Math.floor(random() * 20_000);
    else if (op < 0.7) r.ping(id);
    else if (op < 0.85) r.write(id, { pings: random() < 0.8, heartbeatSeconds: 20 });
    else if (op < 0.9) r.write(id, { left: true });
    else if (op < 0.94 && r.records.delete(id)) r.gone.changed(id);
    else if (op < 0.97) r.world.listeningSinceMs = r.world.now; // a reconnect
    else r.world.now -= Math.floor(random() * 5_000); // the wall clock stepped back
    const got = r.answer();
    const want = r.truth();
    assert.deepEqual(new Set(got.ids), want.ids, `step ${step}: gone`);
    assert.deepEqual(new Set(got.silent.keys()), want.silent, `step ${step}: silent`);
    for (const a of before) if (!got.ids.has(a)) seen.back++;
    for (const a of got.ids) if (!before.has(a)) seen.gone++;
    before = new Set(got.ids);
  }
  // The walk went both ways many times: the comparison above covered real changes.
  assert.ok(seen.gone > 50 && seen.back > 50, JSON.stringify(seen));
});

Deno.test("with nothing changed, an answer judges nobody again", () => {
  const r = region();
  for (let i = 0; i < 100; i++) r.write(`a${i}`, {});
  r.answer();
  const judged = r.world.judged;
  r.world.now += 5_000;
  for (let i = 1; i < 100; i++) r.ping(`a${i}`); // alive agents pinging change nothing
  const first = r.answer();
  assert.equal(r.world.judged, judged, "no agent judged again");
  assert.equal(first.ids.size, 0);
  // One agent falls silent: at its deadline every agent is judged again, once.
  r.world.now += 40_000;
  for (let i = 1; i < 100; i++) r.ping(`a${i}`);
  const revision = r.answer().revision;
  assert.deepEqual([...r.answer().ids], ["a0"]);
  assert.ok(r.answer().revision > first.revision && r.answer().revision === revision);
  assert.equal(r.world.judged, judged + 100, "one full pass");
  // It comes back: only it is judged again.
  r.ping("a0");
  assert.equal(r.answer().ids.size, 0);
  assert.equal(r.world.judged, judged + 101);
});

Deno.test("records dropped or read afresh are judged afresh", () => {
  const r = region();
  r.write("a0", {});
  r.world.now += 40_000; // a0 silent for a window: gone
  assert.deepEqual([...r.answer().ids], ["a0"]);
  r.records.clear(); // a follow starting again drops its records without a change each
  r.gone.forget();
  assert.equal(r.answer().ids.size, 0, "forgotten: judged afresh");
  // Another map (records read one by one while not following) is never taken as kept.
  const read = new Map<string, AgentRecord>([["a1", r.truthRecord("a1")]]);
  r.world.now += 40_000;
  assert.deepEqual([...r.gone.at(r.world.now, r.world.listeningSinceMs, read, true).ids], ["a1"]);
});
