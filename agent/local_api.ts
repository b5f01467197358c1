/**
 * The agent's local HTTP API, for applications in any language (like the AWS AppConfig
 * agent's localhost API): the bytes the agent applied, never anything it has not verified
 * and installed.
 *
 * - `GET /configs/{name}`: the applied bytes, their content type, `ETag` (the SHA-256),
 *   `X-Atlas-Version`; `If-None-Match` → 304. With `?wait=30s` and `If-None-Match`, the
 *   answer waits until another version is applied (then 200) or the wait ends (304).
 * - `GET /configs/{name}/events`: server-sent events, the current version first, then one
 *   `applied` event per version applied.
 * - `GET /configs`: the managed configs and what is applied; `GET /healthz`: connected or
 *   not, for how long, and what is applied.
 *
 * While NATS is unreachable the last good bytes are still served, with
 * `X-Atlas-Disconnected-Seconds` saying for how long the agent has not heard from it.
 * Bound to 127.0.0.1 by default: it serves the host's applications, not the network.
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { ConfigState } from "./state.ts";

/** What the local API reads from the agent. */
export interface LocalApiSource {
  readonly id: string;
  readonly region: string;
  /** The managed configs' names. */
  readonly configs: readonly string[];
  stateOf(config: string): ConfigState;
  /** The bytes of the applied version of `config`, or null when none is applied. */
  appliedBytes(config: string): Promise<Uint8Array | null>;
  readonly connected: boolean;
  /** Milliseconds since NATS was last reachable (0 while connected). */
  readonly disconnectedForMs: number;
  /** Dispatches `"change"` whenever a config's state may have changed. */
  readonly changes: EventTarget;
}

/** The longest `?wait` a long-poll may ask for. */
export const MAX_WAIT_MS = 300_000;

const WAIT = /^([0-9]{1,6})(ms|s|m)?$/;

/** `?wait=30s` in milliseconds (ms, s or m; a bare number is seconds). */
function _waitMs(text: string | undefined): number | string {
  if (text === undefined) return 0;
  const m = WAIT.exec(text);
  if (!m) return `wait must be a duration such as 30s, 500ms or 2m, got ${JSON.stringify(text)}`;
  const ms = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? "s"] ?? 1000);
  if (ms > MAX_WAIT_MS) return `wait may be at most ${MAX_WAIT_MS / 1000}s`;
  return ms;
}

function _etag(state: ConfigState): string | undefined {
  return state.applied ? `"${state.applied.digest}"` : undefined;
}

/** True when `header` (an If-None-Match value) names `etag`. */
function _matches(header: string | undefined, etag: string | undefined): boolean {
  if (!header || !etag) return false;
  return header.trim() === "*" ||
    header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/** Resolves on the next change of `config`'s applied version, or after `ms`, or on abort. */
function _nextChange(
  source: LocalApiSource,
  config: string,
  etag: string | undefined,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      source.changes.removeEventListener("change", check);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const check = () => {
      if (_etag(source.stateOf(config)) !== etag) done();
    };
    const timer = setTimeout(done, ms);
    source.changes.addEventListener("change", check);
    signal.addEventListener("abort", done);
    check();
  });
}

function _view(config: string, state: ConfigState) {
  return {
    config,
    version: state.applied?.version ?? null,
    digest: state.applied?.digest ?? null,
    appliedAt: state.applied?.appliedAt ?? null,
    drift: state.applied !== null && state.diskDigest !== state.applied.digest,
    lastAck: state.lastAck,
  };
}

/**
 * The local API's Hono app over `source`.
 *
 * @example
 * ```ts
 * Deno.serve({ hostname: "127.0.0.1", port: 2772 }, localApi(agent.localSource()).fetch);
 * ```
 */
