import assert from "node:assert/strict";
import { agentRecord } from "@atlas/testkit";
import {
  agentIsStale,
  aliveFromSummary,
  aliveWindowMs,
  type LivenessRecord,
  MISSED_HEARTBEATS,
  staleFrom,
  SUMMARY_KEEPALIVE_MIN_SECONDS,
  summaryKeepAliveSeconds,
} from "./liveness.ts";
import { judgeStage } from "./judge.ts";
import { RolloutStage } from "./rollout.ts";
import { CandidateSelector } from "./schemas.ts";

const T0 = Date.parse("2026-11-28T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** An agent that pings every 30 s and writes its record every 600 s; record written at T0. */
const pinger = () => ({
  ...agentRecord("a1", "r", { web: {} }, { at: iso(T0), heartbeatSeconds: 600 }),
  aliveSeconds: 30,
});

Deno.test("an agent on the 60 s keep-alive that dies is gone 185 s after its last heartbeat", () => {
  const rec = agentRecord("a1", "r", { web: {} }, { at: iso(T0), heartbeatSeconds: 60 });
  const limit = 60_000 * MISSED_HEARTBEATS + 5_000;
  assert.equal(limit, 185_000);
  assert.equal(agentIsStale(rec, T0 + 60_000 * 1.2), false, "a late keep-alive is not a death");
  assert.equal(agentIsStale(rec, T0 + limit), false);
  assert.equal(agentIsStale(rec, T0 + limit + 1), true, "gone in bounded time");
  const heard = { lastSeenMs: T0 + limit, listeningSinceMs: T0 - 1_000_000 };
  assert.equal(agentIsStale(rec, T0 + limit + 1, heard), true, "no aliveSeconds: pings ignored");
});

Deno.test("a pinging agent is gone 95 s after its last sign while its record is fresh", () => {
  const rec = pinger();
  const window = aliveWindowMs(30);
  assert.equal(window, 95_000);
  const listening = T0 - 1_000_000;
  const lastPing = T0 + 500_000;
  const heard = { lastSeenMs: lastPing, listeningSinceMs: listening };
  assert.equal(agentIsStale(rec, lastPing + window, heard), false);
  assert.equal(agentIsStale(rec, lastPing + window + 1, heard), true, "pings stopped: gone");
  assert.equal(
    agentIsStale(rec, T0 + window + 1, { lastSeenMs: undefined, listeningSinceMs: listening }),
    true,
    "never pinged, record 96 s old",
  );
  assert.equal(agentIsStale(rec, T0 + window + 1), false, "without pings the record's age decides");
  assert.equal(agentIsStale({ ...rec, leftAt: iso(T0) }, T0, heard), true, "goodbye");
});

Deno.test("an agent that writes its record more often than it pings is held to that", () => {
  const rec = {
    ...agentRecord("a1", "r", { web: {} }, { at: iso(T0), heartbeatSeconds: 1 }),
    aliveSeconds: 60,
  };
  const heard = { lastSeenMs: T0, listeningSinceMs: T0 - 1_000_000 };
  assert.equal(agentIsStale(rec, T0 + 8_000, heard), false);
  assert.equal(agentIsStale(rec, T0 + 8_001, heard), true, "3 × 1 s + 5 s, not 185 s");
});

Deno.test("a listener that just started does not judge silent agents gone before a window", () => {
  const rec = pinger();
  const now = T0 + 1_000_000; // the record is 1 000 s old, within 3 × 600 s + 5 s
  const fresh = { lastSeenMs: undefined, listeningSinceMs: now - 10_000 };
  assert.equal(agentIsStale(rec, now, fresh), false, "record age decides until a full window");
  const later = { lastSeenMs: undefined, listeningSinceMs: now - aliveWindowMs(30) };
  assert.equal(agentIsStale(rec, now, later), true, "a full window heard nothing: gone");
  const old = agentRecord("a1", "r", { web: {} }, { at: iso(T0), heartbeatSeconds: 60 });
  assert.equal(agentIsStale({ ...old, aliveSeconds: 30 }, now, fresh), true, "record too old");
});

Deno.test("the control plane judges by the leader's summary while it is fresh", () => {
  const rec = pinger();
  const now = T0 + 1_000_000;
  const summary: LivenessRecord = {
    region: "r",
    at: iso(now - 20_000),
    listeningSince: iso(T0 - 1_000_000),
    keepAliveSeconds: 30,
    gone: { a1: iso(now - 200_000) },
  };
  assert.equal(agentIsStale(rec, now, aliveFromSummary(summary, "a1", now)), true, "listed");
  assert.equal(agentIsStale(rec, now, aliveFromSummary(summary, "a2", now)), false, "not listed");
  const stale = { ...summary, at: iso(now - 96_000) };
  assert.equal(aliveFromSummary(stale, "a1", now), undefined, "stale: record age decides");
  assert.equal(agentIsStale(rec, now, aliveFromSummary(stale, "a1", now)), false);
  const back = { ...rec, heartbeatAt: iso(now - 1_000) };
  assert.equal(
    agentIsStale(back, now, aliveFromSummary(summary, "a1", now)),
    false,
    "a record written after the summary's last sign: back",
  );
});

Deno.test("a stage counts a pinging member with an old record and not a silent one", () => {
  const now = T0 + 1_000_000; // both records are 1 000 s old: alive by record age alone
  const agents = ["up", "silent"].map((id) => ({
    ...agentRecord(id, "r", { web: {} }, { at: iso(T0), heartbeatSeconds: 600 }),
    aliveSeconds: 30,
  }));
  const heard = new Map([["up", now - 10_000]]);
  const input = {
    region: "r",
    rollout: { id: "r1", config: "web", version: 2, stage: 0 },
    stage: RolloutStage.parse({ regions: ["r"] }),
    stageSeq: 5,
    startedAt: now - 1_000,
    selector: CandidateSelector.parse({ percent: 100 }),
    agents,
    ackOf: () => undefined,
    now,
  };
  const byRecords = judgeStage(input);
  assert.equal(byRecords.members, 2, "without pings the records decide: both alive");
  const byPings = judgeStage({
    ...input,
    aliveOf: (id) => ({ lastSeenMs: heard.get(id), listeningSinceMs: T0 }),
  });
  assert.equal(byPings.members, 1, "the silent one is gone");
  assert.equal(byPings.counts.targeted, 1);
  assert.equal(byPings.counts.pending, 1, "the pinging one is waited for");
});

Deno.test("the leader's summary is kept alive as often as its most frequent signer", () => {
  const agent = (aliveSeconds: number | undefined, heartbeatSeconds = 600, leftAt?: string) => ({
    aliveSeconds,
    heartbeatSeconds,
    ...(leftAt ? { leftAt } : {}),
  });
  assert.equal(summaryKeepAliveSeconds([]), 30);
  assert.equal(summaryKeepAliveSeconds([agent(60), agent(undefined, 15)]), 30);
  assert.equal(summaryKeepAliveSeconds([agent(60), agent(5)]), 5);
  assert.equal(summaryKeepAliveSeconds([agent(60, 2)]), 2, "its record more often than pings");
  assert.equal(
    summaryKeepAliveSeconds([agent(60), agent(0.001), agent(30, 0.001)]),
    SUMMARY_KEEPALIVE_MIN_SECONDS,
    "a host asking for a ping every millisecond does not set the summary's pace",
  );
  // And a reader still judges that host alive by a summary as old as the floor lets it
  // get (a keep-alive, a 500 ms step late, and as long again to be written).
  const fast = { ...pinger(), aliveSeconds: 0.001 };
  const now = T0 + 1_000_000;
  const summary: LivenessRecord = {
    region: "r",
    at: iso(now - SUMMARY_KEEPALIVE_MIN_SECONDS * 1000 - 1_000),
    listeningSince: iso(T0),
    keepAliveSeconds: SUMMARY_KEEPALIVE_MIN_SECONDS,
    gone: {},
  };
  assert.equal(agentIsStale(fast, now, aliveFromSummary(summary, "a1", now)), false);
  assert.equal(
    summaryKeepAliveSeconds([agent(1, 600, "2026-11-28T10:00:00.000Z")]),
    30,
    "a departed agent promises nothing",
  );
});

Deno.test("an agent alive now stays alive until staleFrom, whatever the listener heard", () => {
  // Every mix of record age, keep-alive, ping period, last ping and listener start, on a
  // grid of seconds: until staleFrom the agent is alive at each second, and at some point
  // after it (the deadline is never late) the answer may change, but never before.
  let checked = 0;
  for (const heartbeatSeconds of [5, 60, 600]) {
    for (const aliveSeconds of [undefined, 1, 30]) {
      for (const recordAgo of [0, 20, 200, 2_000]) {
        for (const pingAgo of [undefined, 0, 50, 120]) {
          for (const listeningAgo of [0, 30, 100, 5_000]) {
            const now = T0 + 10_000_000;
            const agent = {
              ...agentRecord("a1", "r", { web: {} }, {
                at: iso(now - recordAgo * 1000),
                heartbeatSeconds,
              }),
              ...(aliveSeconds === undefined ? {} : { aliveSeconds }),
            };
            const alive = {
              lastSeenMs: pingAgo === undefined ? undefined : now - pingAgo * 1000,
              listeningSinceMs: now - listeningAgo * 1000,
            };
            for (const heard of [alive, undefined]) {
              if (agentIsStale(agent, now, heard)) continue;
              const until = staleFrom(agent, now, heard);
              assert.ok(until >= now && until < now + 10_000_000, "not past, bounded");
              for (let t = now; t < until; t += 1000) {
                assert.equal(agentIsStale(agent, t, heard), false, `alive at +${t - now} ms`);
              }
              assert.equal(agentIsStale(agent, until - 1, heard), false);
              checked++;
            }
          }
        }
      }
    }
  }
  assert.ok(checked > 100, `${checked} cases`);
});

Deno.test("staleFrom is the moment a silent agent goes, not later", () => {
  const rec = pinger(); // pings every 30 s: gone 95 s after its last sign
  const alive = { lastSeenMs: T0 + 10_000, listeningSinceMs: T0 - 1_000_000 };
  const until = staleFrom(rec, T0 + 20_000, alive);
  assert.equal(until, T0 + 10_000 + aliveWindowMs(30));
  assert.equal(agentIsStale(rec, until, alive), false);
  assert.equal(agentIsStale(rec, until + 1, alive), true);
  // A listener that just started: gone by the record's age or a window of listening.
  const fresh = { lastSeenMs: undefined, listeningSinceMs: T0 + 100_000 };
  const later = staleFrom(rec, T0 + 150_000, fresh);
  assert.equal(later, T0 + 100_000 + aliveWindowMs(30));
  assert.equal(agentIsStale(rec, later, fresh), true);
  assert.equal(agentIsStale(rec, later - 1, fresh), false);
});
