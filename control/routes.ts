/**
 * One Hono sub-app per resource; `app.ts` mounts them under `/v1` with `app.route()`.
 * Handlers are inline so path and body types are inferred; the logic lives in the
 * modules they call.
 *
 * @module
 */
import { Hono } from "hono";
import type { Principal } from "./auth.ts";
import {
  ActivateBody,
  AgentsQuery,
  AlertsQuery,
  AuditQuery,
  ConfigPutBody,
  DiffQuery,
  PublishBody,
  RegionBody,
  ReleaseBody,
  RemoveAgentQuery,
  ResolveAlertBody,
  RollbackBody,
  RolloutActionBody,
  RolloutsQuery,
  StartRolloutBody,
} from "./api.ts";
import { listAlerts, resolveAlertAs } from "./alerts.ts";
import { removeAgent } from "./agent_removal.ts";
import { readAudit } from "./audit_log.ts";
import { listConfigs, putConfig, requireConfig } from "./configs.ts";
import type { ControlContext } from "./context.ts";
import { configStatus, listAgents } from "./fleet.ts";
import { activate, rollback } from "./pointer_moves.ts";
import { releaseAgent } from "./quarantine.ts";
import { addRegion, regionList } from "./regions.ts";
import { rolloutViews } from "./rollout_waits.ts";
import { parseWith, readJsonBody } from "./request.ts";
import { InvalidRequestError } from "./errors.ts";
import {
  changeRollout,
  getRollout,
  listRollouts,
  RolloutAction,
  startRollout,
} from "./rollouts.ts";
import {
  diffVersions,
  getVersion,
  listVersions,
  parseVersionNumber,
  publishVersion,
  readContent,
} from "./versions.ts";

/** Hono environment of every route: the authenticated principal. */
export type ControlEnv = { Variables: { principal: Principal } };

/** `/v1/configs`: config records, their versions, content and diffs. */
export function configRoutes(ctx: ControlContext): Hono<ControlEnv> {
  return new Hono<ControlEnv>()
    .get("/", async (c) => c.json({ configs: await listConfigs(ctx) }))
    .put("/:name", async (c) => {
      const body = await readJsonBody(c.req.raw, ConfigPutBody, ctx.maxBodyBytes);
      const { config, created } = await putConfig(
        ctx,
        c.req.param("name"),
        body,
        c.var.principal.name,
      );
      return c.json(config, created ? 201 : 200);
    })
    .get(
      "/:name",
      async (c) => c.json((await requireConfig(ctx, c.req.param("name"), { cached: true })).value),
    )
    .post("/:name/versions", async (c) => {
      const body = await readJsonBody(c.req.raw, PublishBody, ctx.maxBodyBytes);
      const version = await publishVersion(ctx, c.req.param("name"), {
        content: body.content,
        message: body.message,
      }, c.var.principal.name);
      return c.json(version, 201);
    })
    .get(
      "/:name/versions",
      async (c) => c.json({ versions: await listVersions(ctx, c.req.param("name")) }),
    )
    .get("/:name/versions/:version", async (c) => {
      const n = parseVersionNumber(c.req.param("version"));
      return c.json(await getVersion(ctx, c.req.param("name"), n));
    })
    .get("/:name/versions/:version/content", async (c) => {
      const n = parseVersionNumber(c.req.param("version"));
      const version = await getVersion(ctx, c.req.param("name"), n);
      const bytes = await readContent(ctx, version);
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": version.contentType,
        "ETag": `"sha256-${version.digest}"`,
        "X-Atlas-Version": String(version.version),
      });
    })
    .get("/:name/diff", async (c) => {
      const { from, to } = parseWith(DiffQuery, c.req.query(), "query");
      const patch = await diffVersions(ctx, c.req.param("name"), from, to);
      return c.text(patch, 200, { "Content-Type": "text/plain; charset=utf-8" });
    });
}

/** `/v1/configs/:name/{activate,rollback,status}`: moving and watching pointers. */
export function pointerRoutes(ctx: ControlContext): Hono<ControlEnv> {
  return new Hono<ControlEnv>()
    .post("/:name/activate", async (c) => {
      const body = await readJsonBody(c.req.raw, ActivateBody, ctx.maxBodyBytes);
      const result = await activate(ctx, c.req.param("name"), body, c.var.principal.name);
      return c.json(result, result.deferred.length ? 202 : 200);
    })
    .post("/:name/rollback", async (c) => {
      const body = await readJsonBody(c.req.raw, RollbackBody, ctx.maxBodyBytes);
      return c.json(await rollback(ctx, c.req.param("name"), body, c.var.principal.name));
    })
    .get("/:name/status", async (c) => c.json(await configStatus(ctx, c.req.param("name"))));
}

