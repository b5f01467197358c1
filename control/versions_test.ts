import assert from "node:assert/strict";
import { type AtlasNats, blobMetaSubject, readKv, type Stored } from "@atlas/store";
import {
  blobName,
  Buckets,
  ConfigRecord,
  sha256Hex,
  type Signer,
  Streams,
  VersionRecord,
} from "@atlas/core";
import { type Api, controlTest, createConfig, publish } from "./testing.ts";
import { type ControlContext, createContext } from "./context.ts";
import { NotFoundError, SchemaViolationError } from "./errors.ts";
import { publishVersion } from "./versions.ts";

const SCHEMA = {
  type: "object",
  required: ["port"],
  properties: { port: { type: "integer", minimum: 1, maximum: 65535 } },
};

/** What publishing may change: the config's latest version, the versions, the blobs. */
async function stored(api: Api, nats: AtlasNats, name: string) {
  const config = await api.ok<{ latestVersion: number }>(200, "GET", `/v1/configs/${name}`);
  const { versions } = await api.ok<{ versions: VersionRecord[] }>(
    200,
    "GET",
    `/v1/configs/${name}/versions`,
  );
  const blobs = await nats.jsm.streams.info(`OBJ_${Buckets.blobs}`);
  return {
    latestVersion: config.latestVersion,
    versions: versions.map((v) => v.version),
    blobMessages: blobs.state.messages,
  };
}

function errorOf(json: unknown): { code: string; message: string; details?: unknown } {
  return (json as { error: { code: string; message: string; details?: unknown } }).error;
}

controlTest("bad publishes are refused with their status and store nothing", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web", { schema: SCHEMA });
  await publish(api, "web", '{"port": 80}\n');
  const before = await stored(api, nats, "web");
  assert.deepEqual(before.versions, [1]);

  const cases: [string, number, string, BodyInit | Record<string, unknown>, RegExp][] = [
    ["malformed JSON body", 400, "invalid_request", '{"content": ', /Malformed JSON body/],
    ["body without content", 400, "invalid_request", { message: "x" }, /content/],
    ["unknown body field", 400, "invalid_request", { content: "{}", extra: 1 }, /extra/],
    ["malformed JSON content", 400, "invalid_request", { content: '{"port": ' }, /Malformed JSON/],
    ["schema violation", 422, "schema_violation", { content: '{"port": 0}' }, /\/port/],
    ["oversize content", 413, "payload_too_large", { content: "x".repeat(2049) }, /2049.*2048/],
    [
      "oversize request body",
      413,
      "payload_too_large",
      JSON.stringify({ content: "x".repeat(70_000) }),
      /over the limit/,
    ],
  ];
  for (const [what, status, code, body, message] of cases) {
    const res = await api.call("POST", "/v1/configs/web/versions", { body });
    assert.equal(res.status, status, `${what}: ${res.text}`);
    assert.equal(errorOf(res.json).code, code, what);
    assert.match(errorOf(res.json).message, message, what);
    assert.deepEqual(await stored(api, nats, "web"), before, `${what} stored something`);
  }

  const violation = await api.call("POST", "/v1/configs/web/versions", {
    body: { content: { port: "eighty", extra: true } },
  });
  assert.equal(violation.status, 422);
  assert.deepEqual(errorOf(violation.json).details, [
    { path: "/port", message: "must be integer" },
  ]);
  assert.deepEqual(await stored(api, nats, "web"), before);
}, { maxContentBytes: 2048 });

controlTest("a request body over the cap is refused from its Content-Length", async ({ app }) => {
  const res = await app.request("/v1/configs/web/versions", {
    method: "POST",
    headers: {
      Authorization: "Bearer admin-secret-for-tests",
      "Content-Length": String(10 * 1024 * 1024),
    },
    body: "{}",
  });
  assert.equal(res.status, 413);
  assert.match(await res.text(), /10485760 bytes is over the limit/);
});

controlTest("publishing to an unknown config is 404 and stores no blob", async ({ api, nats }) => {
  const blobs = async () => (await nats.jsm.streams.info(`OBJ_${Buckets.blobs}`)).state.messages;
  const before = await blobs();
  const res = await api.call("POST", "/v1/configs/nope/versions", { body: { content: "x" } });
  assert.equal(res.status, 404);
  assert.equal(errorOf(res.json).code, "not_found");
  assert.match(errorOf(res.json).message, /configs create nope/);
  assert.equal(await blobs(), before);
});

