/**
 * Routes of configs, versions and pointers, each defined once with `@hono/zod-openapi`:
 * the definition validates the request (path, query, body), documents it in
 * `/openapi.json`, and types the handler and a `hono/client` client. One sub-app per
 * resource; `app.ts` mounts them under `/v1` with `app.route()`. Handlers are inline;
 * the logic lives in the modules they call.
 *
 * @module
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { ConfigRecord, VersionRecord } from "@atlas/core";
import {
  ActivateBody,
  ConfigList,
  ConfigNameParam,
  ConfigPutBody,
  ConfigStatus,
  DiffQuery,
  MoveResult,
  PageQuery,
  PublishBody,
  RollbackBody,
  VersionList,
  VersionParam,
} from "./api.ts";
import { listConfigs, putConfig, requireConfig } from "./configs.ts";
import type { ControlContext } from "./context.ts";
import { configStatus } from "./fleet.ts";
import { IDEMPOTENCY_HEADER, type IdempotencyStore, idempotent } from "./idempotency.ts";
import { activate, rollback } from "./pointer_moves.ts";
import {
  checkIfMatch,
  type ControlEnv,
  errorResponses,
  ETAG_HEADER,
  jsonBody,
  jsonRequest,
  jsonResponse,
  jsonResponseWith,
  LINK_HEADER,
  NOT_MODIFIED,
  notModified,
  pageBody,
  paginate,
  READ_ERRORS,
  validationHook,
  WRITE_ERRORS,
} from "./route_kit.ts";
import { diffVersions, getVersion, listVersions, publishVersion, readContent } from "./versions.ts";

export type { ControlEnv } from "./route_kit.ts";

const NameParams = z.strictObject({ name: ConfigNameParam });
const VersionParams = z.strictObject({ name: ConfigNameParam, version: VersionParam });

const IfNoneMatch = z.object({
  "if-none-match": z.string().optional().describe("an ETag from an earlier answer: 304 if current"),
});

/** ETag of a config record: its KV revision (changes with every write). */
export function configETag(revision: number): string {
  return `"config-${revision}"`;
}
/** ETag of a version record (immutable). */
export function versionETag(version: VersionRecord): string {
  return `"v${version.version}-${version.digest}"`;
}

const CONFIGS = ["Configs"];
const VERSIONS = ["Versions"];
const POINTERS = ["Pointers"];

/** A new sub-app with the shared validation hook. */
export function subApp(): OpenAPIHono<ControlEnv> {
  return new OpenAPIHono<ControlEnv>({ defaultHook: validationHook });
}

