/**
 * Routes of the fleet and its operations, each defined once with `@hono/zod-openapi`
 * (see routes.ts): agents, staged rollouts, alerts, the audit log and regions (keys:
 * routes_keys.ts).
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { AlertRecord, RegionRecord, RolloutRecord } from "@atlas/core";
import {
  AgentIdParam,
  AgentList,
  AgentsQuery,
  AlertIdParam,
  AlertList,
  AlertsQuery,
  AuditList,
  AuditQuery,
  ConfigNameParam,
  PageQuery,
  RegionBody,
  RegionList,
  RegionNameParam,
  ReleaseBody,
  ReleaseResult,
  RemoveAgentQuery,
  RemoveResult,
  ResolveAlertBody,
  RolloutActionBody,
  RolloutIdParam,
  RolloutList,
  RolloutsQuery,
  RolloutView,
  StartRolloutBody,
} from "./api.ts";
import { listAlerts, resolveAlertAs } from "./alerts.ts";
import { removeAgent } from "./agent_removal.ts";
import { readAuditPage } from "./audit_log.ts";
import type { ControlContext } from "./context.ts";
import { InvalidRequestError } from "./errors.ts";
import { listAgents } from "./fleet.ts";
import { IDEMPOTENCY_HEADER, type IdempotencyStore, idempotent } from "./idempotency.ts";
import { releaseAgent } from "./quarantine.ts";
import { addRegion, regionList } from "./regions.ts";
import { rolloutViews } from "./rollout_waits.ts";
import {
  changeRollout,
  getRollout,
  listRollouts,
  RolloutAction,
  startRollout,
} from "./rollouts.ts";
import {
  type ControlEnv,
  decodeCursor,
  encodeCursor,
  errorResponses,
  jsonBody,
  jsonRequest,
  jsonResponse,
  jsonResponseWith,
  LINK_HEADER,
  linkNext,
  pageBody,
  paginate,
  READ_ERRORS,
  WRITE_ERRORS,
} from "./route_kit.ts";
import { subApp } from "./routes.ts";

const AgentParams = z.strictObject({ region: RegionNameParam, id: AgentIdParam });
const RolloutParams = z.strictObject({ id: RolloutIdParam });
const ADMIN = "Requires a token with role admin.";

/**
 * `/v1/agents`: heartbeats with staleness, drift and quarantine; releasing an agent from
 * one config's quarantine or all; removing an agent for good.
 */
export function agentRoutes(ctx: ControlContext): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["Agents"],
      summary: "Agents with staleness, drift and quarantines, by region then id",
      request: { query: AgentsQuery },
      responses: {
        200: jsonResponseWith("agents", AgentList, LINK_HEADER),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const { region, ...query } = c.req.valid("query");
      const all = await listAgents(ctx, region);
      const page = paginate(all, (a) => [a.region, a.id], "asc", query);
      return c.json(pageBody(c, "agents", page), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/{region}/{id}/release",
      tags: ["Agents"],
      summary: "Release a quarantined agent from one config (body or query `config`) or from all",
      description: ADMIN,
      middleware: [jsonBody(ctx.maxBodyBytes)] as const,
      request: {
        params: AgentParams,
        query: ReleaseBody,
        body: jsonRequest(ReleaseBody, false, "optional config"),
      },
      responses: {
        200: jsonResponse("the quarantines lifted", ReleaseResult),
        ...errorResponses(WRITE_ERRORS),
      },
    }),
    async (c) => {
      const { region, id } = c.req.valid("param");
      const fromBody = c.req.valid("json");
      const query = c.req.valid("query");
      if (
        fromBody.config !== undefined && query.config !== undefined &&
        fromBody.config !== query.config
      ) {
        throw new InvalidRequestError(
          `The body names config ${fromBody.config} and the query ${query.config}: name one`,
        );
      }
      const config = fromBody.config ?? query.config;
      return c.json(await releaseAgent(ctx, region, id, c.var.principal.name, { config }), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/{region}/{id}",
      tags: ["Agents"],
      summary: "Forget an agent: its heartbeat and quarantine records",
      description: `${ADMIN} 409 while its heartbeat is fresh, unless force=true.`,
      request: { params: AgentParams, query: RemoveAgentQuery },
      responses: {
        200: jsonResponse("what was removed", RemoveResult),
        ...errorResponses(WRITE_ERRORS),
      },
    }),
    async (c) => {
      const { region, id } = c.req.valid("param");
      const { force } = c.req.valid("query");
      return c.json(await removeAgent(ctx, region, id, c.var.principal.name, { force }), 200);
    },
  );
  return app;
}

