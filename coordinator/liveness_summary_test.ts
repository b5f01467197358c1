/**
 * The region leader's liveness summary (core/liveness.ts) keeps the pace its members
 * promise: its keep-alive follows the records as they change, though the leader keeps it
 * between steps instead of walking every record each step.
 */
import { agentKey, Buckets } from "@atlas/core";
import { type AtlasNats, provisionRegion } from "@atlas/store";
import { agentRecord, livenessSummary, natsTest } from "@atlas/testkit";
import { coordinator, FakeClock, stepUntil } from "./test_helpers.ts";

const REGION = "us-east";

const summary = (nats: AtlasNats) => livenessSummary(nats, REGION);

natsTest(
  "the liveness summary's keep-alive follows each record that changes its pace, or goes",
  async (ctx) => {
    const { nats } = ctx;
    await provisionRegion(nats, REGION);
    const kv = await nats.kv(Buckets.agents);
    const put = async (id: string, aliveSeconds: number, configs = {}) => {
      const at = new Date().toISOString();
      await kv.put(
        agentKey(REGION, id),
        JSON.stringify({
          ...agentRecord(id, REGION, configs, { at, heartbeatSeconds: 600 }),
          aliveSeconds,
        }),
      );
    };
    // A mixed region: one host manages web, the other nothing Atlas rolls out.
    await put("a1", 30, { web: {} });
    await put("a2", 30);
    const clock = new FakeClock();
    await using c = await coordinator(ctx, REGION, clock);
    await stepUntil(
      "a summary that keeps the members' 30 s pace",
      [c],
      async () => c.following && (await summary(nats))?.keepAliveSeconds === 30,
    );
    // Steps (the clock moved past the pace each time) until the summary keeps `seconds`.
    const paceIs = (what: string, seconds: number) =>
      stepUntil(
        `a summary keeping the ${seconds} s pace of ${what}`,
        [c],
        async () => (await summary(nats))?.keepAliveSeconds === seconds,
        { clock, advanceMs: (seconds + 1) * 1000 },
      );
    // a2 now promises a ping every 5 s: the summary must be rewritten at least as often,
    // or a reader would judge a2 gone from the summary's age alone.
    await put("a2", 5);
    await paceIs("a2", 5);
    // a2 goes back to 30 s: the record that set the pace asks less, so it is found again
    // among all of them (a kept 5 s would rewrite the summary six times too often).
    await put("a2", 30);
    await paceIs("the members", 30);
    // And a record removed takes its pace with it.
    await put("a2", 5);
    await paceIs("a2", 5);
    await kv.delete(agentKey(REGION, "a2"));
    await paceIs("a1 alone", 30);
  },
);
