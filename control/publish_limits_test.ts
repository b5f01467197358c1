import assert from "node:assert/strict";
import { controlTest, createConfig } from "./testing.ts";

function errorOf(json: unknown): { code: string; message: string } {
  return (json as { error: { code: string; message: string } }).error;
}

controlTest("content nested thousands of levels deep is a 400 naming the limit", async ({
  api,
}) => {
  await createConfig(api, "web");
  await createConfig(api, "y", { contentType: "application/yaml" });
  for (const levels of [5_000, 9_000]) {
    const deep = "[".repeat(levels) + "]".repeat(levels);
    const started = performance.now();
    for (
      const [name, body] of [
        ["web", { content: deep }],
        ["y", { content: deep }],
        ["web", `{"content": ${deep}}`],
      ] as const
    ) {
      const res = await api.call("POST", `/v1/configs/${name}/versions`, { body });
      assert.equal(res.status, 400, `${levels} levels: ${res.text.slice(0, 200)}`);
      assert.match(errorOf(res.json).message, /the limit is 64 levels/);
    }
    assert.ok(performance.now() - started < 2_000, "refused without building anything big");
  }
  // Indentation nests YAML too.
  const block = Array.from({ length: 70 }, (_, i) => `${" ".repeat(i)}k:`).join("\n") + " 1\n";
  const yaml = await api.call("POST", "/v1/configs/y/versions", { body: { content: block } });
  assert.equal(yaml.status, 400, yaml.text);
  assert.match(errorOf(yaml.json).message, /64 levels/);
  const ok = "[".repeat(60) + "]".repeat(60);
  await api.ok(201, "POST", "/v1/configs/web/versions", { body: { content: ok } });
});

controlTest("numbers are stored exactly as sent, or the draft is refused", async ({ api }) => {
  await createConfig(api, "web");
  for (const literal of ["1e400", "12345678901234567890"]) {
    const res = await api.call("POST", "/v1/configs/web/versions", {
      body: `{"content": {"n": ${literal}}}`,
    });
    assert.equal(res.status, 422, `${literal}: ${res.text}`);
    assert.equal(errorOf(res.json).code, "unprocessable");
    assert.match(errorOf(res.json).message, new RegExp(`${literal}.*as a string`));
  }
  // As a string, the operator's bytes are what is stored.
  const text = '{"big": 12345678901234567890, "huge": 1e400, "f": 1.50}\n';
  const v = await api.ok<{ version: number }>(201, "POST", "/v1/configs/web/versions", {
    body: { content: text },
  });
  const stored = await api.call("GET", `/v1/configs/web/versions/${v.version}/content`);
  assert.equal(stored.text, text);
  // A value that survives is still accepted, and stored pretty-printed.
  await api.ok(201, "POST", "/v1/configs/web/versions", { body: `{"content": {"n": 1.5e3}}` });
});

controlTest("a config schema with an unknown keyword is a 422 naming it", async ({ api }) => {
  for (
    const [schema, keyword] of [
      [{ type: "object", requried: ["port"] }, "requried"],
      [{ type: "object", propertes: { port: { type: "integer" } } }, "propertes"],
      [{ type: "object", properties: { port: { type: "integer", minimun: 1 } } }, "minimun"],
    ] as const
  ) {
    const res = await api.call("PUT", "/v1/configs/web", { body: { schema } });
    assert.equal(res.status, 422, res.text);
    assert.match(errorOf(res.json).message, new RegExp(`unknown keyword "${keyword}"`));
  }
  assert.equal((await api.call("GET", "/v1/configs/web")).status, 404, "nothing stored");
  // Strict about keywords, not about types: `required` without `type` is fine.
  await api.ok(201, "PUT", "/v1/configs/web", {
    body: { schema: { required: ["port"], properties: { port: { type: "integer" } } } },
  });
});

controlTest("PUT of a region with a placement it cannot apply is refused, saying why", async ({
  api,
}) => {
  const same = await api.call("PUT", "/v1/regions/us-east", { body: {} });
  assert.equal(same.status, 200);
  const moved = await api.call("PUT", "/v1/regions/us-east", { body: { replicas: 3 } });
  assert.equal(moved.status, 409, moved.text);
  assert.match(errorOf(moved.json).message, /1 replica\(s\), not .*3 replica/);
  const cluster = await api.call("PUT", "/v1/regions/us-east", { body: { cluster: "elsewhere" } });
  assert.equal(cluster.status, 409, cluster.text);
  const asIs = await api.call("PUT", "/v1/regions/us-east", { body: { replicas: 1 } });
  assert.equal(asIs.status, 200, "the placement it has is no conflict");
  const fresh = await api.call("PUT", "/v1/regions/ap-south", { body: { replicas: 3 } });
  assert.equal(fresh.status, 422, fresh.text);
  assert.match(errorOf(fresh.json).message, /cannot be placed .*NATS says/);
});
