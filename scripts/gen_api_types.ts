/**
 * Generates `cli/api.gen.ts`, the TypeScript types of the control plane's API, from the
 * OpenAPI document the routes themselves define (`openapi-typescript`). The CLI imports no
 * server code; it types its requests with these, and `tests/api_types_test.ts` fails when
 * the file is older than the routes.
 *
 * Usage: `deno task gen:api` (writes the file), `deno task gen:api --check` (exit 1 if stale).
 *
 * @module
 */
import openapiTS, { astToString } from "openapi-typescript";
import { apiDocument } from "@atlas/control";

/** Where the generated types live. */
export const API_TYPES_FILE = new URL("../cli/api.gen.ts", import.meta.url);

const HEADER = `/**
 * The control plane's API as TypeScript types, generated from its OpenAPI document.
 * Do not edit: run \`deno task gen:api\` after changing a route.
 *
 * @module
 */
// deno-fmt-ignore-file
// deno-lint-ignore-file
`;

/** The text `cli/api.gen.ts` must hold for the routes as they are now. */
export async function apiTypesSource(): Promise<string> {
  const ast = await openapiTS(apiDocument() as Parameters<typeof openapiTS>[0]);
  return HEADER + astToString(ast);
}

if (import.meta.main) {
  const fresh = await apiTypesSource();
  const path = API_TYPES_FILE.pathname;
  if (Deno.args.includes("--check")) {
    const current = await Deno.readTextFile(path).catch(() => "");
    if (current !== fresh) {
      console.error(`${path} is stale: run \`deno task gen:api\``);
      Deno.exit(1);
    }
    console.log(`${path} is fresh`);
  } else {
    await Deno.writeTextFile(path, fresh);
    console.log(`wrote ${path} (${fresh.length} bytes)`);
  }
}