/** `/v1/configs`: config records, their versions, content and diffs. */
export function configRoutes(
  ctx: ControlContext,
  idempotency: IdempotencyStore,
): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: CONFIGS,
      summary: "List configs, by name",
      request: { query: PageQuery },
      responses: {
        200: jsonResponseWith("configs", ConfigList, LINK_HEADER),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const page = paginate(await listConfigs(ctx), (x) => [x.name], "asc", c.req.valid("query"));
      return c.json(pageBody(c, "configs", page), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/{name}",
      tags: CONFIGS,
      summary: "Create a config, or update the fields given",
      description: "Requires a token with role admin. Omitted fields keep their value. " +
        "`If-Match` with the config's ETag makes the update conditional (412 when it " +
        "changed). A JSON Schema is compiled in ajv's strict mode: an unknown keyword " +
        "(`requried`) is a 422 naming it.",
      middleware: [jsonBody(ctx.maxBodyBytes)] as const,
      request: {
        params: NameParams,
        headers: z.object({
          "if-match": z.string().optional().describe("the ETag the update is based on"),
        }),
        body: jsonRequest(ConfigPutBody, false, "the fields to set; no body creates a JSON config"),
      },
      responses: {
        200: jsonResponseWith("updated", ConfigRecord, ETAG_HEADER),
        201: jsonResponseWith("created", ConfigRecord, ETAG_HEADER),
        ...errorResponses([...WRITE_ERRORS, 412, 422]),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const { config, created, revision } = await putConfig(
        ctx,
        name,
        c.req.valid("json"),
        c.var.principal.name,
        { check: (current) => checkIfMatch(c, current ? configETag(current.revision) : null) },
      );
      c.header("ETag", configETag(revision));
      return c.json(config, created ? 201 : 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/{name}",
      tags: CONFIGS,
      summary: "Read a config",
      request: { params: NameParams, headers: IfNoneMatch },
      responses: {
        200: jsonResponseWith("the config", ConfigRecord, ETAG_HEADER),
        ...NOT_MODIFIED,
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const stored = await requireConfig(ctx, c.req.valid("param").name, { cached: true });
      const etag = configETag(stored.revision);
      const unchanged = notModified(c, etag);
      if (unchanged) return unchanged;
      c.header("ETag", etag);
      return c.json(stored.value, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/{name}/versions",
      tags: VERSIONS,
      summary: "Publish a version (size, parse, schema, store)",
      description: "Requires a token with role admin. `content` as a string is stored " +
        "byte for byte. As a JSON value it is stored pretty-printed, and refused (422) when " +
        "a number in it cannot be stored exactly (`1e400`, `12345678901234567890`): send " +
        "such content as a string. Content nested deeper than 64 levels is a 400. " +
        "`Idempotency-Key` makes a retry return the first answer.",
      middleware: [jsonBody(ctx.maxBodyBytes), idempotent(idempotency, "publish")] as const,
      request: {
        params: NameParams,
        headers: IDEMPOTENCY_HEADER,
        body: jsonRequest(PublishBody, true, "the content and an optional message"),
      },
      responses: {
        201: jsonResponseWith("the signed version record", VersionRecord, ETAG_HEADER),
        ...errorResponses([...WRITE_ERRORS, 422]),
      },
    }),
    async (c) => {
      const { content, message } = c.req.valid("json");
      const version = await publishVersion(ctx, c.req.valid("param").name, {
        content,
        message,
        inexactNumbers: c.var.bodyScan.inexactNumbers,
      }, c.var.principal.name);
      c.header("ETag", versionETag(version));
      return c.json(version, 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/{name}/versions",
      tags: VERSIONS,
      summary: "List versions, ascending",
      request: { params: NameParams, query: PageQuery },
      responses: {
        200: jsonResponseWith("versions", VersionList, LINK_HEADER),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const all = await listVersions(ctx, c.req.valid("param").name);
      const page = paginate(all, (v) => [v.version], "asc", c.req.valid("query"));
      return c.json(pageBody(c, "versions", page), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/{name}/versions/{version}",
      tags: VERSIONS,
      summary: "Read a version record",
      request: { params: VersionParams, headers: IfNoneMatch },
      responses: {
        200: jsonResponseWith("the signed version record", VersionRecord, ETAG_HEADER),
        ...NOT_MODIFIED,
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const { name, version: n } = c.req.valid("param");
      const version = await getVersion(ctx, name, n);
      const etag = versionETag(version);
      const unchanged = notModified(c, etag);
      if (unchanged) return unchanged;
      c.header("ETag", etag);
      return c.json(version, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/{name}/versions/{version}/content",
      tags: VERSIONS,
      summary: "The exact bytes published, re-hashed on read",
      request: { params: VersionParams, headers: IfNoneMatch },
      responses: {
        200: {
          description: "the content, with the config's content type",
          headers: {
            ...ETAG_HEADER,
            "X-Atlas-Version": {
              description: "the version number",
              schema: { type: "integer" as const },
            },
          },
          content: {
            "application/json": { schema: z.unknown() },
            "application/yaml": { schema: z.string() },
            "text/plain": { schema: z.string() },
          },
        },
        ...NOT_MODIFIED,
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const { name, version: n } = c.req.valid("param");
      const version = await getVersion(ctx, name, n);
      const etag = `"sha256-${version.digest}"`;
      const unchanged = notModified(c, etag);
      if (unchanged) return unchanged;
      const bytes = await readContent(ctx, version);
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": version.contentType,
        "ETag": etag,
        "X-Atlas-Version": String(version.version),
      });
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/{name}/diff",
      tags: VERSIONS,
      summary: "Unified diff between two versions",
      request: { params: NameParams, query: DiffQuery },
      responses: {
        200: {
          description: "unified diff",
          content: { "text/plain": { schema: z.string() } },
        },
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const { from, to } = c.req.valid("query");
      const patch = await diffVersions(ctx, c.req.valid("param").name, from, to);
      return c.text(patch, 200, { "Content-Type": "text/plain; charset=utf-8" });
    },
  );
  return app;
}

/** `/v1/configs/{name}/{activate,rollback,status}`: moving and watching pointers. */
export function pointerRoutes(
  ctx: ControlContext,
  idempotency: IdempotencyStore,
): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "post",
      path: "/{name}/activate",
      tags: POINTERS,
      summary: "Make a version active now in some or all regions",
      description: "Requires a token with role admin. `Idempotency-Key` makes a retry " +
        "return the first answer.",
      middleware: [jsonBody(ctx.maxBodyBytes), idempotent(idempotency, "activate")] as const,
      request: {
        params: NameParams,
        headers: IDEMPOTENCY_HEADER,
        body: jsonRequest(ActivateBody, true, "the version, and optionally the regions"),
      },
      responses: {
        200: jsonResponse("what moved where", MoveResult),
        202: jsonResponse(
          "moved where reachable; unreachable regions deferred to a rollout",
          MoveResult,
        ),
        ...errorResponses([...WRITE_ERRORS, 422]),
      },
    }),
    async (c) => {
      const result = await activate(
        ctx,
        c.req.valid("param").name,
        c.req.valid("json"),
        c.var.principal.name,
      );
      return c.json(result, result.deferred.length ? 202 : 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/{name}/rollback",
      tags: POINTERS,
      summary: "Move back to the prior (or a named) version",
      description: "Requires a token with role admin. `Idempotency-Key` makes a retry " +
        "return the first answer.",
      middleware: [jsonBody(ctx.maxBodyBytes), idempotent(idempotency, "rollback")] as const,
      request: {
        params: NameParams,
        headers: IDEMPOTENCY_HEADER,
        body: jsonRequest(RollbackBody, false, "optional regions and target version"),
      },
      responses: {
        200: jsonResponse("what moved where", MoveResult),
        ...errorResponses([...WRITE_ERRORS, 422]),
      },
    }),
    async (c) => {
      const name = c.req.valid("param").name;
      return c.json(await rollback(ctx, name, c.req.valid("json"), c.var.principal.name), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/{name}/status",
      tags: POINTERS,
      summary: "Pointer and agents per region",
      request: { params: NameParams },
      responses: {
        200: jsonResponse("status per region", ConfigStatus),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => c.json(await configStatus(ctx, c.req.valid("param").name), 200),
  );
  return app;
}
