/**
 * The HTTP client the `atlas` CLI uses: where the control plane is and which token to
 * send (environment, or the dev mode's `.atlas/dev/dev.json`), and requests whose
 * failures become errors a person can act on.
 *
 * @module
 */
import { z } from "zod";
import { ErrorBody, type Issue } from "./schemas.ts";

/** Where the CLI sends requests when nothing says otherwise. */
export const DEFAULT_URL = "http://127.0.0.1:8080";

/** What dev mode writes to `.atlas/dev/dev.json` (only the fields the CLI uses). */
export const DevFile = z.looseObject({
  controlUrl: z.string().url(),
  tokenFile: z.string().min(1),
});

/** Environment the CLI reads. */
export interface Env {
  get(name: string): string | undefined;
}

/** Where to send requests, and with which token. */
export interface Target {
  url: string;
  token: string | undefined;
  /** Where the URL came from, for error messages. */
  source: "ATLAS_URL" | "dev.json" | "default";
}

async function _readToken(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new CliError(`Cannot read the token file ${path} (${what}): ${(e as Error).message}`);
  }
  const token = text.trim();
  if (!token) throw new CliError(`The token file ${path} (${what}) is empty`);
  return token;
}

function _resolvePath(cwd: string, path: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/$/, "")}/${path}`;
}

/**
 * Resolves the control plane URL and token: `ATLAS_URL`, `ATLAS_TOKEN` (or
 * `ATLAS_TOKEN_FILE`); without `ATLAS_URL`, the dev mode's `.atlas/dev/dev.json` in `cwd`
 * when present; else `http://127.0.0.1:8080`.
 *
 * @example
 * ```ts
 * const { url, token } = await resolveTarget(Deno.env, Deno.cwd());
 * ```
 */
export async function resolveTarget(env: Env, cwd: string): Promise<Target> {
  let token = env.get("ATLAS_TOKEN")?.trim() || undefined;
  const tokenFile = env.get("ATLAS_TOKEN_FILE");
  if (!token && tokenFile) token = await _readToken(tokenFile, "ATLAS_TOKEN_FILE");
  const explicit = env.get("ATLAS_URL")?.trim();
  if (explicit) return { url: explicit.replace(/\/+$/, ""), token, source: "ATLAS_URL" };

  const devPath = _resolvePath(cwd, ".atlas/dev/dev.json");
  let devText: string | undefined;
  try {
    devText = await Deno.readTextFile(devPath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (devText === undefined) return { url: DEFAULT_URL, token, source: "default" };
  let dev: z.infer<typeof DevFile>;
  try {
    dev = DevFile.parse(JSON.parse(devText));
  } catch (e) {
    throw new CliError(
      `${devPath} is not a valid dev mode file (${(e as Error).message}): restart ` +
        "`deno task dev`, or set ATLAS_URL and ATLAS_TOKEN",
    );
  }
  token ??= await _readToken(_resolvePath(cwd, dev.tokenFile), devPath);
  return { url: dev.controlUrl.replace(/\/+$/, ""), token, source: "dev.json" };
}

/** A failure the CLI reports as `error: <message>` (and details) with exit code 1. */
export class CliError extends Error {
  readonly details: Issue[];
  constructor(message: string, details: Issue[] = []) {
    super(message);
    this.name = "CliError";
    this.details = details;
  }
}

/** Calls the control plane API. */
export class ApiClient {
  constructor(readonly target: Target) {}

  /**
   * Sends a request; returns the response when it is 2xx, else throws
   * {@linkcode CliError} with the API's message and details.
   *
   * @example
   * ```ts
   * const res = await client.request("GET", "/v1/configs");
   * ```
   */
  async request(method: string, path: string, body?: unknown): Promise<Response> {
    const { url, token } = this.target;
    if (!token) {
      throw new CliError(
        "No API token: set ATLAS_TOKEN=<token> or ATLAS_TOKEN_FILE=<file> (in the project " +
          "root, `deno task dev` writes .atlas/dev/dev.json, which the CLI reads)",
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
          `\`deno task dev\` (${(e as Error).message.split("\n")[0]})`,
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
      throw new CliError(`${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 500)}`);
    }
    const details = z.array(z.object({ path: z.string(), message: z.string() }))
      .safeParse(parsed.error.details);
    throw new CliError(parsed.error.message, details.success ? details.data : []);
  }

  /** Sends a request and parses the JSON response with `schema`. */
  async json<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<z.output<S>> {
    const res = await this.request(method, path, body);
    const result = schema.safeParse(await res.json());
    if (!result.success) {
      throw new CliError(
        `Unexpected response to ${method} ${path} (is the control plane the same version ` +
          `as this CLI?): ${z.prettifyError(result.error)}`,
      );
    }
    return result.data;
  }
}
