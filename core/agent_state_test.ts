import assert from "node:assert/strict";
import type { AckRecord, AgentConfigState, AgentRecord } from "./schemas.ts";
import { withAck, withAcks } from "./agent_state.ts";

const D1 = "a".repeat(64);
const D2 = "b".repeat(64);
const onV1: AgentConfigState = {
  applied: { version: 1, digest: D1, seq: 3, appliedAt: "2026-11-28T10:00:00.000Z" },
  diskDigest: D1,
  lastAck: { version: 1, seq: 3, status: "applied", at: "2026-11-28T10:00:00.000Z" },
};
const ack = (over: Partial<AckRecord>): AckRecord => ({
  agent: "a1",
  region: "us-east",
  config: "web",
  version: 2,
  digest: D2,
  seq: 4,
  status: "applied",
  latencyMs: 5,
  at: "2026-11-28T10:05:00.000Z",
  ...over,
});

Deno.test("a newer applied ack moves what the agent runs", () => {
  const s = withAck(onV1, ack({}));
  assert.deepEqual(s.applied, {
    version: 2,
    digest: D2,
    seq: 4,
    appliedAt: "2026-11-28T10:05:00.000Z",
  });
  assert.equal(s.diskDigest, D2);
  assert.deepEqual(s.lastAck, {
    version: 2,
    seq: 4,
    status: "applied",
    at: "2026-11-28T10:05:00.000Z",
  });
});

Deno.test("a refusal moves the last ack only; an older ack moves nothing", () => {
  const refused = withAck(onV1, ack({ status: "rejected", reason: "schema", seq: 5 }));
  assert.deepEqual(refused.applied, onV1.applied);
  assert.equal(refused.diskDigest, D1);
  assert.equal(refused.lastAck?.status, "rejected");
  assert.equal(refused.lastAck?.reason, "schema");
  assert.equal(withAck(onV1, ack({ seq: 2 })), onV1, "older than the record");
  assert.equal(withAck(onV1, ack({ seq: 3, version: 1, digest: D1 })), onV1, "the same one");
  assert.equal(withAck(onV1, undefined), onV1);
  const verified = withAck(onV1, ack({ status: "verified", seq: 6 }));
  assert.equal(verified.applied?.version, 1, "a preflight check applies nothing");
});

Deno.test("a first apply known only from its ack", () => {
  const none: AgentConfigState = { applied: null, diskDigest: null, lastAck: null };
  assert.equal(withAck(none, ack({ seq: 1 })).applied?.version, 2);
});

Deno.test("withAcks brings each config up to its own ack and keeps the rest", () => {
  const record = {
    id: "a1",
    region: "us-east",
    configs: { web: onV1, cache: onV1 },
  } as unknown as AgentRecord;
  const out = withAcks(record, (c) => (c === "web" ? ack({}) : undefined));
  assert.equal(out.configs.web?.applied?.version, 2);
  assert.equal(out.configs.cache, onV1);
  assert.equal(withAcks(record, () => undefined), record, "nothing newer: the same record");
});