controlTest("bad names in the path are 400, URL-encoded or not", async ({ api }) => {
  for (const path of ["../x", "a b", ">", "A", "a..b"]) {
    const encoded = encodeURIComponent(path);
    for (
      const [method, suffix, body] of [
        ["POST", "/versions", { content: "x" }],
        ["PUT", "", {}],
        ["GET", "", undefined],
        ["GET", "/status", undefined],
      ] as const
    ) {
      const res = await api.call(method, `/v1/configs/${encoded}${suffix}`, { body });
      assert.equal(res.status, 400, `${method} ${encoded}${suffix}: ${res.text}`);
      assert.match(errorOf(res.json).message, /Invalid config name/);
    }
  }
  const res = await api.call("PUT", "/v1/regions/a%20b");
  assert.equal(res.status, 400);
  assert.equal((await api.ok<{ configs: [] }>(200, "GET", "/v1/configs")).configs.length, 0);
});

controlTest("a version number that is not a positive integer is 400", async ({ api }) => {
  await createConfig(api, "web");
  for (const v of ["0", "-1", "x", "1.5"]) {
    const res = await api.call("GET", `/v1/configs/web/versions/${v}`);
    assert.equal(res.status, 400, v);
  }
  assert.equal((await api.call("GET", "/v1/configs/web/versions/7")).status, 404);
  assert.equal((await api.call("GET", "/v1/configs/web/diff?from=1")).status, 400);
});

controlTest("an invalid JSON Schema is refused on PUT and nothing is stored", async ({ api }) => {
  const res = await api.call("PUT", "/v1/configs/web", { body: { schema: { type: "nope" } } });
  assert.equal(res.status, 400);
  assert.match(errorOf(res.json).message, /Invalid JSON Schema/);
  assert.equal((await api.call("GET", "/v1/configs/web")).status, 404);
  const text = await api.call("PUT", "/v1/configs/notes", {
    body: { contentType: "text/plain", schema: { type: "object" } },
  });
  assert.equal(text.status, 400);
});

controlTest("the content type of a config with versions cannot change", async ({ api }) => {
  await createConfig(api, "web", { contentType: "application/yaml" });
  await api.ok(200, "PUT", "/v1/configs/web", { body: { contentType: "text/plain" } });
  await publish(api, "web", "plain text");
  const res = await api.call("PUT", "/v1/configs/web", {
    body: { contentType: "application/json" },
  });
  assert.equal(res.status, 409);
  assert.match(errorOf(res.json).message, /1 version\(s\) of type text\/plain/);
});

controlTest("YAML content is parsed and checked against the schema", async ({ api }) => {
  await createConfig(api, "svc", { contentType: "application/yaml", schema: SCHEMA });
  assert.equal(await publish(api, "svc", "port: 8080\n"), 1);
  const bad = await api.call("POST", "/v1/configs/svc/versions", {
    body: { content: "port: [1\n" },
  });
  assert.equal(bad.status, 400);
  assert.match(errorOf(bad.json).message, /Malformed YAML/);
  const violates = await api.call("POST", "/v1/configs/svc/versions", {
    body: { content: "port: 0\n" },
  });
  assert.equal(violates.status, 422);
  const notString = await api.call("POST", "/v1/configs/svc/versions", {
    body: { content: { port: 1 } },
  });
  assert.equal(notString.status, 400);
  assert.match(errorOf(notString.json).message, /must be a string/);
  const content = await api.call("GET", "/v1/configs/svc/versions/1/content");
  assert.equal(content.headers.get("content-type"), "application/yaml");
  assert.equal(content.text, "port: 8080\n");
});

controlTest("identical content is stored once and bytes come back exactly", async ({
  api,
  nats,
}) => {
  await createConfig(api, "notes", { contentType: "text/plain" });
  const text = "no final newline \u00e9\r\n\ttabs  ";
  await publish(api, "notes", text);
  const after1 = await nats.jsm.streams.info(`OBJ_${Buckets.blobs}`);
  await publish(api, "notes", text);
  const after2 = await nats.jsm.streams.info(`OBJ_${Buckets.blobs}`);
  assert.equal(after2.state.messages, after1.state.messages);
  const res = await api.call("GET", "/v1/configs/notes/versions/2/content");
  assert.deepEqual(res.bytes, new TextEncoder().encode(text));
});

