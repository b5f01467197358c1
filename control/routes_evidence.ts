/**
 * `GET /v1/configs/{name}/versions/{version}/evidence`: the hosts that ran a version at a
 * time, from signed, verified acks (see evidence.ts), defined with `@hono/zod-openapi`.
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { ConfigNameParam, Evidence, EvidenceQuery, VersionParam } from "./api.ts";
import type { ControlContext } from "./context.ts";
import { versionEvidence } from "./evidence.ts";
import { type ControlEnv, errorResponses, jsonResponse, READ_ERRORS } from "./route_kit.ts";
import { subApp } from "./routes.ts";

const VersionParams = z.strictObject({ name: ConfigNameParam, version: VersionParam });

/** The evidence route, mounted under `/v1/configs`. */
export function evidenceRoutes(ctx: ControlContext): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "get",
      path: "/{name}/versions/{version}/evidence",
      tags: ["Pointers"],
      summary: "Which hosts ran a version at a time, proven by signed acks",
      description: "A host ran the version at `at` when its newest `applied` ack stored by " +
        "then is for it and is signed by the host's enrolled key. Acks that do not verify " +
        "are counted in `unverified`, never used. Reaches back as far as the acks stream " +
        "keeps acks (30 days).",
      request: { params: VersionParams, query: EvidenceQuery },
      responses: {
        200: jsonResponse("the hosts, each with its signed ack", Evidence),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const { name, version } = c.req.valid("param");
      const query = c.req.valid("query");
      const evidence = await versionEvidence(ctx, name, version, {
        ...(query.at === undefined ? {} : { at: query.at }),
        ...(query.region === undefined ? {} : { region: query.region }),
      });
      return c.json(evidence, 200);
    },
  );
  return app;
}
