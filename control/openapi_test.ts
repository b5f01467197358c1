import assert from "node:assert/strict";
import { controlTest } from "./testing.ts";

interface Operation {
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema: { properties?: object; additionalProperties?: unknown } }>;
  };
  responses: Record<string, { headers?: Record<string, unknown>; content?: object }>;
  parameters?: { name: string; in: string; required?: boolean; schema: { pattern?: string } }[];
  tags?: string[];
  summary?: string;
}
type Doc = {
  openapi: string;
  servers?: unknown[];
  tags?: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
};

async function documentOf(api: { ok<T>(s: number, m: string, p: string, o?: object): Promise<T> }) {
  return await api.ok<Doc>(200, "GET", "/openapi.json", { token: null });
}

controlTest("openapi.json lists every route the app serves, and nothing else", async ({
  app,
  api,
}) => {
  const served = new Set(
    app.routes.filter((r) => r.method !== "ALL")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
  );
  const doc = await documentOf(api);
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`)
    ),
  );
  assert.deepEqual([...served].sort(), [...documented].sort());
  assert.equal(served.size, 42);
  assert.equal(doc.openapi, "3.1.0");
  assert.ok(doc.servers?.length, "servers");
  assert.ok((doc.tags ?? []).some((t) => t.name === "Rollouts"), "tags");
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(op.summary && op.tags?.length, `${method} ${path} has a summary and a tag`);
    }
  }
});

controlTest("openapi.json documents bodies, parameters, limits and errors", async ({ api }) => {
  const doc = await documentOf(api);
  const publish = doc.paths["/v1/configs/{name}/versions"]!.post!;
  assert.equal(publish.requestBody!.required, true);
  const body = publish.requestBody!.content["application/json"]!.schema;
  assert.ok("content" in (body.properties ?? {}));
  assert.equal(body.additionalProperties, false, "unknown fields are refused");
  assert.deepEqual(Object.keys(publish.responses).sort(), [
    "201",
    "400",
    "401",
    "403",
    "404",
    "405",
    "409",
    "413",
    "415",
    "422",
    "500",
    "503",
  ]);
  assert.ok(publish.responses["503"]!.headers?.["Retry-After"], "Retry-After documented");
  assert.ok(publish.responses["401"]!.headers?.["WWW-Authenticate"], "WWW-Authenticate");
  assert.ok(
    publish.parameters!.some((p) => p.in === "header" && p.name === "idempotency-key"),
    "Idempotency-Key documented",
  );
  const name = publish.parameters!.find((p) => p.in === "path" && p.name === "name")!;
  assert.equal(name.required, true);
  assert.match(name.schema.pattern ?? "", /a-z0-9/, "the name pattern is in the document");

  // Optional bodies are not marked required.
  assert.equal(doc.paths["/v1/configs/{name}/rollback"]!.post!.requestBody!.required, false);
  assert.equal(doc.paths["/v1/configs/{name}"]!.put!.requestBody!.required, false);

  const diff = doc.paths["/v1/configs/{name}/diff"]!.get!;
  assert.deepEqual(diff.parameters!.map((p) => `${p.in}:${p.name}`).sort(), [
    "path:name",
    "query:from",
    "query:to",
  ]);
  assert.ok(doc.paths["/v1/configs/{name}/diff"]!.get!.responses["200"]!.content);
  const content = doc.paths["/v1/configs/{name}/versions/{version}/content"]!.get!;
  assert.deepEqual(Object.keys(content.responses["200"]!.content ?? {}).sort(), [
    "application/json",
    "application/yaml",
    "text/plain",
  ]);
  assert.ok(content.responses["200"]!.headers?.["ETag"], "ETag documented");
  assert.ok(content.responses["304"], "304 documented");

  const start = doc.paths["/v1/configs/{name}/rollouts"]!.post!;
  const startBody = JSON.stringify(start.requestBody!.content["application/json"]!.schema);
  assert.match(startBody, /canaryPercent/);
  assert.match(JSON.stringify(start), /exactly one of `strategy` or `stages`/);
  const list = doc.paths["/v1/configs"]!.get!;
  assert.deepEqual(list.parameters!.map((p) => p.name).sort(), ["cursor", "limit"]);
});