controlTest(
  "content whose stored bytes no longer match the digest is a 500 integrity_error",
  async ({
    api,
    nats,
  }) => {
    await createConfig(api, "notes", { contentType: "text/plain" });
    await publish(api, "notes", "original");
    const blobs = await nats.blobs();
    await blobs.putBlob(
      { name: blobName(sha256Hex("original")) },
      new TextEncoder().encode("evil"),
    );
    const res = await api.call("GET", "/v1/configs/notes/versions/1/content");
    assert.equal(res.status, 500);
    assert.equal(errorOf(res.json).code, "integrity_error");
    assert.match(errorOf(res.json).message, /not to its recorded digest/);
  },
);

controlTest("concurrent publishers get distinct, gapless versions and lose nothing", async ({
  api,
}) => {
  await createConfig(api, "hot", { contentType: "text/plain" });
  const publisher = (who: string) =>
    Promise.all(Array.from({ length: 10 }, (_, i) => publish(api, "hot", `${who} ${i}`)));
  const [a, b] = await Promise.all([publisher("a"), publisher("b")]);
  const numbers = [...a, ...b].sort((x, y) => x - y);
  assert.deepEqual(numbers, Array.from({ length: 20 }, (_, i) => i + 1));
  const { versions } = await api.ok<{ versions: VersionRecord[] }>(
    200,
    "GET",
    "/v1/configs/hot/versions",
  );
  assert.deepEqual(versions.map((v) => v.version), numbers);
  const contents = await Promise.all(
    numbers.map(async (n) => (await api.call("GET", `/v1/configs/hot/versions/${n}/content`)).text),
  );
  const expected = ["a", "b"].flatMap((w) => Array.from({ length: 10 }, (_, i) => `${w} ${i}`));
  assert.deepEqual(contents.sort(), expected.sort());
  const config = await api.ok<{ latestVersion: number }>(200, "GET", "/v1/configs/hot");
  assert.equal(config.latestVersion, 20);
});

controlTest("versions of a dotted config are not mixed with a config below it", async ({ api }) => {
  await createConfig(api, "a", { contentType: "text/plain" });
  await createConfig(api, "a.b", { contentType: "text/plain" });
  await publish(api, "a", "one");
  await publish(api, "a.b", "two");
  await publish(api, "a.b", "three");
  const list = (name: string) =>
    api.ok<{ versions: VersionRecord[] }>(200, "GET", `/v1/configs/${name}/versions`);
  assert.deepEqual((await list("a")).versions.map((v) => [v.config, v.version]), [["a", 1]]);
  assert.deepEqual((await list("a.b")).versions.map((v) => v.version), [1, 2]);
});

controlTest(
  "a publish whose blob cannot be stored creates no version and leaves no intent",
  async ({
    api,
    nats,
  }) => {
    await createConfig(api, "web");
    await publish(api, "web", '{"a":1}');
    // Something that is not object store metadata where the blob's metadata would go: the
    // blob store refuses (while the audit intent is being written at the same time).
    const content = '{"a":2}';
    const name = blobName(sha256Hex(new TextEncoder().encode(content)));
    await nats.publisher.publish(blobMetaSubject(name), "not object store metadata");
    const before = await stored(api, nats, "web");
    const res = await api.call("POST", "/v1/configs/web/versions", { body: { content } });
    assert.equal(res.status, 500, res.text);
    const after = await stored(api, nats, "web");
    assert.deepEqual(after.versions, before.versions);
    assert.equal(after.latestVersion, before.latestVersion);
    await nats.settled();
    assert.equal((await nats.jsm.streams.info(Streams.intents)).state.messages, 0);
  },
);

/** A context whose in-memory copy of `name` is `copy`, as if the watch had not caught up. */
function withCopy(nats: AtlasNats, signer: Signer, copy: Stored<ConfigRecord>): ControlContext {
  const ctx = createContext({ nats, signer });
  ctx.configs = {
    get: (key: string) => Promise.resolve(key === copy.value.name ? copy : null),
    note: () => {}, // the copy stays stale
  } as unknown as ControlContext["configs"];
  return ctx;
}

