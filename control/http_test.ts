import assert from "node:assert/strict";
import type { VersionRecord } from "@atlas/core";
import { type Api, controlTest, createConfig, holdLeases, publish } from "./testing.ts";

function errorOf(json: unknown): { code: string; message: string } {
  return (json as { error: { code: string; message: string } }).error;
}

controlTest("invalid names on versions, content and diff are 400, never 500", async ({ api }) => {
  for (const suffix of ["/versions/1", "/versions/1/content", "/diff?from=1&to=2", "/versions"]) {
    const res = await api.call("GET", `/v1/configs/${encodeURIComponent("A b")}${suffix}`);
    assert.equal(res.status, 400, `${suffix}: ${res.text}`);
    assert.match(errorOf(res.json).message, /Invalid config name "A b"/);
  }
  const cases: [string, string, RegExp][] = [
    ["GET", "/v1/rollouts/R_1", /Invalid rollout id/],
    ["POST", "/v1/rollouts/..x/pause", /Invalid rollout id/],
    ["POST", "/v1/agents/US/a1/release", /Invalid region name "US"/],
    ["DELETE", "/v1/agents/us-east/A!", /Invalid agent name "A!"/],
    ["POST", "/v1/alerts/a%2Fb/resolve", /Invalid alert id/],
    ["GET", "/v1/configs/web/versions/0", /Invalid version "0"/],
  ];
  for (const [method, path, message] of cases) {
    const res = await api.call(method, path);
    assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
    assert.match(errorOf(res.json).message, message, path);
  }
  const query = await api.call("GET", "/v1/configs?colour=blue");
  assert.equal(query.status, 400, "unknown query parameters are refused");
  assert.match(errorOf(query.json).message, /colour/);
});

controlTest("HEAD answers GET's headers, unknown methods are 405 with Allow", async ({ api }) => {
  await createConfig(api, "web");
  await publish(api, "web", '{"a": 1}');
  const get = await api.call("GET", "/v1/configs/web/versions/1/content");
  const head = await api.call("HEAD", "/v1/configs/web/versions/1/content");
  assert.equal(head.status, 200);
  assert.equal(head.text, "");
  for (const h of ["content-type", "etag", "x-atlas-version"]) {
    assert.equal(head.headers.get(h), get.headers.get(h), h);
  }
  const patch = await api.call("PATCH", "/v1/configs/web", { body: {} });
  assert.equal(patch.status, 405);
  assert.equal(patch.headers.get("allow"), "GET, HEAD, PUT");
  assert.equal(errorOf(patch.json).code, "method_not_allowed");
  const del = await api.call("DELETE", "/v1/configs");
  assert.equal(del.status, 405);
  assert.equal(del.headers.get("allow"), "GET, HEAD");
  assert.equal((await api.call("GET", "/v1/nothing")).status, 404);
});

controlTest("a body that is not JSON is 415; a missing optional body is fine", async ({ api }) => {
  await createConfig(api, "web");
  for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
    const res = await api.call("POST", "/v1/configs/web/versions", {
      body: "content=x",
      headers: { "Content-Type": type },
    });
    assert.equal(res.status, 415, `${type}: ${res.text}`);
    assert.equal(errorOf(res.json).code, "unsupported_media_type");
    assert.match(errorOf(res.json).message, /application\/json/);
  }
  const noType = await api.app.request("/v1/configs/web/versions", {
    method: "POST",
    headers: { Authorization: "Bearer admin-secret-for-tests" },
    body: '{"content": "x"}',
  });
  assert.equal(noType.status, 415, "a body without Content-Type is not taken for JSON");
  await noType.body?.cancel();
  // PUT of a config takes an optional body: none at all still creates it.
  await api.ok(201, "PUT", "/v1/configs/bare");
});

controlTest("configs, versions and content carry ETags; If-None-Match is 304", async ({ api }) => {
  await createConfig(api, "web");
  await publish(api, "web", '{"a": 1}');
  for (
    const path of [
      "/v1/configs/web",
      "/v1/configs/web/versions/1",
      "/v1/configs/web/versions/1/content",
    ]
  ) {
    const first = await api.call("GET", path);
    const etag = first.headers.get("etag");
    assert.match(etag ?? "", /^".+"$/, path);
    const again = await api.call("GET", path, { headers: { "If-None-Match": etag! } });
    assert.equal(again.status, 304, path);
    assert.equal(again.text, "");
    assert.equal(again.headers.get("etag"), etag);
    const other = await api.call("GET", path, { headers: { "If-None-Match": '"other"' } });
    assert.equal(other.status, 200, path);
  }
});

