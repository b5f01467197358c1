/**
 * What every route definition shares: the validation hook that turns zod issues into
 * one {@linkcode InvalidRequestError}, the JSON body middleware (hono's `bodyLimit`, UTF-8,
 * a depth scan before parsing), the documented error responses, `ETag` handling and
 * cursor pagination.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import type { Principal } from "./auth.ts";
import { ErrorBody } from "./api.ts";
import {
  InvalidRequestError,
  type Issue,
  PayloadTooLargeError,
  PreconditionFailedError,
} from "./errors.ts";
import { JsonDepthError, type JsonScan, scanJson } from "./json_scan.ts";

/** Hono environment of every route: the principal, and the scan of a JSON body. */
export type ControlEnv = {
  Variables: { principal: Principal; bodyText: string; bodyScan: JsonScan };
};

/** Zod issues as `{path, message}` with JSON Pointer paths. */
export function zodIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    path: i.path.length ? `/${i.path.map(String).join("/")}` : "",
    message: i.message,
  }));
}

const TARGETS: Record<string, string> = {
  json: "request body",
  query: "query",
  param: "path",
  header: "header",
};

/**
 * The validation hook of every route: a failed parse becomes one
 * {@linkcode InvalidRequestError} listing every issue (in the message and `details`).
 * Path parameters carry their own complete messages (`Invalid config name "A": …`).
 */
export function validationHook(
  result: { success: boolean; error?: z.ZodError; target: string },
): void {
  if (result.success || !result.error) return;
  const issues = zodIssues(result.error);
  if (result.target === "param") {
    throw new InvalidRequestError(issues.map((i) => i.message).join("; "), { details: issues });
  }
  const listed = issues.map((i) => `${i.path || "/"}: ${i.message}`).join("; ");
  throw new InvalidRequestError(
    `Invalid ${TARGETS[result.target] ?? result.target}: ${listed}. Fix these fields and send ` +
      `the request again (the API is described at GET /openapi.json)`,
    { details: issues },
  );
}

/**
 * Reads a JSON request body before the route's validator sees it: at most `maxBytes`
 * (hono's `bodyLimit`, from `Content-Length` or from the bytes received), UTF-8, nested at
 * most {@linkcode MAX_JSON_DEPTH} levels (scanned on the raw text, before `JSON.parse`),
 * and parsed (the route's validator parses the text again); an empty body counts as `{}`. The raw text and the scan (inexact
 * numbers) are kept in `c.var` for the publish route.
 */
export function jsonBody(maxBytes: number): MiddlewareHandler<ControlEnv> {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      const declared = Number(c.req.header("content-length") ?? NaN);
      const size = declared > maxBytes ? `${declared} bytes` : `more than ${maxBytes} bytes`;
      throw new PayloadTooLargeError(
        `Request body of ${size} is over the limit of ${maxBytes} bytes: send less (content ` +
          `itself may be at most about half of that)`,
      );
    },
  });
  return (c, next) =>
    limit(c, async () => {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) return await next();
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        throw new InvalidRequestError("Request body is not valid UTF-8: send JSON text in UTF-8");
      }
      let scan: JsonScan;
      try {
        scan = scanJson(text);
      } catch (e) {
        if (!(e instanceof JsonDepthError)) throw e;
        throw new InvalidRequestError(`Request body is ${e.message}`);
      }
      let value: unknown = {};
      if (text.trim() !== "") {
        try {
          value = JSON.parse(text);
        } catch (e) {
          throw new InvalidRequestError(
            `Malformed JSON body: ${(e as Error).message}. Send a JSON object, with ` +
              `Content-Type: application/json`,
          );
        }
      }
      // The validator reads `c.req.json()`, which hono 4.13 parses from the cached text:
      // hand it that text, `{}` for an empty body (a bodiless POST with a JSON type).
      const cache = c.req.bodyCache as Record<string, unknown>;
      cache.json = Promise.resolve(value);
      cache.text = Promise.resolve(text.trim() === "" ? "{}" : text);
      c.set("bodyText", text);
      c.set("bodyScan", scan);
      await next();
    });
}