async function auditActions(nats: AtlasNats): Promise<string[]> {
  await nats.settled();
  const { state } = await nats.jsm.streams.info(Streams.audit);
  const out: string[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await nats.jsm.streams.getMessage(Streams.audit, { seq });
    out.push((m!.json() as { action: string }).action);
  }
  return out;
}

controlTest(
  "a publish checked against a stale copy of the config is checked again against the stored one",
  async ({ api, nats, signer }) => {
    await createConfig(api, "web");
    const kv = await nats.kv(Buckets.configs);
    const before = (await readKv(kv, "web", ConfigRecord))!;
    // The schema arrives; this control plane's copy has not seen it yet.
    await api.ok(200, "PUT", "/v1/configs/web", { body: { schema: SCHEMA } });
    const ctx = withCopy(nats, signer, before);
    await assert.rejects(
      publishVersion(ctx, "web", { content: '{"port": 0}' }, "alice"),
      (e: unknown) => e instanceof SchemaViolationError && /\/port/.test(String(e)),
    );
    const after = (await readKv(kv, "web", ConfigRecord))!.value;
    assert.equal(after.latestVersion, 0, "no version was created");
    assert.equal(await readKv(await nats.kv(Buckets.versions), "web.1", VersionRecord), null);
    assert.equal((await nats.jsm.streams.info(Streams.intents)).state.messages, 0);
    assert.ok(!(await auditActions(nats)).includes("version.publish"));
    // Content the stored schema accepts is published from the same stale copy.
    const v = await publishVersion(ctx, "web", { content: '{"port": 80}' }, "alice");
    assert.equal(v.version, 1);
  },
);

controlTest(
  "a publish from a copy behind on latestVersion takes the next free number, audited once",
  async ({ api, nats, signer }) => {
    await createConfig(api, "web");
    const kv = await nats.kv(Buckets.configs);
    const behind = (await readKv(kv, "web", ConfigRecord))!;
    await publish(api, "web", '{"a":1}');
    const ctx = withCopy(nats, signer, behind);
    const v = await publishVersion(ctx, "web", { content: '{"a":2}' }, "alice");
    assert.equal(v.version, 2);
    assert.equal((await readKv(kv, "web", ConfigRecord))!.value.latestVersion, 2);
    assert.deepEqual(
      (await auditActions(nats)).filter((a) => a === "version.publish"),
      ["version.publish", "version.publish"],
    );
    assert.equal((await nats.jsm.streams.info(Streams.intents)).state.messages, 0);
  },
);

controlTest("a publish to a config deleted since it was copied is a 404", async ({
  api,
  nats,
  signer,
}) => {
  await createConfig(api, "web");
  const copy = (await readKv(await nats.kv(Buckets.configs), "web", ConfigRecord))!;
  await (await nats.kv(Buckets.configs)).delete("web");
  const ctx = withCopy(nats, signer, copy);
  await assert.rejects(
    publishVersion(ctx, "web", { content: '{"a":1}' }, "alice"),
    (e: unknown) => e instanceof NotFoundError && /configs create web/.test(String(e)),
  );
  assert.equal(await readKv(await nats.kv(Buckets.versions), "web.1", VersionRecord), null);
  await nats.settled();
  assert.equal((await nats.jsm.streams.info(Streams.intents)).state.messages, 0);
});

controlTest(
  "a client reads what it just published and activated: latestVersion and both events",
  async ({ api }) => {
    await createConfig(api, "web");
    for (let n = 1; n <= 3; n++) {
      // latestVersion is raised and the events appended after the reply (store/journal.ts):
      // the reads right after must wait for them.
      const v = await publish(api, "web", `{"n": ${n}}`);
      assert.equal(v, n);
      const config = await api.ok<ConfigRecord>(200, "GET", "/v1/configs/web");
      assert.equal(config.latestVersion, n);
      await api.ok(200, "POST", "/v1/configs/web/activate", {
        body: { version: v, regions: ["us-east"] },
      });
      const { events } = await api.ok<{ events: { action: string; version?: number }[] }>(
        200,
        "GET",
        "/v1/audit?config=web&limit=2",
      );
      assert.deepEqual(events.map((e) => [e.action, e.version]), [
        ["pointer.activate", n],
        ["version.publish", n],
      ]);
    }
  },
);
