import assert from "node:assert/strict";
import { openApiDocument } from "./openapi.ts";
import { controlTest } from "./testing.ts";

interface Operation {
  requestBody?: { content: { "application/json": { schema: { properties?: object } } } };
  responses: Record<string, unknown>;
  parameters?: { name: string; in: string }[];
}

controlTest("openapi.json lists every route the app serves, and nothing else", async ({ app }) => {
  const served = new Set(
    app.routes.filter((r) => r.method !== "ALL")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
  );
  const doc = openApiDocument() as { paths: Record<string, Record<string, Operation>> };
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`)
    ),
  );
  assert.deepEqual([...served].sort(), [...documented].sort());
  assert.equal(served.size, 29);
  const res = await app.request("/openapi.json");
  assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(doc)));
});

Deno.test("openapi.json documents bodies, parameters and errors", () => {
  const doc = openApiDocument() as { paths: Record<string, Record<string, Operation>> };
  const publish = doc.paths["/v1/configs/{name}/versions"]!.post!;
  const body = publish.requestBody!.content["application/json"].schema;
  assert.ok("content" in (body.properties ?? {}));
  assert.deepEqual(Object.keys(publish.responses).sort(), [
    "201",
    "400",
    "401",
    "403",
    "404",
    "409",
    "413",
    "422",
    "500",
    "503",
  ]);
  const diff = doc.paths["/v1/configs/{name}/diff"]!.get!;
  assert.deepEqual(diff.parameters!.map((p) => `${p.in}:${p.name}`), [
    "path:name",
    "query:from",
    "query:to",
  ]);
  JSON.stringify(doc);
});