/** What each error status means, for the document. */
export const ERROR_DESCRIPTIONS = {
  400: "Invalid request: malformed body, bad name, failed validation",
  401: "Missing or invalid bearer token",
  403: "The token's role may not do this",
  404: "Not found",
  405: "Method not allowed on this path; `Allow` lists the methods",
  409: "Conflicts with the current state",
  412: "`If-Match` does not match the current `ETag`",
  413: "Body or content too large",
  415: "The body is not `application/json`",
  422: "Refused content: schema violation, inexact number, unknown JSON Schema keyword, an " +
    "`Idempotency-Key` reused with another body, or a placement that cannot be applied",
  500: "Internal or integrity error",
  503: "NATS JetStream unavailable",
} as const;
export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

const RETRY_AFTER: HeaderDocs = {
  "Retry-After": {
    description: "Seconds to wait before retrying",
    schema: { type: "integer", minimum: 1 },
  },
};
const WWW_AUTHENTICATE: HeaderDocs = {
  "WWW-Authenticate": {
    description: 'Always `Bearer realm="atlas"`',
    schema: { type: "string" },
  },
};
const ALLOW: HeaderDocs = {
  Allow: { description: "The methods of this path", schema: { type: "string" } },
};

/** Documented response headers. */
export type HeaderDocs = Record<
  string,
  { description: string; schema: { type: "string" | "integer"; minimum?: number } }
>;

/** A JSON response of a route definition. */
export function jsonResponse<S extends z.ZodType>(description: string, schema: S): {
  description: string;
  content: { "application/json": { schema: S } };
} {
  return { description, content: { "application/json": { schema } } };
}

/** A JSON response with documented headers. */
export function jsonResponseWith<S extends z.ZodType>(
  description: string,
  schema: S,
  headers: HeaderDocs,
): { description: string; headers: HeaderDocs; content: { "application/json": { schema: S } } } {
  return { description, headers, content: { "application/json": { schema } } };
}

/** A JSON request body of a route definition. */
export function jsonRequest<S extends z.ZodType>(
  schema: S,
  required: boolean,
  description: string,
): { required: boolean; description: string; content: { "application/json": { schema: S } } } {
  return { required, description, content: { "application/json": { schema } } };
}

type ErrorResponseDoc = {
  description: string;
  headers?: HeaderDocs;
  content: { "application/json": { schema: typeof ErrorBody } };
};

/** Error responses for a route, each `{"error": {code, message, details?}}`. */
export function errorResponses(statuses: readonly ErrorStatus[]): Record<number, ErrorResponseDoc> {
  const out: Record<number, ErrorResponseDoc> = {};
  for (const status of statuses) {
    out[status] = {
      description: ERROR_DESCRIPTIONS[status],
      ...(status === 503 ? { headers: RETRY_AFTER } : {}),
      ...(status === 401 ? { headers: WWW_AUTHENTICATE } : {}),
      ...(status === 405 ? { headers: ALLOW } : {}),
      content: { "application/json": { schema: ErrorBody } },
    };
  }
  return out;
}

/** Errors every authenticated read may answer. */
export const READ_ERRORS = [400, 401, 404, 405, 500, 503] as const;
/** Errors every authenticated write may answer. */
export const WRITE_ERRORS = [400, 401, 403, 404, 405, 409, 413, 415, 500, 503] as const;

/** The `ETag` response header, documented. */
export const ETAG_HEADER: HeaderDocs = {
  ETag: {
    description: "Strong validator of this representation; send it back in `If-None-Match` " +
      "(304 when unchanged) or, on updates, `If-Match` (412 when it changed)",
    schema: { type: "string" },
  },
};

/** 304, documented. */
export const NOT_MODIFIED = {
  304: { description: "Not modified: the `If-None-Match` ETag is current", headers: ETAG_HEADER },
};

function _matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(",").map((t) => t.trim().replace(/^W\//, "")).some((t) =>
    t === "*" || t === etag
  );
}

/**
 * A 304 when `If-None-Match` names `etag`, else undefined; the caller answers with the
 * representation and sets `ETag`.
 */