const ACTIONS: Record<RolloutAction, string> = {
  pause: "Pause a running rollout (running → paused)",
  resume: "Resume a paused rollout (paused → running)",
  abort: "Abort a rollout; the coordinators restore the stable version",
  promote: "Skip the rest of the current stage's bake of a running rollout",
};

/**
 * `/v1/configs/{name}/rollouts` and `/v1/rollouts`: starting staged rollouts, reading
 * them, and the operator's actions on them. Mounted at `/v1`.
 */
export function rolloutRoutes(
  ctx: ControlContext,
  idempotency: IdempotencyStore,
): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "post",
      path: "/configs/{name}/rollouts",
      tags: ["Rollouts"],
      summary: "Start a staged rollout of a version",
      description: `${ADMIN} Give exactly one of \`strategy\` or \`stages\`; \`regions\` and ` +
        "`gates` only with a strategy. 409 when a region of it has no live coordinator, " +
        "unless allowNoCoordinator. `Idempotency-Key` makes a retry return the first answer.",
      middleware: [jsonBody(ctx.maxBodyBytes), idempotent(idempotency, "rollout")] as const,
      request: {
        params: z.strictObject({ name: ConfigNameParam }),
        headers: IDEMPOTENCY_HEADER,
        body: jsonRequest(StartRolloutBody, true, "the version and a strategy or stages"),
      },
      responses: {
        201: jsonResponse("the rollout, running at stage 0", RolloutRecord),
        ...errorResponses([...WRITE_ERRORS, 422]),
      },
    }),
    async (c) => {
      const name = c.req.valid("param").name;
      const started = await startRollout(ctx, name, c.req.valid("json"), c.var.principal.name);
      return c.json(started, 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/rollouts",
      tags: ["Rollouts"],
      summary: "Rollouts, newest first, with what each region waits for",
      request: { query: RolloutsQuery },
      responses: {
        200: jsonResponseWith("rollouts", RolloutList, LINK_HEADER),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor, ...filter } = c.req.valid("query");
      const all = await listRollouts(ctx, filter);
      const page = paginate(all, (r) => [r.createdAt, r.id], "desc", { limit, cursor });
      const views = await rolloutViews(ctx, page.items);
      return c.json(pageBody(c, "rollouts", { ...page, items: views }), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/rollouts/{id}",
      tags: ["Rollouts"],
      summary: "Read a rollout, with what each region waits for",
      request: { params: RolloutParams },
      responses: { 200: jsonResponse("the rollout", RolloutView), ...errorResponses(READ_ERRORS) },
    }),
    async (c) => {
      const [view] = await rolloutViews(ctx, [await getRollout(ctx, c.req.valid("param").id)]);
      return c.json(view!, 200);
    },
  );
  for (const action of Object.values(RolloutAction)) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/rollouts/{id}/${action}`,
        tags: ["Rollouts"],
        summary: ACTIONS[action],
        description: ADMIN,
        middleware: [jsonBody(ctx.maxBodyBytes)] as const,
        request: {
          params: RolloutParams,
          body: jsonRequest(RolloutActionBody, false, "an optional reason"),
        },
        responses: {
          200: jsonResponse("the rollout after the action", RolloutRecord),
          ...errorResponses(WRITE_ERRORS),
        },
      }),
      async (c) => {
        const { reason } = c.req.valid("json");
        const actor = c.var.principal.name;
        const id = c.req.valid("param").id;
        return c.json(await changeRollout(ctx, id, action, { actor, reason }), 200);
      },
    );
  }
  return app;
}

/** `/v1/alerts`: open alerts (or all), newest first; resolving one. */
export function alertRoutes(ctx: ControlContext): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["Alerts"],
      summary: "Open alerts (or all), newest first",
      request: { query: AlertsQuery },
      responses: {
        200: jsonResponseWith("alerts", AlertList, LINK_HEADER),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const { all, ...query } = c.req.valid("query");
      const page = paginate(await listAlerts(ctx, { all }), (a) => [a.at, a.id], "desc", query);
      return c.json(pageBody(c, "alerts", page), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/resolve",
      tags: ["Alerts"],
      summary: "Resolve an open alert",
      description: ADMIN,
      middleware: [jsonBody(ctx.maxBodyBytes)] as const,
      request: {
        params: z.strictObject({ id: AlertIdParam }),
        body: jsonRequest(ResolveAlertBody, false, "an optional reason"),
      },
      responses: {
        200: jsonResponse("the alert, resolved", AlertRecord),
        ...errorResponses(WRITE_ERRORS),
      },
    }),
    async (c) => {
      const { reason } = c.req.valid("json");
      const id = c.req.valid("param").id;
      return c.json(await resolveAlertAs(ctx, id, c.var.principal.name, reason), 200);
    },
  );
  return app;
}

/** `/v1/audit`: the audit log, newest first. */
export function auditRoutes(ctx: ControlContext): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["Audit"],
      summary: "Audit events, newest first",
      description: "Without `limit`, the newest 100 and no `next`; with it, `next` pages " +
        "back through older events.",
      request: { query: AuditQuery },
      responses: {
        200: jsonResponseWith("events", AuditList, LINK_HEADER),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const { config, limit, cursor } = c.req.valid("query");
      const before = cursor === undefined ? undefined : _auditCursor(cursor);
      const page = await readAuditPage(ctx, { config, limit, beforeSeq: before });
      if (limit === undefined) return c.json({ events: page.events }, 200);
      const next = page.more ? encodeCursor([page.oldestSeq]) : null;
      linkNext(c, next);
      return c.json({ events: page.events, next }, 200);
    },
  );
  return app;
}

function _auditCursor(cursor: string): number {
  const [seq] = decodeCursor(cursor);
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) {
    throw new InvalidRequestError(
      `Invalid cursor ${JSON.stringify(cursor)}: send the \`next\` of the previous page`,
    );
  }
  return seq;
}