controlTest("If-Match on a config update is 412 once the config changed", async ({ api }) => {
  const created = await api.call("PUT", "/v1/configs/web", { body: { description: "one" } });
  const etag = created.headers.get("etag")!;
  assert.equal((await api.call("GET", "/v1/configs/web")).headers.get("etag"), etag);
  const updated = await api.call("PUT", "/v1/configs/web", {
    body: { description: "two" },
    headers: { "If-Match": etag },
  });
  assert.equal(updated.status, 200, updated.text);
  assert.notEqual(updated.headers.get("etag"), etag);
  const stale = await api.call("PUT", "/v1/configs/web", {
    body: { description: "three" },
    headers: { "If-Match": etag },
  });
  assert.equal(stale.status, 412);
  assert.equal(errorOf(stale.json).code, "precondition_failed");
  assert.match(errorOf(stale.json).message, /read it again/);
  const config = await api.ok<{ description: string }>(200, "GET", "/v1/configs/web");
  assert.equal(config.description, "two", "the stale update wrote nothing");
  const missing = await api.call("PUT", "/v1/configs/new", {
    body: {},
    headers: { "If-Match": '"config-1"' },
  });
  assert.equal(missing.status, 412, "If-Match on a config that does not exist");
});

async function versions(api: Api): Promise<number[]> {
  const list = await api.ok<{ versions: VersionRecord[] }>(200, "GET", "/v1/configs/web/versions");
  return list.versions.map((v) => v.version);
}

controlTest("a retried publish with the same Idempotency-Key returns the first answer", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web");
  const send = (content: string, key = "key-1") =>
    api.call("POST", "/v1/configs/web/versions", {
      body: { content },
      headers: { "Idempotency-Key": key },
    });
  const first = await send('{"a": 1}');
  assert.equal(first.status, 201);
  const retry = await send('{"a": 1}');
  assert.equal(retry.status, 201);
  assert.equal(retry.text, first.text, "the same answer, byte for byte");
  assert.equal(retry.headers.get("idempotent-replayed"), "true");
  assert.equal(retry.headers.get("etag"), first.headers.get("etag"));
  assert.deepEqual(await versions(api), [1], "published once");

  const other = await send('{"a": 2}');
  assert.equal(other.status, 422);
  assert.match(errorOf(other.json).message, /different request/);
  assert.deepEqual(await versions(api), [1]);

  // A refused request does not hold its key: fixed, it may be sent again with it.
  const bad = await send("{", "key-2");
  assert.equal(bad.status, 400);
  assert.equal((await send('{"a": 3}', "key-2")).status, 201);
  assert.deepEqual(await versions(api), [1, 2]);

  // Bounded by the stream's max_age (2.9 ignores per-key TTLs) and one record per key.
  const info = await nats.jsm.streams.info("KV_atlas_idempotency");
  assert.equal(info.config.max_age, 24 * 60 * 60 * 1e9);
  assert.equal(info.config.max_msgs_per_subject, 1);
});

controlTest("activate, rollback and rollout start honour Idempotency-Key", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web");
  await publish(api, "web", '{"a": 1}');
  await publish(api, "web", '{"a": 2}');
  const post = (path: string, body: unknown, key: string) =>
    api.call("POST", path, { body, headers: { "Idempotency-Key": key } });
  const a = await post("/v1/configs/web/activate", { version: 1 }, "a");
  assert.equal(a.status, 200);
  await api.ok(200, "POST", "/v1/configs/web/activate", { body: { version: 2 } });
  const again = await post("/v1/configs/web/activate", { version: 1 }, "a");
  assert.equal(again.text, a.text, "replayed, not activated again");
  const status = await api.ok<{ regions: { pointer: { version: number } }[] }>(
    200,
    "GET",
    "/v1/configs/web/status",
  );
  assert.deepEqual(status.regions.map((r) => r.pointer.version), [2, 2]);
  const rb = await post("/v1/configs/web/rollback", {}, "rb");
  assert.equal((await post("/v1/configs/web/rollback", {}, "rb")).text, rb.text);

  await holdLeases(nats, ["us-east", "eu-west"]);
  const start = { version: 2, strategy: "immediate" };
  const r1 = await post("/v1/configs/web/rollouts", start, "r");
  assert.equal(r1.status, 201, r1.text);
  const r2 = await post("/v1/configs/web/rollouts", start, "r");
  assert.equal(r2.status, 201, "a retry is not refused as a second rollout");
  assert.equal(r2.text, r1.text);
  const list = await api.ok<{ rollouts: unknown[] }>(200, "GET", "/v1/rollouts");
  assert.equal(list.rollouts.length, 1);
});

