/**
 * The OpenAPI 3.1 document of the control plane API, generated from the route table
 * below and the zod schemas of `api.ts` (with `z.toJSONSchema`). A test checks that every
 * route the app serves is in the table.
 *
 * @module
 */
import { z } from "zod";
import {
  AlertRecord,
  ConfigRecord,
  RegionRecord,
  RolloutRecord,
  TrustedKeysFile,
  VersionRecord,
} from "@atlas/nats";
import {
  ActivateBody,
  AgentList,
  AgentsQuery,
  AlertList,
  AlertsQuery,
  AuditList,
  AuditQuery,
  ConfigList,
  ConfigPutBody,
  ConfigStatus,
  DiffQuery,
  ErrorBody,
  Health,
  MoveResult,
  PublishBody,
  RegionBody,
  RegionList,
  ReleaseBody,
  ReleaseResult,
  RemoveAgentQuery,
  RemoveResult,
  ResolveAlertBody,
  RollbackBody,
  RolloutActionBody,
  RolloutList,
  RolloutsQuery,
  RolloutView,
  StartRolloutBody,
  VersionList,
} from "./api.ts";
import { RolloutAction } from "./rollouts.ts";

/** Who may call a route. */
export type Access = "public" | "reader" | "admin";

/** One route of the API. */
export interface RouteSpec {
  method: "get" | "put" | "post" | "delete";
  /** OpenAPI path (`/v1/configs/{name}`). */
  path: string;
  summary: string;
  access: Access;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Success responses: status → schema (JSON) or a media type for raw bodies. */
  responses: Record<number, { description: string; schema?: z.ZodType; mediaType?: string }>;
}

const json = (description: string, schema: z.ZodType) => ({ description, schema });
const raw = (description: string, mediaType: string) => ({ description, mediaType });

function _route(
  route: `${"GET" | "PUT" | "POST" | "DELETE"} /${string}`,
  access: Access,
  summary: string,
  responses: RouteSpec["responses"],
  extra: Pick<RouteSpec, "body" | "query"> = {},
): RouteSpec {
  const [method, path] = route.split(" ") as [string, string];
  return {
    method: method.toLowerCase() as RouteSpec["method"],
    path,
    summary,
    access,
    responses,
    ...extra,
  };
}

const CONFIG = "/v1/configs/{name}";
const ROLLOUT = "/v1/rollouts/{id}";

const ACTIONS: Record<RolloutAction, string> = {
  pause: "Pause a running rollout (running → paused)",
  resume: "Resume a paused rollout (paused → running)",
  abort: "Abort a rollout; the coordinators restore the stable version",
  promote: "Skip the rest of the current stage's bake of a running rollout",
};