export function notModified(c: Context, etag: string): Response | undefined {
  if (!_matches(c.req.header("if-none-match"), etag)) return undefined;
  return new Response(null, { status: 304, headers: { ETag: etag } });
}

/**
 * Throws {@linkcode PreconditionFailedError} when `If-Match` is sent and does not name
 * `etag` (`null`: the resource does not exist, so only a missing header passes).
 */
export function checkIfMatch(c: Context, etag: string | null): void {
  const header = c.req.header("if-match");
  if (header === undefined) return;
  if (etag !== null && _matches(header, etag)) return;
  throw new PreconditionFailedError(
    `If-Match ${header} does not match the current ETag ${etag ?? "(none: it does not exist)"}` +
      `: read it again (GET), reapply your change, and send the new ETag`,
  );
}

/** Cursor of a page: the sort key of the last item, base64url-encoded JSON. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return btoa(JSON.stringify(key)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The sort key a cursor of {@linkcode encodeCursor} holds; a request error when malformed. */
export function decodeCursor(cursor: string): (string | number)[] {
  try {
    const json = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const key = JSON.parse(json);
    if (Array.isArray(key) && key.every((k) => typeof k === "string" || typeof k === "number")) {
      return key;
    }
  } catch {
    // reported below
  }
  throw new InvalidRequestError(
    `Invalid cursor ${JSON.stringify(cursor)}: send the \`next\` of the previous page as it ` +
      `came, or leave cursor out to start from the first page`,
  );
}

function _compareKeys(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? "";
    const y = b[i] ?? "";
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** Query of a page: how many, and after which item. */
export interface PageQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/**
 * One page of `items` (already in list order): those after `cursor` (by `keyOf`, in the
 * list's `order`), at most `limit`. `next` is the cursor of the page after, or null at
 * the end; without `limit` every item after the cursor and no `next` (today's shape).
 *
 * @example
 * ```ts
 * paginate(configs, (c) => [c.name], "asc", { limit: 2 }); // { items: [a, b], next: "…" }
 * ```
 */
export function paginate<T>(
  items: readonly T[],
  keyOf: (item: T) => (string | number)[],
  order: "asc" | "desc",
  page: PageQuery,
): { items: T[]; next?: string | null } {
  let rest = [...items];
  if (page.cursor !== undefined) {
    const after = decodeCursor(page.cursor);
    const sign = order === "asc" ? 1 : -1;
    rest = rest.filter((item) => sign * _compareKeys(keyOf(item), after) > 0);
  }
  if (page.limit === undefined) return { items: rest };
  const items_ = rest.slice(0, page.limit);
  const last = items_.at(-1);
  const next = rest.length > page.limit && last !== undefined ? encodeCursor(keyOf(last)) : null;
  return { items: items_, next };
}

/** Sets `Link: <…?cursor=next>; rel="next"` when there is a next page. */
export function linkNext(c: Context, next: string | null | undefined): void {
  if (!next) return;
  const url = new URL(c.req.url);
  url.searchParams.set("cursor", next);
  c.header("Link", `<${url.pathname}${url.search}>; rel="next"`);
}

/**
 * The body of a paged list, `{ [key]: items, next? }` (`next` only when `limit` was
 * given), with the next page's `Link` header set: the one shape every list answers.
 *
 * @example
 * ```ts
 * return c.json(pageBody(c, "configs", paginate(configs, keyOf, "asc", query)), 200);
 * ```
 */
export function pageBody<K extends string, T>(
  c: Context,
  key: K,
  page: { items: T[]; next?: string | null },
): { [P in K]: T[] } & { next?: string | null } {
  linkNext(c, page.next);
  const body = { [key]: page.items, ...("next" in page ? { next: page.next } : {}) };
  return body as { [P in K]: T[] } & { next?: string | null };
}

/** The `Link` header of a paged list, documented. */
export const LINK_HEADER: HeaderDocs = {
  Link: {
    description: 'With `limit`, when there is more: `<…&cursor=…>; rel="next"`',
    schema: { type: "string" },
  },
};
