/**
 * The HTTP client the `atlas` CLI uses: where the control plane is and which token to
 * send, and requests whose failures become errors a person can act on.
 *
 * @module
 */
import { z } from "zod";
import { CliError, CliErrorCode, inCliTerms, issueInCliTerms } from "./errors.ts";
import { ErrorBody } from "./schemas.ts";
import type { paths } from "./api.gen.ts";

export { CliError } from "./errors.ts";

/** What dev mode writes to `<data dir>/dev.json` (only the fields the CLI uses). */
export const DevFile = z.looseObject({
  controlUrl: z.string().url(),
  tokenFile: z.string().min(1),
});

/** Where dev mode keeps its files by default, relative to the project root. */
export const DEFAULT_DEV_DIR = ".atlas/dev";

/** Environment the CLI reads. */
export interface Env {
  get(name: string): string | undefined;
}

/** Flags that point the CLI at a control plane. */
export interface TargetFlags {
  /** `--url`: the control plane's base URL (wins over everything). */
  url?: string | undefined;
  /** `--dev-dir`: a dev instance's data dir (holding `dev.json`). */
  devDir?: string | undefined;
}

/** Where to send requests, and with which token. */
export interface Target {
  url: string;
  token: string | undefined;
  /** Where the URL came from, for messages: a flag, a variable, or a dev.json path. */
  source: string;
}

/** How to point the CLI at a control plane, for messages. */
export const HOW_TO_TARGET = "pass --url <url> or set ATLAS_URL (with ATLAS_TOKEN or " +
  "ATLAS_TOKEN_FILE); for a dev instance started with `deno task dev --data-dir <dir>`, " +
  "set ATLAS_DEV_DIR=<dir> or pass --dev-dir <dir>; or run the CLI inside the project " +
  "where `deno task dev` wrote .atlas/dev/dev.json";

async function _readToken(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new CliError(`Cannot read the token file ${path} (${what}): ${(e as Error).message}`, {
      code: CliErrorCode.file,
    });
  }
  const token = text.trim();
  if (!token) {
    throw new CliError(`The token file ${path} (${what}) is empty`, { code: CliErrorCode.file });
  }
  return token;
}

/**
 * `path` resolved against `dir` (absolute paths are kept).
 *
 * @example
 * ```ts
 * resolvePath("/home/me", "web.json"); // "/home/me/web.json"
 * ```
 */
export function resolvePath(dir: string, path: string): string {
  return path.startsWith("/") ? path : `${dir.replace(/\/+$/, "")}/${path}`;
}

function _parent(dir: string): string | undefined {
  const trimmed = dir.replace(/\/+$/, "");
  if (trimmed === "") return undefined; // the root
  const i = trimmed.lastIndexOf("/");
  return i <= 0 ? "/" : trimmed.slice(0, i);
}