/** `/v1/regions`: listing and adding regions. */
export function regionRoutes(ctx: ControlContext): OpenAPIHono<ControlEnv> {
  const app = subApp();
  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["Regions"],
      summary: "List regions, by name",
      request: { query: PageQuery },
      responses: {
        200: jsonResponseWith("regions", RegionList, LINK_HEADER),
        ...errorResponses(READ_ERRORS),
      },
    }),
    async (c) => {
      const page = paginate(await regionList(ctx), (r) => [r.name], "asc", c.req.valid("query"));
      return c.json(pageBody(c, "regions", page), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/{name}",
      tags: ["Regions"],
      summary: "Provision a region",
      description: `${ADMIN} A region that exists is answered as it is (200) when the ` +
        "body asks for nothing else; a different `cluster` or `replicas` for it is a 409 " +
        "saying what it has (placement cannot change through this call).",
      middleware: [jsonBody(ctx.maxBodyBytes)] as const,
      request: {
        params: z.strictObject({ name: RegionNameParam }),
        body: jsonRequest(RegionBody, false, "optional placement"),
      },
      responses: {
        200: jsonResponse("already there, as asked", RegionRecord),
        201: jsonResponse("created", RegionRecord),
        ...errorResponses([...WRITE_ERRORS, 422]),
      },
    }),
    async (c) => {
      const name = c.req.valid("param").name;
      const { region, created } = await addRegion(
        ctx,
        name,
        c.var.principal.name,
        c.req.valid("json"),
      );
      return c.json(region, created ? 201 : 200);
    },
  );
  return app;
}
