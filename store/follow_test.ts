import assert from "node:assert/strict";
import { activateVersion, natsTest, storeVersion, waitFor } from "@atlas/testkit";
import { generateSigningKey, PointerRecord, Signer, Verifier, verifyPointer } from "@atlas/core";
import { type FollowErrorContext, PointerFollower } from "./follow.ts";
import { publishNotice } from "./pointers.ts";

const signer = new Signer(generateSigningKey());
const verifier = new Verifier([signer.trustedKey]);

natsTest(
  "an older pointer whose delivery finishes late never overwrites a newer one",
  async ({ nats, urls, auth }) => {
    const v1 = await storeVersion(nats, signer, "web", 1, '{"n":1}');
    const v2 = await storeVersion(nats, signer, "web", 2, '{"n":2}');
    const slow = Promise.withResolvers<void>();
    const events: string[] = [];
    let value = 0;
    let outdated: AbortSignal | undefined;
    await using follower = new PointerFollower({
      servers: urls,
      connect: { credentials: await auth.creds("reader") },
      region: "us-east",
      configs: ["web"],
      verify: (p) => verifyPointer(verifier, p),
      // Like a reader that ignores the abort: sets what it fetched whenever it arrives.
      deliver: async (pointer, _blobs, { signal }) => {
        events.push(`start ${pointer.seq}`);
        if (pointer.seq === 1) {
          outdated = signal;
          await slow.promise; // a slow fetch of the older version
        }
        value = pointer.active.version;
        events.push(`end ${pointer.seq}`);
      },
      onError: (e) => events.push(`error ${e.message}`),
    });
    await follower.whenConnected();
    await activateVersion(nats, signer, "us-east", v1, { inline: false });
    await waitFor("the slow delivery of seq 1", () => events.includes("start 1"));
    await activateVersion(nats, signer, "us-east", v2, { content: '{"n":2}' });
    // The notice of seq 2 arrived: the delivery of seq 1 is told it is outdated, and seq 2
    // waits for it to end.
    await waitFor("seq 1 told it is outdated", () => outdated?.aborted);
    assert.deepEqual(events, ["start 1"]);
    slow.resolve();
    await waitFor("seq 2 delivered", () => follower.delivered("web") === 2);
    assert.deepEqual(events, ["start 1", "end 1", "start 2", "end 2"]);
    assert.equal(value, 2, "the newer value stands");
  },
);

natsTest(
  "a replayed or forged pointer is dropped and reported, and does not hold up the next one",
  async ({ nats, urls, auth }) => {
    const v1 = await storeVersion(nats, signer, "web", 1, '{"n":1}');
    const v2 = await storeVersion(nats, signer, "web", 2, '{"n":2}');
    const seqs: number[] = [];
    const errors: FollowErrorContext[] = [];
    await using follower = new PointerFollower({
      servers: urls,
      connect: { credentials: await auth.creds("reader") },
      region: "us-east",
      configs: ["web"],
      verify: (p) => verifyPointer(verifier, p),
      deliver: (pointer) => void seqs.push(pointer.seq),
      onError: (_e, context) => errors.push(context),
    });
    await follower.whenConnected();
    const first = await activateVersion(nats, signer, "us-east", v1, { inline: false });
    await waitFor("seq 1", () => seqs.length === 1);
    // The same signed pointer again (a replay), then one signed by a key nobody trusts
    // that claims a far higher seq.
    publishNotice(nats, first!, {});
    const stranger = new Signer(generateSigningKey());
    const { keyId: _k, signature: _s, ...body } = first!;
    publishNotice(nats, PointerRecord.parse(stranger.sign({ ...body, seq: 99 })), {});
    await activateVersion(nats, signer, "us-east", v2, { content: '{"n":2}' });
    await waitFor("seq 2", () => seqs.length === 2);
    await follower.reconcile();
    assert.deepEqual(seqs, [1, 2], "each pointer once, in order");
    assert.deepEqual(
      errors.map((c) => [c.stage, c.via, c.pointer?.seq]),
      [["verify", "notice", 99]],
    );
  },
);

natsTest(
  "a follower started while NATS is unreachable reports it once and closes cleanly",
  async () => {
    const errors: string[] = [];
    const follower = new PointerFollower({
      servers: "nats://127.0.0.1:1",
      region: "us-east",
      configs: ["web"],
      retryMs: 20,
      deliver: () => {},
      onError: (e, c) => errors.push(`${c.stage}: ${e.message}`),
    });
    await waitFor("a failed attempt", () => errors.length > 0);
    await new Promise((r) => setTimeout(r, 200)); // several more attempts
    await follower.close();
    assert.equal(errors.length, 1, `one report per outage: ${errors.join("; ")}`);
    assert.match(errors[0]!, /^connect: /);
    assert.equal(follower.connected, false);
  },
);