/** Every route of the API. */
export const ROUTES: readonly RouteSpec[] = [
  _route("GET /healthz", "public", "Liveness, and whether NATS is reachable", {
    200: json("alive", Health),
  }),
  _route("GET /openapi.json", "public", "This document", {
    200: raw("OpenAPI 3.1", "application/json"),
  }),
  _route("GET /v1/configs", "reader", "List configs", { 200: json("configs", ConfigList) }),
  _route(`PUT ${CONFIG}`, "admin", "Create a config, or update the fields given", {
    200: json("updated", ConfigRecord),
    201: json("created", ConfigRecord),
  }, { body: ConfigPutBody }),
  _route(`GET ${CONFIG}`, "reader", "Read a config", { 200: json("the config", ConfigRecord) }),
  _route(`POST ${CONFIG}/versions`, "admin", "Publish a version (size, parse, schema, store)", {
    201: json("the signed version record", VersionRecord),
  }, { body: PublishBody }),
  _route(`GET ${CONFIG}/versions`, "reader", "List versions, ascending", {
    200: json("versions", VersionList),
  }),
  _route(`GET ${CONFIG}/versions/{version}`, "reader", "Read a version record", {
    200: json("the signed version record", VersionRecord),
  }),
  _route(`GET ${CONFIG}/versions/{version}/content`, "reader", "Exact bytes, re-hashed on read", {
    200: raw("content, with the config's content type", "*/*"),
  }),
  _route(`GET ${CONFIG}/diff`, "reader", "Unified diff between two versions", {
    200: raw("unified diff", "text/plain"),
  }, { query: DiffQuery }),
  _route(`POST ${CONFIG}/activate`, "admin", "Make a version active now in some or all regions", {
    200: json("what moved where", MoveResult),
    202: json("moved where reachable; unreachable regions deferred to a rollout", MoveResult),
  }, { body: ActivateBody }),
  _route(`POST ${CONFIG}/rollback`, "admin", "Move back to the prior (or a named) version", {
    200: json("what moved where", MoveResult),
  }, { body: RollbackBody }),
  _route(`GET ${CONFIG}/status`, "reader", "Pointer and agents per region", {
    200: json("status per region", ConfigStatus),
  }),
  _route("GET /v1/agents", "reader", "Agents with staleness, drift and quarantines", {
    200: json("agents", AgentList),
  }, { query: AgentsQuery }),
  _route(
    "POST /v1/agents/{region}/{id}/release",
    "admin",
    "Release a quarantined agent from one config (body or query `config`) or from all",
    { 200: json("the quarantines lifted", ReleaseResult) },
    { body: ReleaseBody, query: ReleaseBody },
  ),
  _route(
    "DELETE /v1/agents/{region}/{id}",
    "admin",
    "Forget an agent: its heartbeat and quarantine records (409 while its heartbeat is " +
      "fresh, unless force=true)",
    { 200: json("what was removed", RemoveResult) },
    { query: RemoveAgentQuery },
  ),
  _route(
    `POST ${CONFIG}/rollouts`,
    "admin",
    "Start a staged rollout of a version (409 when a region of it has no live coordinator, " +
      "unless allowNoCoordinator)",
    { 201: json("the rollout, running at stage 0", RolloutRecord) },
    { body: StartRolloutBody },
  ),
  _route("GET /v1/rollouts", "reader", "Rollouts, newest first, with what each region waits for", {
    200: json("rollouts", RolloutList),
  }, { query: RolloutsQuery }),
  _route(`GET ${ROLLOUT}`, "reader", "Read a rollout, with what each region waits for", {
    200: json("the rollout", RolloutView),
  }),
  ...Object.values(RolloutAction).map((action) =>
    _route(`POST ${ROLLOUT}/${action}`, "admin", ACTIONS[action], {
      200: json("the rollout after the action", RolloutRecord),
    }, { body: RolloutActionBody })
  ),
  _route("GET /v1/alerts", "reader", "Open alerts (or all), newest first", {
    200: json("alerts", AlertList),
  }, { query: AlertsQuery }),
  _route("POST /v1/alerts/{id}/resolve", "admin", "Resolve an open alert", {
    200: json("the alert, resolved", AlertRecord),
  }, { body: ResolveAlertBody }),
  _route("GET /v1/audit", "reader", "Audit events, newest first", {
    200: json("events", AuditList),
  }, { query: AuditQuery }),
  _route("GET /v1/keys", "reader", "Trusted keys file for agents", {
    200: json("trusted keys", TrustedKeysFile),
  }),
  _route("GET /v1/regions", "reader", "List regions", { 200: json("regions", RegionList) }),
  _route("PUT /v1/regions/{name}", "admin", "Provision a region", {
    200: json("already there", RegionRecord),
    201: json("created", RegionRecord),
  }, { body: RegionBody }),
];

type JsonSchema = Record<string, unknown>;

function _schema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return rest;
}

const ERRORS: Record<number, string> = {
  400: "invalid request (malformed body, bad name, failed validation)",
  401: "missing or invalid bearer token",
  403: "token role may not do this",
  404: "not found",
  409: "conflicts with the current state",
  413: "body or content too large",
  422: "content violates the config's JSON Schema",
  500: "internal or integrity error",
  503: "NATS JetStream unavailable; retry after Retry-After seconds",
};

function _errorStatuses(route: RouteSpec): number[] {
  if (route.access === "public") return [];
  const statuses = [400, 401, 404, 500, 503];
  if (route.access === "admin") statuses.push(403, 409);
  if (route.body === PublishBody) statuses.push(413, 422);
  return statuses.sort();
}

function _operation(route: RouteSpec): JsonSchema {
  const parameters: JsonSchema[] = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  if (route.query) {
    const q = _schema(route.query, "input") as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      parameters.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema });
    }
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    const media = r.schema ? "application/json" : r.mediaType ?? "application/octet-stream";
    responses[status] = {
      description: r.description,
      content: { [media]: r.schema ? { schema: _schema(r.schema, "output") } : {} },
    };
  }
  for (const status of _errorStatuses(route)) {
    responses[String(status)] = {
      description: ERRORS[status],
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return {
    summary: route.summary,
    operationId: `${route.method}${
      route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, ch?: string) => ch ? ch.toUpperCase() : "")
    }`,
    ...(route.access === "public" ? { security: [] } : {}),
    ...(route.access === "admin" ? { description: "Requires a token with role admin." } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? {
        requestBody: {
          required: true,
          content: { "application/json": { schema: _schema(route.body, "input") } },
        },
      }
      : {}),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of every route in {@linkcode ROUTES}.
 *
 * @example
 * ```ts
 * const doc = openApiDocument();
 * Object.keys(doc.paths); // ["/healthz", "/openapi.json", "/v1/configs", …]
 * ```
 */
export function openApiDocument():
  & { openapi: string; paths: Record<string, JsonSchema> }
  & JsonSchema {
  const paths: Record<string, JsonSchema> = {};
  for (const route of ROUTES) {
    paths[route.path] = { ...paths[route.path], [route.method]: _operation(route) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Atlas control plane",
      version: "1",
      description: "Configs, immutable signed versions, activation and rollback per " +
        "region, staged rollouts, alerts and quarantine.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Error: _schema(ErrorBody, "output") },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