async function _readDevFile(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** The nearest `.atlas/dev/dev.json` from `cwd` up to `/`, and the directory holding it. */
async function _findDevFile(
  cwd: string,
): Promise<{ path: string; text: string; base: string } | undefined> {
  for (let dir: string | undefined = cwd; dir !== undefined; dir = _parent(dir)) {
    const path = resolvePath(dir, `${DEFAULT_DEV_DIR}/dev.json`);
    const text = await _readDevFile(path);
    if (text !== undefined) return { path, text, base: dir };
  }
  return undefined;
}

/**
 * Resolves the control plane URL and token. The URL: `--url`, else `ATLAS_URL`, else the
 * dev instance in `--dev-dir`, else in `ATLAS_DEV_DIR`, else the nearest
 * `.atlas/dev/dev.json` walking up from `cwd`; else a {@linkcode CliError} saying how to
 * point the CLI at an instance (it never guesses a port). The token: `ATLAS_TOKEN`, else
 * `ATLAS_TOKEN_FILE`, else the dev instance's token file.
 *
 * @example
 * ```ts
 * const { url, token } = await resolveTarget(Deno.env, Deno.cwd());
 * ```
 */
export async function resolveTarget(
  env: Env,
  cwd: string,
  flags: TargetFlags = {},
): Promise<Target> {
  let token = env.get("ATLAS_TOKEN")?.trim() || undefined;
  const tokenFile = env.get("ATLAS_TOKEN_FILE");
  if (!token && tokenFile) {
    token = await _readToken(resolvePath(cwd, tokenFile), "ATLAS_TOKEN_FILE");
  }
  const explicit = flags.url?.trim()
    ? { url: flags.url.trim(), source: "--url" }
    : env.get("ATLAS_URL")?.trim()
    ? { url: env.get("ATLAS_URL")!.trim(), source: "ATLAS_URL" }
    : undefined;
  if (explicit) {
    try {
      new URL(explicit.url);
    } catch {
      throw new CliError(
        `${explicit.source} is not a URL: ${JSON.stringify(explicit.url)} (expected e.g. ` +
          "http://127.0.0.1:8080)",
      );
    }
    return { url: explicit.url.replace(/\/+$/, ""), token, source: explicit.source };
  }

  const devDir = flags.devDir?.trim()
    ? { dir: flags.devDir.trim(), source: "--dev-dir" }
    : env.get("ATLAS_DEV_DIR")?.trim()
    ? { dir: env.get("ATLAS_DEV_DIR")!.trim(), source: "ATLAS_DEV_DIR" }
    : undefined;
  let found: { path: string; text: string; base: string } | undefined;
  if (devDir) {
    const path = resolvePath(resolvePath(cwd, devDir.dir), "dev.json");
    const text = await _readDevFile(path);
    if (text === undefined) {
      throw new CliError(
        `${devDir.source} points at ${devDir.dir}, which has no dev.json (${path}): is ` +
          "`deno task dev --data-dir` running with that directory? Start it, or " +
          HOW_TO_TARGET,
        { code: CliErrorCode.noTarget },
      );
    }
    found = { path, text, base: cwd };
  } else {
    found = await _findDevFile(cwd);
  }
  if (!found) {
    throw new CliError(
      `No control plane to talk to (no --url, ATLAS_URL, --dev-dir or ATLAS_DEV_DIR, and no ` +
        `${DEFAULT_DEV_DIR}/dev.json in ${cwd} or above it): ${HOW_TO_TARGET}`,
      { code: CliErrorCode.noTarget },
    );
  }
  let dev: z.infer<typeof DevFile>;
  try {
    dev = DevFile.parse(JSON.parse(found.text));
  } catch (e) {
    throw new CliError(
      `${found.path} is not a valid dev mode file (${(e as Error).message}): restart ` +
        "`deno task dev`, or " + HOW_TO_TARGET,
      { code: CliErrorCode.noTarget },
    );
  }
  token ??= await _readToken(resolvePath(found.base, dev.tokenFile), found.path);
  return { url: dev.controlUrl.replace(/\/+$/, ""), token, source: found.path };
}

/** The HTTP methods the API uses. */
export type Method = "GET" | "HEAD" | "PUT" | "POST" | "DELETE";

/** A path template with each `{param}` standing for any text. */
type Filled<P extends string> = P extends `${infer Head}{${string}}${infer Tail}`
  ? `${Head}${string}${Filled<Tail>}`
  : P;

/**
 * The paths the API serves for `M`, from the generated `api.gen.ts`: a request to a path
 * the routes do not define, or with a method they do not answer, does not type-check.
 */
export type ApiPath<M extends Method> = {
  [P in keyof paths & string]:
    [NonNullable<paths[P][Lowercase<M extends "HEAD" ? "GET" : M>]>] extends [never] ? never
      : Filled<P>;
}[keyof paths & string];

/** An API path, with a query string or without. */
export type ApiTarget<M extends Method> = ApiPath<M> | `${ApiPath<M>}?${string}`;

/**
 * `path` with the query string of `params` (entries whose value is undefined left out);
 * `path` alone when none is left.
 *
 * @example
 * ```ts
 * withQuery("/v1/agents", { region: "us-east" }); // "/v1/agents?region=us-east"
 * ```
 */
export function withQuery<P extends string>(
  path: P,
  params: URLSearchParams | Record<string, string | undefined>,
): P | `${P}?${string}` {
  const search = params instanceof URLSearchParams ? params : new URLSearchParams(
    Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return search.size ? `${path}?${search}` : path;
}

/** Calls the control plane API. */
export class ApiClient {
  constructor(readonly target: Target) {}

  /**
   * Sends a request; returns the response when it is 2xx, else throws
   * {@linkcode CliError} with the API's code, message and details in the CLI's words.
   *
   * @example
   * ```ts
   * const res = await client.request("GET", "/v1/configs");
   * ```
   */
  async request<M extends Method>(
    method: M,
    path: ApiTarget<M>,
    body?: unknown,
  ): Promise<Response> {
    const { url, token, source } = this.target;
    if (!token) {
      throw new CliError(
        "No API token: set ATLAS_TOKEN=<token> or ATLAS_TOKEN_FILE=<file> (a dev instance's " +
          "dev.json names its token file, which the CLI reads when it finds the instance " +
          "through --dev-dir, ATLAS_DEV_DIR or .atlas/dev/dev.json)",
        { code: CliErrorCode.noToken },
      );
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new CliError(
        `cannot reach the control plane at ${url}: is it running? Start it with ` +
          `\`deno task dev\`. The URL came from ${source}; to use another instance, ` +
          `${HOW_TO_TARGET} (${(e as Error).message.split("\n")[0]})`,
        { code: CliErrorCode.unreachable },
      );
    }
    if (res.ok) return res;
    const text = await res.text();
    let parsed: ErrorBody | undefined;
    try {
      parsed = ErrorBody.parse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      throw new CliError(
        `The control plane at ${url} failed with HTTP ${res.status}: ${text.slice(0, 500)}`,
        { code: CliErrorCode.badResponse },
      );
    }
    const details = z.array(z.object({ path: z.string(), message: z.string() }))
      .safeParse(parsed.error.details);
    throw new CliError(inCliTerms(parsed.error.message), {
      code: parsed.error.code,
      details: details.success ? details.data.map(issueInCliTerms) : [],
    });
  }

  /** Sends a request and parses the JSON response with `schema`. */
  async json<S extends z.ZodType, M extends Method>(
    schema: S,
    method: M,
    path: ApiTarget<M>,
    body?: unknown,
  ): Promise<z.output<S>> {
    const res = await this.request(method, path, body);
    const result = schema.safeParse(await res.json());
    if (!result.success) {
      throw new CliError(
        `Unexpected response from the control plane at ${this.target.url} (is it the same ` +
          `version as this CLI?): ${z.prettifyError(result.error)}`,
        { code: CliErrorCode.badResponse },
      );
    }
    return result.data;
  }
}
