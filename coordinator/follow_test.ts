import assert from "node:assert/strict";
import { Streams } from "@atlas/core";
import { natsTest, waitFor } from "@atlas/testkit";
import { FOLLOW_PULL_EXPIRES_MS, SubjectFollow } from "./follow.ts";

natsTest(
  "a follow gets the last message of each subject, then changes, and restarts clean",
  async ({
    nats,
  }) => {
    const publish = (subject: string, body: string) => nats.js.publish(subject, body);
    await publish("atlas.ack.us-east.web.a1", "a1-old");
    await publish("atlas.ack.us-east.web.a1", "a1-new");
    await publish("atlas.ack.us-east.web.a2", "a2");
    await publish("atlas.ack.eu-west.web.a3", "other region");
    const seen: string[] = [];
    let resets = 0;
    await using follow = new SubjectFollow(nats, {
      stream: Streams.acks,
      filter: "atlas.ack.us-east.>",
      onReset: () => (resets++, seen.length = 0),
      timed: true,
      onMessage: (m) => {
        seen.push(m.string());
        // The first message takes CPU the stats must see.
        for (const t0 = performance.now(); resets === 1 && seen.length === 1;) {
          if (performance.now() - t0 > 2) break;
        }
      },
    });
    assert.equal(follow.ready, false);
    await follow.start();
    await waitFor("backlog delivered", () => follow.ready);
    assert.deepEqual(seen.sort(), ["a1-new", "a2"], "the last of each subject, only this region");
    await publish("atlas.ack.us-east.web.a2", "a2-next");
    await waitFor("a change arrives", () => seen.includes("a2-next"));

    follow.stop();
    assert.equal(follow.following, false);
    assert.equal(follow.ready, false);
    await follow.start();
    await waitFor("ready again", () => follow.ready);
    assert.equal(resets, 2, "reset before each start");
    assert.deepEqual(seen.sort(), ["a1-new", "a2-next"]);
    // Every message handed over is counted, across starts: 2 + 1, then 2 again.
    assert.equal(follow.stats.messages, 5);
    assert.ok(follow.stats.busyMs >= 1, "the time inside onMessage is counted");
  },
);

natsTest(
  "a follow of nothing is ready at once, and stays so as messages come",
  async ({ nats }) => {
    await nats.js.publish("atlas.ack.us-east.web.a1", "another region's");
    const seen: string[] = [];
    await using follow = new SubjectFollow(nats, {
      stream: Streams.acks,
      filter: "atlas.ack.ap-south.>",
      onMessage: (m) => seen.push(m.string()),
    });
    await follow.start();
    assert.equal(follow.ready, true, "no backlog under the filter");
    await nats.js.publish("atlas.ack.ap-south.web.a9", "first");
    await waitFor("the first message arrives", () => seen.length === 1);
    assert.equal(follow.ready, true);
  },
);

natsTest(
  "a follow whose consumer goes quiet is not current until it is heard from again",
  async ({ nats }) => {
    await nats.js.publish("atlas.ack.us-east.web.a1", "one");
    const seen: string[] = [];
    await using follow = new SubjectFollow(nats, {
      stream: Streams.acks,
      filter: "atlas.ack.us-east.>",
      onMessage: (m) => seen.push(m.string()),
    });
    await follow.start();
    await waitFor("current once the backlog is in", () => follow.current);
    // The server drops the consumer: what a consumer made across a partition does too,
    // delivering nothing and sending no heartbeat.
    for await (const c of await nats.jsm.consumers.list(Streams.acks)) {
      await nats.jsm.consumers.delete(Streams.acks, c.name);
    }
    await waitFor("not current once its heartbeats stop", () => !follow.current, {
      timeoutMs: 3 * FOLLOW_PULL_EXPIRES_MS,
    });
    assert.equal(follow.ready, true, "what was delivered stays");
    await nats.js.publish("atlas.ack.us-east.web.a1", "two");
    await waitFor("current again, with what came meanwhile", () => {
      return follow.current && seen.includes("two");
    }, { timeoutMs: 6 * FOLLOW_PULL_EXPIRES_MS });
  },
);

natsTest(
  "a follow reading a burst is not current until it has read the last message",
  async ({ nats }) => {
    // A mixed region's acks and another region's: only this region's count as behind.
    await nats.js.publish("atlas.ack.us-east.web.a0", "first");
    await nats.js.publish("atlas.ack.eu-west.web.b0", "another region's");
    const currentWhenRead: boolean[] = [];
    await using follow = new SubjectFollow(nats, {
      stream: Streams.acks,
      filter: "atlas.ack.us-east.>",
      onMessage: () => {
        currentWhenRead.push(follow.current);
        // A slow reader: the burst waits on the server meanwhile.
        for (const t0 = performance.now(); performance.now() - t0 < 2;);
      },
    });
    await follow.start();
    await waitFor("ready", () => follow.current);
    currentWhenRead.length = 0;
    // 300 acks stored at once, as a wave's are, read 200 at a time.
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => nats.js.publish(`atlas.ack.us-east.web.a${i}`, "x")),
    );
    await waitFor("the burst read", () => currentWhenRead.length === 300 && follow.current);
    assert.ok(
      currentWhenRead.slice(1).some((c) => !c),
      "not current while acks were stored but not read",
    );
    assert.equal(follow.behind, 0);
  },
);
