/**
 * `/v1/keys`: the trusted keys file agents install, the signed key set, and the key
 * changes (rotate, retire, revoke), each defined once with `@hono/zod-openapi` (see
 * routes.ts). The rules are in core/key_set.ts, the operations in keys.ts.
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { KeySetRecord, KeyStatus, TrustedKeysFile } from "@atlas/core";
import type { ControlContext } from "./context.ts";
import { endKey, keySetOf, rotateKey } from "./keys.ts";
import {
  type ControlEnv,
  errorResponses,
  jsonResponse,
  READ_ERRORS,
  WRITE_ERRORS,
} from "./route_kit.ts";
import { subApp } from "./routes.ts";

const ADMIN = "Requires a token with role admin. Audited.";

/** A key id in a path (`ed25519-` and 16 hex digits). */
export const KeyIdParam = z.string().regex(/^ed25519-[0-9a-f]{16}$/, {
  error: (issue) =>
    `Invalid key id ${JSON.stringify(issue.input)}: key ids look like ` +
    "ed25519-0123456789abcdef (list them with GET /v1/keys/set)",
}).describe("key id");

/** Answer of `POST /v1/keys/rotate`. */
export const RotateResult = z.object({
  keyId: z.string(),
  file: z.string().describe("the new private key: copy it into every coordinator's --key-dir"),
  keySet: KeySetRecord,
});

/** Answer of `POST /v1/keys/{keyId}/retire` and `/revoke`. */
export const EndKeyResult = z.object({
  keySet: KeySetRecord,
  resigned: z.object({ versions: z.number().int(), pointers: z.number().int() }),
});

/** `/v1/keys`: trusted keys, the key set and its changes. */
export function keyRoutes(ctx: ControlContext): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["Keys"],
      summary: "Trusted keys file for agents (the active keys of the key set)",
      responses: {
        200: jsonResponse("trusted keys", TrustedKeysFile),
        ...errorResponses(READ_ERRORS),
      },
    }),
    (c) => c.json({ keys: ctx.trustedKeys }, 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/set",
      tags: ["Keys"],
      summary: "The signed key set in force: every key, its status, the signing key",
      responses: {
        200: jsonResponse("the key set", KeySetRecord),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => c.json(await keySetOf(ctx), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/rotate",
      tags: ["Keys"],
      summary: "Make a new signing key and sign with it (the old one stays trusted)",
      description: `${ADMIN} The new key set is signed by the key in force and announced ` +
        "to agents before anything is signed with the new key.",
      responses: {
        201: jsonResponse("the new key and key set", RotateResult),
        ...errorResponses([...WRITE_ERRORS, 422]),
      },
    }),
    async (c) => c.json(await rotateKey(ctx, c.var.principal.name), 201),
  );
  for (const status of [KeyStatus.retired, KeyStatus.revoked] as const) {
    const verb = status === KeyStatus.retired ? "retire" : "revoke";
    app.openapi(
      createRoute({
        method: "post",
        path: `/{keyId}/${verb}`,
        tags: ["Keys"],
        summary: status === KeyStatus.retired
          ? "Retire a key: re-sign what it signed with the signing key, then stop trusting it"
          : "Revoke a key (compromised): stop trusting it at once; nothing is re-signed",
        description: `${ADMIN} 409 for the signing key (rotate first) or a key already ` +
          `${status}.`,
        request: { params: z.strictObject({ keyId: KeyIdParam }) },
        responses: {
          200: jsonResponse(`the key set with the key ${status}`, EndKeyResult),
          ...errorResponses(WRITE_ERRORS),
        },
      }),
      async (c) =>
        c.json(await endKey(ctx, c.req.valid("param").keyId, status, c.var.principal.name), 200),
    );
  }
  return app;
}
