import assert from "node:assert/strict";
import { encodeContent, parseContent, SchemaValidators } from "./content.ts";
import { InvalidRequestError, SchemaViolationError } from "./errors.ts";

Deno.test("content strings keep their bytes; JSON values are pretty-printed", () => {
  const text = "a\r\nb\u00e9";
  assert.deepEqual(encodeContent(text, "text/plain"), new TextEncoder().encode(text));
  assert.equal(
    new TextDecoder().decode(encodeContent({ a: [1] }, "application/json")),
    '{\n  "a": [\n    1\n  ]\n}\n',
  );
  assert.throws(() => encodeContent({ a: 1 }, "application/yaml"), InvalidRequestError);
});

Deno.test("malformed JSON and YAML are request errors with the parser's message", () => {
  assert.throws(() => parseContent("{", "application/json"), /Malformed JSON content: /);
  assert.throws(() => parseContent("a: [", "application/yaml"), /Malformed YAML content: /);
  assert.equal(parseContent("anything {", "text/plain"), undefined);
  assert.deepEqual(parseContent("a: 1", "application/yaml"), { a: 1 });
});

Deno.test("schema validation lists every issue and supports formats and 2020-12", () => {
  const validators = new SchemaValidators();
  const schema = {
    type: "object",
    properties: { email: { type: "string", format: "email" }, n: { type: "integer" } },
  };
  validators.validate(schema, { email: "a@b.co", n: 1 });
  assert.throws(
    () => validators.validate(schema, { email: "nope", n: "x" }),
    (e: unknown) =>
      e instanceof SchemaViolationError &&
      e.details.map((d) => d.path).join() === "/email,/n",
  );
  validators.validate({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    prefixItems: [{ type: "number" }],
  }, [1]);
  assert.throws(() => validators.compile({ type: 12 }), /Invalid JSON Schema/);
});

Deno.test("compiled schemas are cached and the oldest evicted", () => {
  const validators = new SchemaValidators({ maxCached: 2 });
  const a = validators.compile({ type: "string" });
  assert.equal(validators.compile({ type: "string" }), a);
  validators.compile({ type: "number" });
  validators.compile({ type: "boolean" });
  assert.notEqual(validators.compile({ type: "string" }), a);
});
