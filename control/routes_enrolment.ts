/**
 * Routes of agent enrolment, each defined once with `@hono/zod-openapi` (see routes.ts):
 * issuing an agent's NATS credentials and revoking them. Mounted at `/v1/agents`.
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { AgentIdParam, RegionNameParam } from "./api.ts";
import type { ControlContext } from "./context.ts";
import {
  enrolAgent,
  type EnrolmentAuth,
  EnrolResult,
  revokeAgent,
  RevokeResult,
} from "./enrolment.ts";
import { type ControlEnv, errorResponses, jsonResponse, WRITE_ERRORS } from "./route_kit.ts";
import { subApp } from "./routes.ts";

const AgentParams = z.strictObject({ region: RegionNameParam, id: AgentIdParam });
const ADMIN = "Requires a token with role admin.";

/** `/v1/agents/{region}/{id}/credentials`: enrol (POST) and revoke (DELETE) an agent. */
export function enrolmentRoutes(
  ctx: ControlContext,
  auth: EnrolmentAuth | undefined,
): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "post",
      path: "/{region}/{id}/credentials",
      tags: ["Agents"],
      summary: "Enrol an agent: NATS credentials (.creds) for exactly that agent",
      description: `${ADMIN} Each call issues a new key; earlier ones stay valid until ` +
        "revoked. 409 when the control plane was started without --auth-dir.",
      request: { params: AgentParams },
      responses: {
        201: jsonResponse("the agent's credentials (secret)", EnrolResult),
        ...errorResponses(WRITE_ERRORS),
      },
    }),
    async (c) => {
      const { region, id } = c.req.valid("param");
      return c.json(await enrolAgent(ctx, auth, region, id, c.var.principal.name), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/{region}/{id}/credentials",
      tags: ["Agents"],
      summary: "Revoke every NATS credential of an agent; the servers drop it within seconds",
      description: `${ADMIN} 404 when none of its credentials is in force.`,
      request: { params: AgentParams },
      responses: {
        200: jsonResponse("the keys revoked", RevokeResult),
        ...errorResponses(WRITE_ERRORS),
      },
    }),
    async (c) => {
      const { region, id } = c.req.valid("param");
      return c.json(await revokeAgent(ctx, auth, region, id, c.var.principal.name), 200);
    },
  );
  return app;
}