controlTest("every list pages with limit and cursor, and keeps its shape without", async ({
  api,
}) => {
  for (const name of ["a", "b", "c", "d", "e"]) await createConfig(api, name);
  const whole = await api.ok<Record<string, unknown>>(200, "GET", "/v1/configs");
  assert.deepEqual(Object.keys(whole), ["configs"], "no limit: today's shape");
  const seen: string[] = [];
  let path = "/v1/configs?limit=2";
  for (let i = 0; i < 5; i++) {
    const res = await api.call("GET", path);
    const page = res.json as { configs: { name: string }[]; next: string | null };
    seen.push(...page.configs.map((c) => c.name));
    if (page.next === null) {
      assert.equal(res.headers.get("link"), null);
      break;
    }
    assert.match(res.headers.get("link") ?? "", /rel="next"/);
    path = `/v1/configs?limit=2&cursor=${page.next}`;
  }
  assert.deepEqual(seen, ["a", "b", "c", "d", "e"]);
  for (const version of [1, 2, 3]) {
    assert.equal(await publish(api, "a", `{"v": ${version}}`), version);
  }
  const v = await api.ok<{ versions: VersionRecord[]; next: string }>(
    200,
    "GET",
    "/v1/configs/a/versions?limit=2",
  );
  assert.deepEqual(v.versions.map((x) => x.version), [1, 2]);
  const v2 = await api.ok<{ versions: VersionRecord[]; next: null }>(
    200,
    "GET",
    `/v1/configs/a/versions?limit=2&cursor=${v.next}`,
  );
  assert.deepEqual(v2.versions.map((x) => x.version), [3]);
  assert.equal(v2.next, null);

  const audit = await api.ok<{ events: { action: string }[]; next: string }>(
    200,
    "GET",
    "/v1/audit?limit=6",
  );
  assert.equal(audit.events.length, 6);
  const older = await api.ok<{ events: { action: string }[]; next: string | null }>(
    200,
    "GET",
    `/v1/audit?limit=6&cursor=${audit.next}`,
  );
  assert.deepEqual(
    [...audit.events, ...older.events].map((e) => e.action),
    [...Array(3).fill("version.publish"), ...Array(5).fill("config.put")],
  );
  assert.equal(older.next, null);
  for (const list of ["/v1/regions", "/v1/agents", "/v1/alerts", "/v1/rollouts"]) {
    const page = await api.ok<Record<string, unknown>>(200, "GET", `${list}?limit=1`);
    assert.ok("next" in page, list);
  }
  const regions = await api.ok<{ regions: { name: string }[]; next: string }>(
    200,
    "GET",
    "/v1/regions?limit=1",
  );
  assert.deepEqual(regions.regions.map((r) => r.name), ["eu-west"]);
  const bad = await api.call("GET", "/v1/configs?limit=2&cursor=nonsense");
  assert.equal(bad.status, 400);
  assert.match(errorOf(bad.json).message, /Invalid cursor/);
});

controlTest("the docs page is served with its bundle, from this control plane", async ({ api }) => {
  const page = await api.call("GET", "/docs", { token: null });
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.match(page.text, /src="\/docs\/swagger-ui-bundle\.js"/);
  assert.doesNotMatch(page.text, /https?:\/\//, "nothing from a CDN");
  const bundle = await api.call("GET", "/docs/swagger-ui-bundle.js", { token: null });
  assert.equal(bundle.status, 200);
  assert.ok(bundle.bytes.byteLength > 100_000);
  assert.match(bundle.text, /SwaggerUIBundle/);
  const init = await api.call("GET", "/docs/init.js", { token: null });
  assert.match(init.text, /\/openapi\.json/);
  const css = await api.call("GET", "/docs/swagger-ui.css", { token: null });
  assert.match(css.headers.get("content-type") ?? "", /text\/css/);
});

controlTest(
  "a bodiless POST sent with a JSON content type counts as an empty body",
  async ({ api }) => {
    // What fetch sends for `{ method: "POST", headers: { "content-type": "application/json" } }`.
    const res = await api.call("POST", "/v1/agents/us-east/a1/release", {
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 404, res.text);
    assert.match(res.text, /not quarantined/);
  },
);
