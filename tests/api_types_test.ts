import assert from "node:assert/strict";
import { API_TYPES_FILE, apiTypesSource } from "../scripts/gen_api_types.ts";

Deno.test("cli/api.gen.ts matches the routes (else run `deno task gen:api`)", async () => {
  const current = await Deno.readTextFile(API_TYPES_FILE);
  const fresh = await apiTypesSource();
  assert.ok(
    current === fresh,
    "cli/api.gen.ts is older than the routes: run `deno task gen:api` and commit the file",
  );
});
