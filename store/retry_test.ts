import assert from "node:assert/strict";
import { AtlasError, AtlasErrorCode, Buckets } from "@atlas/core";
import { JetStreamApiError } from "@nats-io/jetstream";
import { jserrors } from "@nats-io/jetstream/internal";
import {
  ClosedConnectionError,
  ConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import { natsTest } from "@atlas/testkit";
import {
  isCasConflict,
  isTransient,
  jetStreamErrorCode,
  retryTransient,
  UnavailableError,
} from "./retry.ts";
import { JetStreamPublishError } from "./stream_publish.ts";

/** An API error as the client builds it from a `{error: {code, err_code, description}}`. */
function apiError(status: number, errCode: number | undefined, description: string) {
  return new JetStreamApiError(
    {
      code: status,
      ...(errCode === undefined ? {} : { err_code: errCode }),
      description,
    } as ConstructorParameters<typeof JetStreamApiError>[0],
  );
}

Deno.test("a lost compare-and-set is recognized by its JetStream code", () => {
  assert.ok(isCasConflict(apiError(400, 10071, "wrong last sequence: 4")));
  assert.ok(isCasConflict(apiError(400, 10164, "wrong last sequence")));
  const publish = new JetStreamPublishError("refused", "$KV.b.k", {
    code: AtlasErrorCode.casConflict,
    status: 400,
    errCode: 10071,
  });
  assert.ok(isCasConflict(publish));
  assert.ok(isCasConflict(new AtlasError("lost", { code: AtlasErrorCode.casConflict })));
  // A code wins over the text.
  assert.equal(isCasConflict(apiError(400, 10054, "wrong last sequence, or so it says")), false);
  assert.equal(isCasConflict(new AtlasError("wrong last sequence")), false);
});

Deno.test("a lost compare-and-set without a code is recognized by its text", () => {
  // Servers before 2.3 send no err_code; code outside Atlas may rethrow plain Errors.
  assert.ok(isCasConflict(apiError(400, undefined, "wrong last sequence: 4")));
  assert.ok(isCasConflict(new Error("publish failed: Wrong Last Sequence: 4")));
  assert.equal(isCasConflict(new Error("key exists")), false);
  assert.equal(isCasConflict("wrong last sequence"), false);
  assert.equal(isCasConflict(undefined), false);
});

Deno.test("passing unavailability is recognized by the client's error classes", () => {
  const transient: unknown[] = [
    new TimeoutError(),
    new NoRespondersError("$JS.API.STREAM.INFO.x"),
    new RequestError("no responders", { cause: new NoRespondersError("x") }),
    new RequestError("connection disconnected"),
    new ConnectionError("connection refused"),
    new jserrors.JetStreamNotEnabled("jetstream is not enabled"),
    apiError(503, 10008, "JetStream system temporarily unavailable"),
    apiError(400, 10005, "no suitable peers for placement"),
    apiError(503, undefined, "anything at all"),
    new UnavailableError("down"),
    new JetStreamPublishError("timed out", "t.a", { code: AtlasErrorCode.unavailable }),
  ];
  for (const e of transient) assert.ok(isTransient(e), String(e));
});

Deno.test("other errors are not transient, whatever their text says", () => {
  const permanent: unknown[] = [
    apiError(400, 10071, "wrong last sequence: 4"),
    apiError(400, 10054, "message size exceeds maximum allowed"),
    apiError(404, 10059, "stream not found"),
    new Error("leader 503 timeout no responders"),
    new ClosedConnectionError(),
    new AtlasError("timeout", { code: AtlasErrorCode.invalid }),
    new JetStreamPublishError("503", "t.a", { code: AtlasErrorCode.jetstream, status: 400 }),
    new TypeError("x is not a function"),
    "timeout",
    null,
  ];
  for (const e of permanent) assert.equal(isTransient(e), false, String(e));
});

Deno.test("a JetStream error reply maps to one Atlas code", () => {
  assert.equal(jetStreamErrorCode(400, 10071), AtlasErrorCode.casConflict);
  assert.equal(jetStreamErrorCode(503, undefined), AtlasErrorCode.unavailable);
  assert.equal(jetStreamErrorCode(500, 10008), AtlasErrorCode.unavailable);
  assert.equal(jetStreamErrorCode(404, 10059), AtlasErrorCode.notFound);
  assert.equal(jetStreamErrorCode(400, 10054), AtlasErrorCode.jetstream);
});

natsTest("real compare-and-set losses are classified as conflicts", async ({ nats }) => {
  const kv = await nats.kv(Buckets.configs);
  const first = await kv.create("web", "{}");
  const created = await kv.create("web", "{}").catch((e) => e);
  const updated = await kv.update("web", "{}", first + 1).catch((e) => e);
  const written = await nats.kvWrite(Buckets.configs, "web", "{}", first + 1).catch((e) => e);
  const deleted = await kv.delete("web", { previousSeq: first + 1 }).catch((e) => e);
  // The v3 kv client reports a taken key on create as the API error of its first publish.
  for (const e of [created, updated, deleted]) {
    assert.ok(e instanceof JetStreamApiError, String(e));
    assert.equal(e.code, 10071);
  }
  assert.ok(written instanceof JetStreamPublishError);
  for (const e of [created, updated, written, deleted]) {
    assert.ok(isCasConflict(e), String(e));
    assert.equal(isTransient(e), false);
  }
});

natsTest("real timeouts and unheard requests are classified as transient", async ({ nats }) => {
  const unheard = await nats.nc.request("atlas.nobody.here", "").catch((e) => e);
  assert.ok(unheard instanceof Error && !(unheard instanceof AtlasError), String(unheard));
  assert.ok(isTransient(unheard), String(unheard));
  const mute = nats.nc.subscribe("atlas.mute.>");
  await nats.nc.flush();
  const unanswered = await nats.nc.request("atlas.mute.a", "", { timeout: 200 }).catch((e) => e);
  mute.unsubscribe();
  assert.ok(isTransient(unanswered), String(unanswered));
  // A kv write whose stream is gone: the client says "jetstream is not enabled".
  const kv = await nats.kv(Buckets.configs);
  await nats.jsm.streams.delete(`KV_${Buckets.configs}`);
  const orphan = await kv.put("web", "{}").catch((e) => e);
  assert.ok(isTransient(orphan), String(orphan));
});

Deno.test("retryTransient retries what is passing until its deadline, nothing else", async () => {
  let calls = 0;
  const passing = () => {
    calls++;
    return Promise.reject(
      new AtlasError("electing a leader", { code: AtlasErrorCode.unavailable }),
    );
  };
  await assert.rejects(
    retryTransient(passing, { deadlineMs: 300, initialDelayMs: 10, what: "Writing x" }),
    (e) =>
      e instanceof UnavailableError && /Writing x failed for \d+ attempts/.test(e.message) &&
      calls > 1,
  );
  calls = 0;
  const bad = () => (calls++, Promise.reject(new RangeError("bad request")));
  await assert.rejects(retryTransient(bad, { deadlineMs: 300 }), RangeError);
  assert.equal(calls, 1, "not retried");
  let n = 0;
  const third = () => ++n < 3 ? passing() : Promise.resolve("ok");
  assert.equal(await retryTransient(third, { initialDelayMs: 1 }), "ok");
});
