import assert from "node:assert/strict";
import {
  type AuditEvent,
  ConfigRecord,
  PointerNotice,
  Subjects,
  TrustedKeysFile,
  Verifier,
  VersionRecord,
} from "@atlas/core";
import { readPointer } from "@atlas/store";
import { waitFor } from "@atlas/testkit";
import { ConfigStatus, MoveResult } from "./api.ts";
import { controlTest } from "./testing.ts";

const SCHEMA = {
  type: "object",
  required: ["maxConnections"],
  properties: { maxConnections: { type: "integer", minimum: 1 } },
};
const V1 = '{\n  "maxConnections": 10\n}\n';
const V2 = '{\n  "maxConnections": 20\n}\n';

controlTest(
  "happy path: config, publish, read, diff, activate, publish, rollback, status, audit, keys",
  async ({ api, nats, signer }) => {
    const notices: PointerNotice[] = [];
    const sub = nats.nc.subscribe("atlas.notify.>", {
      callback: (_e, m) => {
        notices.push(PointerNotice.parse(m.json()));
      },
    });
    await nats.nc.flush();

    const created = ConfigRecord.parse(
      await api.ok(201, "PUT", "/v1/configs/payments.limits", {
        body: { description: "limits", schema: SCHEMA },
      }),
    );
    assert.equal(created.contentType, "application/json");
    assert.equal(created.latestVersion, 0);
    const updated = ConfigRecord.parse(
      await api.ok(200, "PUT", "/v1/configs/payments.limits", { body: { description: "L" } }),
    );
    assert.deepEqual(updated.schema, SCHEMA, "omitted fields keep their value");

    const v1 = VersionRecord.parse(
      await api.ok(201, "POST", "/v1/configs/payments.limits/versions", {
        body: { content: V1, message: "first" },
      }),
    );
    assert.equal(v1.version, 1);
    assert.equal(v1.author, "alice");
    const verifier = new Verifier([signer.trustedKey]);
    verifier.verify("version", v1);

    assert.deepEqual(
      VersionRecord.parse(await api.ok(200, "GET", "/v1/configs/payments.limits/versions/1")),
      v1,
    );
    const content = await api.call("GET", "/v1/configs/payments.limits/versions/1/content");
    assert.equal(content.status, 200);
    assert.equal(content.headers.get("content-type"), "application/json");
    assert.deepEqual(content.bytes, new TextEncoder().encode(V1));

    const v2 = VersionRecord.parse(
      await api.ok(201, "POST", "/v1/configs/payments.limits/versions", {
        body: { content: { maxConnections: 20 } },
      }),
    );
    assert.equal(v2.version, 2);
    const c2 = await api.call("GET", "/v1/configs/payments.limits/versions/2/content");
    assert.equal(c2.text, V2, "a JSON value is stored pretty-printed with a final newline");

    const list = await api.ok<{ versions: VersionRecord[] }>(
      200,
      "GET",
      "/v1/configs/payments.limits/versions",
    );
    assert.deepEqual(list.versions.map((v) => v.version), [1, 2]);
    const configs = await api.ok<{ configs: ConfigRecord[] }>(200, "GET", "/v1/configs");
    assert.deepEqual(configs.configs.map((c) => [c.name, c.latestVersion]), [[
      "payments.limits",
      2,
    ]]);

    const diff = await api.call("GET", "/v1/configs/payments.limits/diff?from=1&to=2");
    assert.equal(diff.status, 200);
    assert.match(diff.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(diff.text, /--- payments\.limits@v1/);
    assert.match(diff.text, /\+\+\+ payments\.limits@v2/);
    assert.match(diff.text, /^- {2}"maxConnections": 10$/m);
    assert.match(diff.text, /^\+ {2}"maxConnections": 20$/m);

    const a1 = MoveResult.parse(
      await api.ok(200, "POST", "/v1/configs/payments.limits/activate", { body: { version: 1 } }),
    );
    assert.deepEqual(
      a1.regions.map((r) => [r.region, r.previousVersion, r.changed]),
      [["eu-west", null, true], ["us-east", null, true]],
    );
    const p1 = await readPointer(nats, "us-east", "payments.limits");
    assert.equal(p1?.pointer.active.version, 1);
    assert.deepEqual(p1?.pointer.history, []);
    assert.equal(p1?.pointer.issuedBy, "alice");
    verifier.verify("pointer", p1!.pointer);

    const again = MoveResult.parse(
      await api.ok(200, "POST", "/v1/configs/payments.limits/activate", {
        body: { version: 1, regions: ["us-east"] },
      }),
    );
    assert.deepEqual(again.regions.map((r) => [r.region, r.changed, r.seq]), [[
      "us-east",
      false,
      1,
    ]]);

    await api.ok(200, "POST", "/v1/configs/payments.limits/activate", { body: { version: 2 } });
    const p2 = await readPointer(nats, "eu-west", "payments.limits");
    assert.equal(p2?.pointer.active.version, 2);
    assert.deepEqual(p2?.pointer.history, [1]);
    assert.equal(p2?.pointer.seq, 2);

    const rb = MoveResult.parse(
      await api.ok(200, "POST", "/v1/configs/payments.limits/rollback", { body: {} }),
    );
    assert.equal(rb.version, 1);
    assert.deepEqual(rb.regions.map((r) => [r.region, r.previousVersion, r.version]), [
      ["eu-west", 2, 1],
      ["us-east", 2, 1],
    ]);
    const p3 = await readPointer(nats, "us-east", "payments.limits");
    assert.equal(p3?.pointer.active.version, 1);
    assert.deepEqual(p3?.pointer.history, [], "rollback pops the history");
    assert.equal(p3?.pointer.seq, 3);

    const status = ConfigStatus.parse(
      await api.ok(200, "GET", "/v1/configs/payments.limits/status"),
    );
    assert.deepEqual(
      status.regions.map((r) => [r.region, r.pointer?.version, r.pointer?.seq, r.agents.total]),
      [["eu-west", 1, 3, 0], ["us-east", 1, 3, 0]],
    );

    const audit = await api.ok<{ events: AuditEvent[] }>(200, "GET", "/v1/audit");
    assert.deepEqual(audit.events.map((e) => e.action).slice(0, 5), [
      "pointer.rollback",
      "pointer.rollback",
      "pointer.activate",
      "pointer.activate",
      "pointer.activate",
    ]);
    assert.deepEqual(audit.events.map((e) => e.action).slice(-4), [
      "version.publish",
      "version.publish",
      "config.put",
      "config.put",
    ]);
    const times = audit.events.map((e) => e.at);
    assert.deepEqual(times, [...times].sort().reverse(), "newest first");
    assert.equal(audit.events.length, 11);

    const keys = TrustedKeysFile.parse(await api.ok(200, "GET", "/v1/keys"));
    assert.deepEqual(keys.keys, [signer.trustedKey]);

    // Activation inlined the (small) content; the rollback did not.
    await waitFor("six notices", () => notices.length === 6);
    const byReason = (reason: string) =>
      notices.filter((n) => n.pointer.reason.startsWith(`${reason} (audit `));
    assert.deepEqual(
      Object.values(byReason("activate v1")[0]!.blobs).map((b) => atob(b)),
      [V1],
    );
    for (const n of byReason("rollback to v1")) assert.deepEqual(n.blobs, {});
    assert.ok(Subjects.notify("us-east", "payments.limits"));
    sub.unsubscribe();
  },
);

controlTest("healthz and openapi.json need no token", async ({ api }) => {
  const health = await api.ok<{ ok: boolean; nats: { connected: boolean } }>(
    200,
    "GET",
    "/healthz",
    { token: null },
  );
  assert.equal(health.ok, true);
  assert.equal(health.nats.connected, true);
  const doc = await api.ok<{ openapi: string }>(200, "GET", "/openapi.json", { token: null });
  assert.equal(doc.openapi, "3.1.0");
});

controlTest("an unknown route is a JSON 404", async ({ api }) => {
  const res = await api.call("GET", "/v1/nothing-here");
  assert.equal(res.status, 404);
  assert.equal((res.json as { error: { code: string } }).error.code, "not_found");
});
