/**
 * Routes of the API tokens, each defined once with `@hono/zod-openapi` (see routes.ts):
 * list, create (the secret is in this answer and nowhere else) and revoke. Every one
 * requires a token with role admin (auth.ts).
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { Role, TokenInfo, TokenName } from "@atlas/core";
import { subApp } from "./routes.ts";
import { errorResponses, jsonBody, jsonRequest, jsonResponse, WRITE_ERRORS } from "./route_kit.ts";
import type { ControlEnv } from "./route_kit.ts";
import { createToken, listTokens, revokeTokenAs, type TokenDeps } from "./tokens.ts";

const TAGS = ["Tokens"];

/** Body of `POST /v1/tokens`. */
export const CreateTokenBody = z.strictObject({
  name: TokenName.describe("who the token is: the audit actor and version author"),
  role: z.enum([Role.admin, Role.reader]).describe("admin: anything; reader: reads only"),
  ttlSeconds: z.number().int().positive().max(10 * 365 * 86_400).optional()
    .describe("the token stops working this many seconds after its creation (default: never)"),
});

/** Answer of `POST /v1/tokens`. */
export const CreatedToken = z.object({
  token: TokenInfo,
  secret: z.string().describe("send as `Authorization: Bearer <secret>`; shown only this once"),
});

const RefParam = z.strictObject({
  ref: z.string().min(1).max(110).describe("the token's id (tok_…) or name"),
});

/** `/v1/tokens`: API tokens (admin only). */
export function tokenRoutes(deps: TokenDeps): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: TAGS,
      summary: "List tokens (never their secrets or digests)",
      description: "Requires a token with role admin. The tokens file's come first, then " +
        "the API's by creation time, revoked ones included.",
      responses: {
        200: jsonResponse("the tokens", z.object({ tokens: z.array(TokenInfo) })),
        ...errorResponses([400, 401, 403, 405, 500, 503]),
      },
    }),
    async (c) => c.json({ tokens: await listTokens(deps) }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/",
      tags: TAGS,
      summary: "Create a token; its secret is returned once",
      description: "Requires a token with role admin. The secret (256 random bits) is in " +
        "this answer only: Atlas keeps its SHA-256. A name in use by a token that is not " +
        "revoked is a 409. Audited as `token.create`.",
      middleware: [jsonBody(64 * 1024)] as const,
      request: { body: jsonRequest(CreateTokenBody, true, "the token's name and role") },
      responses: {
        201: jsonResponse("the token and its secret", CreatedToken),
        ...errorResponses(WRITE_ERRORS),
      },
    }),
    async (c) => {
      const created = await createToken(deps, c.req.valid("json"), c.var.principal);
      c.header("Cache-Control", "no-store");
      return c.json(created, 201);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/{ref}",
      tags: TAGS,
      summary: "Revoke a token, at once",
      description: "Requires a token with role admin. The token is refused from then on by " +
        "every control plane. Revoking a revoked token answers it as it is; a token of the " +
        "tokens file is a 409 (remove it from the file, then SIGHUP). Audited as `token.revoke`.",
      request: { params: RefParam },
      responses: {
        200: jsonResponse("the revoked token", TokenInfo),
        ...errorResponses(WRITE_ERRORS),
      },
    }),
    async (c) => c.json(await revokeTokenAs(deps, c.req.valid("param").ref, c.var.principal), 200),
  );
  return app;
}