/**
 * `/v1/agents`: heartbeats with staleness, drift and quarantine; releasing an agent from
 * one config's quarantine or all; removing an agent for good.
 */
export function agentRoutes(ctx: ControlContext): Hono<ControlEnv> {
  return new Hono<ControlEnv>()
    .get("/", async (c) => {
      const { region } = parseWith(AgentsQuery, c.req.query(), "query");
      return c.json({ agents: await listAgents(ctx, region) });
    })
    .post("/:region/:id/release", async (c) => {
      const { region, id } = c.req.param();
      const body = await readJsonBody(c.req.raw, ReleaseBody, ctx.maxBodyBytes);
      const query = parseWith(ReleaseBody, c.req.query(), "query");
      if (body.config !== undefined && query.config !== undefined && body.config !== query.config) {
        throw new InvalidRequestError(
          `The body names config ${body.config} and the query ${query.config}: name one`,
        );
      }
      const config = body.config ?? query.config;
      return c.json(await releaseAgent(ctx, region, id, c.var.principal.name, { config }));
    })
    .delete("/:region/:id", async (c) => {
      const { region, id } = c.req.param();
      const { force } = parseWith(RemoveAgentQuery, c.req.query(), "query");
      return c.json(await removeAgent(ctx, region, id, c.var.principal.name, { force }));
    });
}

/**
 * `/v1/configs/:name/rollouts` and `/v1/rollouts`: starting staged rollouts, reading
 * them, and the operator's actions on them. Mounted at `/v1`.
 */
export function rolloutRoutes(ctx: ControlContext): Hono<ControlEnv> {
  const app = new Hono<ControlEnv>()
    .post("/configs/:name/rollouts", async (c) => {
      const body = await readJsonBody(c.req.raw, StartRolloutBody, ctx.maxBodyBytes);
      return c.json(await startRollout(ctx, c.req.param("name"), body, c.var.principal.name), 201);
    })
    .get("/rollouts", async (c) => {
      const filter = parseWith(RolloutsQuery, c.req.query(), "query");
      return c.json({ rollouts: await rolloutViews(ctx, await listRollouts(ctx, filter)) });
    })
    .get("/rollouts/:id", async (c) => {
      const [view] = await rolloutViews(ctx, [await getRollout(ctx, c.req.param("id"))]);
      return c.json(view);
    });
  for (const action of Object.values(RolloutAction)) {
    app.post(`/rollouts/:id/${action}`, async (c) => {
      const { reason } = await readJsonBody(c.req.raw, RolloutActionBody, ctx.maxBodyBytes);
      const actor = c.var.principal.name;
      return c.json(await changeRollout(ctx, c.req.param("id"), action, { actor, reason }));
    });
  }
  return app;
}

/** `/v1/alerts`: open alerts (or all), newest first; resolving one. */
export function alertRoutes(ctx: ControlContext): Hono<ControlEnv> {
  return new Hono<ControlEnv>()
    .get("/", async (c) => {
      const { all } = parseWith(AlertsQuery, c.req.query(), "query");
      return c.json({ alerts: await listAlerts(ctx, { all }) });
    })
    .post("/:id/resolve", async (c) => {
      const { reason } = await readJsonBody(c.req.raw, ResolveAlertBody, ctx.maxBodyBytes);
      return c.json(await resolveAlertAs(ctx, c.req.param("id"), c.var.principal.name, reason));
    });
}

/** `/v1/audit`: the audit log, newest first. */
export function auditRoutes(ctx: ControlContext): Hono<ControlEnv> {
  return new Hono<ControlEnv>().get("/", async (c) => {
    const { config, limit } = parseWith(AuditQuery, c.req.query(), "query");
    return c.json({ events: await readAudit(ctx, { config, limit }) });
  });
}

/** `/v1/keys`: the trusted keys file agents need to verify what the control plane signs. */
export function keyRoutes(ctx: ControlContext): Hono<ControlEnv> {
  return new Hono<ControlEnv>().get("/", (c) => c.json({ keys: ctx.trustedKeys }));
}

/** `/v1/regions`: listing and adding regions. */
export function regionRoutes(ctx: ControlContext): Hono<ControlEnv> {
  return new Hono<ControlEnv>()
    .get("/", async (c) => c.json({ regions: await regionList(ctx) }))
    .put("/:name", async (c) => {
      const body = await readJsonBody(c.req.raw, RegionBody, ctx.maxBodyBytes);
      const { region, created } = await addRegion(
        ctx,
        c.req.param("name"),
        c.var.principal.name,
        body,
      );
      return c.json(region, created ? 201 : 200);
    });
}
