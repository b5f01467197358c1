/**
 * The Hono application of the control plane: public health and OpenAPI routes, bearer
 * authentication on everything under `/v1`, one sub-app per resource, and one `onError`
 * that maps every error to a response.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import {
  Buckets,
  generateSigningKey,
  generateTokenSecret,
  QuarantineRecord,
  Signer,
  type TokenFileEntry,
  tokenFileEntry,
  TokenRecord,
} from "@atlas/core";
import {
  type AtlasNats,
  componentLogger,
  controlMetrics,
  type ControlView,
  nameRequestSpan,
  Registry,
  UnavailableError,
  withAuditActor,
} from "@atlas/store";
import { TokenAuth } from "./auth.ts";
import { BucketCache } from "./bucket_cache.ts";
import { listAlerts } from "./alerts.ts";
import { type ControlContext, type ControlDeps, createContext, readAll } from "./context.ts";
import { errorResponse, MethodNotAllowedError } from "./errors.ts";
import type { EnrolmentAuth } from "./enrolment.ts";
import { IdempotencyStore } from "./idempotency.ts";
import { enrolmentRoutes } from "./routes_enrolment.ts";
import { metaRoutes, type OpenApiDocument, openApiDocument } from "./openapi.ts";
import { type ControlEnv, validationHook } from "./route_kit.ts";
import { configRoutes, pointerRoutes } from "./routes.ts";
import { evidenceRoutes } from "./routes_evidence.ts";
import {
  agentRoutes,
  alertRoutes,
  auditRoutes,
  regionRoutes,
  rolloutRoutes,
} from "./routes_fleet.ts";
import { tokenRoutes } from "./routes_tokens.ts";
import { keyRoutes } from "./routes_keys.ts";

/** Dependencies of {@linkcode createApp}. */
export interface AppDeps extends ControlDeps {
  /**
   * The bootstrap tokens (the tokens file's entries: name, role, SHA-256 of the secret);
   * tokens created through the API are kept in `atlas_tokens`.
   */
  tokens: TokenFileEntry[];
  /** What enrolment and revocation sign with (none: those routes answer 409). */
  enrolment?: EnrolmentAuth | undefined;
  /** Where this app's log lines go (formatted); the process's log output when omitted. */
  log?: ((line: string) => void) | undefined;
  /** A context made already (`createContext(deps)`, then the key set read into it). */
  context?: ControlContext;
}

/** The control plane's Hono app. */
export type ControlApp = OpenAPIHono<ControlEnv>;

async function _natsHealth(nats: AtlasNats): Promise<{ connected: boolean; server?: string }> {
  if (nats.nc.isClosed()) return { connected: false };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connected = await Promise.race([
    nats.nc.flush().then(() => true, () => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 1_000))),
  ]);
  clearTimeout(timer);
  return { connected, ...(connected ? { server: nats.nc.getServer() } : {}) };
}

/** What the metrics read when Prometheus scrapes: quarantine and open alerts per region. */
async function _view(ctx: ControlContext): Promise<ControlView> {
  const count = <K extends string>(keys: K[]) => {
    const counts = new Map<K, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    return [...counts];
  };
  const quarantine = await readAll(ctx, Buckets.quarantine, QuarantineRecord);
  const alerts = await listAlerts(ctx);
  return {
    quarantined: count(quarantine.map((q) => q.value.region))
      .map(([region, n]) => ({ region, count: n })),
    alerts: count(alerts.map((a) => `${a.region} ${a.kind}`)).map(([key, n]) => {
      const [region, kind] = key.split(" ") as [string, string];
      return { region, kind, count: n };
    }),
  };
}

/** Writes fail at once (503) after this long without NATS. */
const DISCONNECTED_FAIL_FAST_MS = 5_000;

/**
 * Builds the app over a connected, provisioned {@linkcode AtlasNats}. Tests call
 * `app.request()` on it in-process.
 *
 * @example
 * ```ts
 * const secret = generateTokenSecret();
 * const app = createApp({ nats, signer, tokens: [tokenFileEntry("t", "admin", secret)] });
 * const res = await app.request("/v1/configs", { headers: { Authorization: `Bearer ${secret}` } });
 * ```
 */
export function createApp(deps: AppDeps): ControlApp {
  return createAppWithAuth(deps).app;
}

/**
 * {@linkcode createApp}, also handing back its {@linkcode TokenAuth} (to reload the
 * tokens file).
 */