export function localApi(source: LocalApiSource): Hono {
  const app = new Hono();
  const managed = new Set(source.configs);
  const error = (status: 400 | 404 | 503, message: string) =>
    new Response(JSON.stringify({ error: { message } }), {
      status,
      headers: { "content-type": "application/json" },
    });
  const disconnected = (headers: Headers) => {
    if (!source.connected) {
      headers.set("X-Atlas-Disconnected-Seconds", `${Math.floor(source.disconnectedForMs / 1000)}`);
    }
  };

  app.get("/healthz", (c) => {
    const body = {
      agent: source.id,
      region: source.region,
      connected: source.connected,
      disconnectedSeconds: Math.floor(source.disconnectedForMs / 1000),
      configs: source.configs.map((name) => _view(name, source.stateOf(name))),
    };
    return c.json(body, 200);
  });

  app.get(
    "/configs",
    (c) => c.json({ configs: source.configs.map((name) => _view(name, source.stateOf(name))) }),
  );

  app.get("/configs/:name", async (c) => {
    const name = c.req.param("name");
    if (!managed.has(name)) {
      return error(
        404,
        `This agent does not manage ${JSON.stringify(name)}: it manages ` +
          `${source.configs.join(", ") || "no config"}`,
      );
    }
    const wait = _waitMs(c.req.query("wait"));
    if (typeof wait === "string") return error(400, wait);
    const asked = c.req.header("If-None-Match");
    let state = source.stateOf(name);
    if (wait > 0 && _matches(asked, _etag(state))) {
      await _nextChange(source, name, _etag(state), wait, c.req.raw.signal);
      state = source.stateOf(name);
    }
    const headers = new Headers();
    disconnected(headers);
    const applied = state.applied;
    if (!applied) {
      headers.set("Retry-After", "1");
      const res = error(503, `Nothing of ${name} is applied yet: try again shortly`);
      headers.forEach((v, k) => res.headers.set(k, v));
      return res;
    }
    const etag = `"${applied.digest}"`;
    headers.set("ETag", etag);
    headers.set("X-Atlas-Version", `${applied.version}`);
    headers.set("X-Atlas-Applied-At", applied.appliedAt);
    headers.set("Cache-Control", "no-cache");
    if (_matches(asked, etag)) return new Response(null, { status: 304, headers });
    const bytes = await source.appliedBytes(name);
    if (!bytes) {
      headers.set("Retry-After", "1");
      const res = error(503, `The bytes of ${name} v${applied.version} are not readable now`);
      headers.forEach((v, k) => res.headers.set(k, v));
      return res;
    }
    headers.set("Content-Type", applied.contentType ?? "application/octet-stream");
    return new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers });
  });

  app.get("/configs/:name/events", (c) => {
    const name = c.req.param("name");
    if (!managed.has(name)) return error(404, `This agent does not manage ${JSON.stringify(name)}`);
    return streamSSE(c, async (stream) => {
      let sent: string | undefined = "none";
      const signal = c.req.raw.signal;
      while (!signal.aborted && !stream.aborted) {
        const state = source.stateOf(name);
        const etag = _etag(state);
        if (etag !== sent) {
          sent = etag;
          await stream.writeSSE({
            event: state.applied ? "applied" : "pending",
            data: JSON.stringify(_view(name, state)),
            ...(state.applied ? { id: `${state.applied.version}` } : {}),
          });
        }
        await _nextChange(source, name, etag, 15_000, signal);
        if (_etag(source.stateOf(name)) === etag && !signal.aborted) {
          await stream.write(": keep-alive\n\n"); // proxies close silent streams
        }
      }
    });
  });

  app.notFound(() =>
    error(
      404,
      "Not found: the routes are /healthz, /configs, /configs/{name} and /configs/{name}/events",
    )
  );
  return app;
}

/** Parses `host:port` (`[::1]:2772` for IPv6); the port 0 picks a free one. */
export function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new TypeError(
      `Invalid listen address ${JSON.stringify(text)}: use host:port, e.g. 127.0.0.1:2772`,
    );
  }
  return { hostname: m[1] ?? m[2]!, port };
}
