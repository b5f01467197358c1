/**
 * The Hono application of the control plane: public health and OpenAPI routes, bearer
 * authentication on everything under `/v1`, one sub-app per resource, and one `onError`
 * that maps every error to a response.
 *
 * @module
 */
import { Hono } from "hono";
import { type AtlasNats, UnavailableError } from "@atlas/nats";
import { TokenAuth, type TokenSpec } from "./auth.ts";
import { type ControlDeps, createContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { openApiDocument } from "./openapi.ts";
import {
  agentRoutes,
  alertRoutes,
  auditRoutes,
  configRoutes,
  type ControlEnv,
  keyRoutes,
  pointerRoutes,
  regionRoutes,
  rolloutRoutes,
} from "./routes.ts";

/** Dependencies of {@linkcode createApp}. */
export interface AppDeps extends ControlDeps {
  /** API tokens (at least one). */
  tokens: TokenSpec[];
}

/** The control plane's Hono app. */
export type ControlApp = Hono<ControlEnv>;

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

/** Writes fail at once (503) after this long without NATS. */
const DISCONNECTED_FAIL_FAST_MS = 5_000;

/**
 * Builds the app over a connected, provisioned {@linkcode AtlasNats}. Tests call
 * `app.request()` on it in-process.
 *
 * @example
 * ```ts
 * const app = createApp({ nats, signer, tokens: [{ name: "t", token: "s3cret", role: "admin" }] });
 * const res = await app.request("/v1/configs", { headers: { Authorization: "Bearer s3cret" } });
 * ```
 */
export function createApp(deps: AppDeps): ControlApp {
  const ctx = createContext(deps);
  const auth = new TokenAuth(deps.tokens);
  const document = openApiDocument();
  const app = new Hono<ControlEnv>();

  app.get("/healthz", async (c) => c.json({ ok: true, nats: await _natsHealth(deps.nats) }));
  app.get("/openapi.json", (c) => c.json(document));

  app.use("/v1/*", async (c, next) => {
    const principal = auth.authenticate(c.req.header("Authorization"));
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
    await next();
  });
  app.route("/v1/configs", configRoutes(ctx));
  app.route("/v1/configs", pointerRoutes(ctx));
  app.route("/v1/agents", agentRoutes(ctx));
  app.route("/v1/audit", auditRoutes(ctx));
  app.route("/v1/keys", keyRoutes(ctx));
  app.route("/v1/regions", regionRoutes(ctx));
  app.route("/v1", rolloutRoutes(ctx));
  app.route("/v1/alerts", alertRoutes(ctx));

  app.notFound((c) =>
    c.json({
      error: {
        code: "not_found",
        message: `No route for ${c.req.method} ${c.req.path}: the routes are listed at ` +
          `GET /openapi.json`,
      },
    }, 404)
  );
  app.onError((error, c) => {
    const { status, headers, body } = errorResponse(error);
    if (status === 500) {
      console.error(`${c.req.method} ${c.req.path} failed:`, error);
    }
    return c.json(body, status, headers);
  });
  return app;
}