export function createAppWithAuth(deps: AppDeps): { app: ControlApp; auth: TokenAuth } {
  const ctx = deps.context ?? createContext(deps);
  const { logger } = componentLogger("control", {}, { sink: deps.log });
  const tokenCache = new BucketCache(deps.nats, Buckets.tokens, TokenRecord);
  const auth = new TokenAuth(deps.tokens, tokenCache);
  const idempotency = new IdempotencyStore(deps.nats, { replicas: ctx.replicas });
  const app = new OpenAPIHono<ControlEnv>({ defaultHook: validationHook });

  const metrics = controlMetrics(new Registry(), () => _view(ctx));
  app.use("*", async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      nameRequestSpan(c.req.method, c.req.routePath);
      metrics.requests.observe(
        { method: c.req.method, route: c.req.routePath, status: `${c.res.status}` },
        (performance.now() - start) / 1000,
      );
    }
  });
  metaRoutes(
    app,
    async () => ({ ok: true, nats: await _natsHealth(deps.nats) }),
    async () => ({
      body: await metrics.registry.metrics(),
      contentType: metrics.registry.contentType,
    }),
  );

  app.use("/v1/*", async (c, next) => {
    const principal = await auth.authenticate(c.req.header("Authorization"));
    auth.authorize(principal, c.req.method, c.req.path);
    c.set("principal", principal);
    // Writes need NATS. After a few seconds without it, say so at once rather than after
    // the retry deadline (a brief reconnect, ~1 s, still rides through the retries).
    if (c.req.method !== "GET" && deps.nats.disconnectedForMs > DISCONNECTED_FAIL_FAST_MS) {
      throw new UnavailableError(
        `The control plane has been disconnected from NATS for ` +
          `${Math.round(deps.nats.disconnectedForMs / 1000)} s; nothing was written. It ` +
          `reconnects by itself: try again shortly, and check that NATS is up`,
        { retryAfterSeconds: 5 },
      );
    }
    // Every audit event this request appends names the token (actorId).
    await withAuditActor({ id: principal.id }, next);
  });
  app.route("/v1/configs", configRoutes(ctx, idempotency));
  app.route("/v1/configs", pointerRoutes(ctx, idempotency));
  app.route("/v1/configs", evidenceRoutes(ctx));
  app.route("/v1/agents", agentRoutes(ctx));
  app.route("/v1/agents", enrolmentRoutes(ctx, deps.enrolment));
  app.route("/v1/audit", auditRoutes(ctx));
  app.route("/v1/keys", keyRoutes(ctx));
  app.route("/v1/regions", regionRoutes(ctx));
  app.route("/v1", rolloutRoutes(ctx, idempotency));
  app.route("/v1/alerts", alertRoutes(ctx));
  app.route("/v1/tokens", tokenRoutes({ ctx, auth, cache: tokenCache }));

  const allowed = _allowedMethods(app);
  app.notFound((c) => {
    const allow = allowed(c.req.path);
    if (allow.length) {
      const { status, headers, body } = errorResponse(
        new MethodNotAllowedError(
          `${c.req.method} is not a method of ${c.req.path}: use ${allow.join(", ")}`,
          allow,
        ),
      );
      return c.json(body, status, headers);
    }
    return c.json({
      error: {
        code: "not_found",
        message: `No route for ${c.req.method} ${c.req.path}: the routes are listed at ` +
          `GET /openapi.json (for people: GET /docs)`,
      },
    }, 404);
  });
  app.onError((error, c) => {
    const { status, headers, body } = errorResponse(error);
    if (status === 500) {
      logger.error("request failed", {
        method: c.req.method,
        path: c.req.path,
        error,
        stack: error.stack,
      });
    }
    return c.json(body, status, headers);
  });
  return { app, auth };
}

/**
 * The OpenAPI document of every route, built without NATS: the routes are registered over
 * dependencies that throw if a request ever reached them. What generates the CLI's types
 * (`deno task gen:api`) and checks they are fresh.
 */
export function apiDocument(): OpenApiDocument {
  const offline = new Proxy({}, {
    get(_, property) {
      throw new Error(`apiDocument() builds the document only (NATS .${String(property)})`);
    },
  }) as AtlasNats;
  const app = createApp({
    nats: offline,
    signer: new Signer(generateSigningKey()),
    tokens: [tokenFileEntry("document", "reader", generateTokenSecret())],
  });
  return openApiDocument(app);
}

/**
 * The methods the app serves for a path (HEAD with GET), from its route table: what a
 * 405 puts in `Allow`. Empty when no route has the path.
 */
function _allowedMethods(app: OpenAPIHono<ControlEnv>): (path: string) => string[] {
  let table: { pattern: RegExp; method: string }[] | undefined;
  return (path) => {
    table ??= app.routes.filter((r) => r.method !== "ALL").map((r) => ({
      method: r.method,
      pattern: new RegExp(
        `^${r.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:\w+/g, "[^/]+")}/?$`,
      ),
    }));
    const methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}
