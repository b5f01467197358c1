/**
 * Errors of the `atlas` CLI, and the one table that turns the API's words (routes, body
 * fields, query parameters) into the CLI's (commands and flags), so that a person who
 * typed a command is told what to type next, not which HTTP request to send.
 *
 * @module
 */
import type { Issue } from "./schemas.ts";

/** Codes of the errors the CLI raises itself (API errors keep the API's code). */
export const CliErrorCode = {
  /** Bad or missing arguments or flags. */
  usage: "usage",
  /** No control plane given and none found. */
  noTarget: "no_target",
  /** No API token. */
  noToken: "no_token",
  /** The control plane did not answer. */
  unreachable: "unreachable",
  /** The control plane answered something the CLI does not understand. */
  badResponse: "bad_response",
  /** A local file could not be read or written. */
  file: "file",
  /** `--wait` ran out of time. */
  timeout: "timeout",
  /** What was followed (a rollout, a `--wait`) ended without reaching its target. */
  failed: "failed",
  /** Refused to overwrite or lose something. */
  conflict: "conflict",
} as const;
export type CliErrorCode = typeof CliErrorCode[keyof typeof CliErrorCode];

/**
 * A failure the CLI reports (`error: <message>` and details on stderr, or
 * `{"error": {code, message, details}}` on stdout with `--json`) with exit code 1.
 *
 * @example
 * ```ts
 * throw new CliError("Missing config name", { code: "usage" });
 * ```
 */
export class CliError extends Error {
  /** A {@linkcode CliErrorCode}, or the API's error code. */
  readonly code: string;
  readonly details: Issue[];
  constructor(
    message: string,
    options: ErrorOptions & { code?: string; details?: Issue[] } = {},
  ) {
    super(message, options);
    this.name = "CliError";
    this.code = options.code ?? CliErrorCode.usage;
    this.details = options.details ?? [];
  }
}

/** One row of {@linkcode API_TERMS}. */
export interface ApiTerm {
  /** What the API says: a pattern over its messages (global), or a body field's path. */
  api: RegExp | `/${string}`;
  /** What the CLI says instead (`$1`… refer to the pattern's groups). */
  cli: string;
}

/**
 * The API's routes and fields in the CLI's words. Patterns rewrite messages (first match
 * wins per place, so longer forms come first); paths name the flag in an issue's details.
 */
export const API_TERMS: readonly ApiTerm[] = [
  // Messages that already name the CLI form after the route keep only the CLI form.
  {
    api: /PUT \/v1\/configs\/([^\s`]+) \(`deno task atlas (configs create [^`]+)`\)/g,
    cli: "`atlas $2`",
  },
  {
    api: /PUT \/v1\/regions\/<name> \(`deno task atlas (regions add [^`]+)`\)/g,
    cli: "`atlas regions add <name>` (e.g. `atlas $1`)",
  },
  {
    api: /PUT \/v1\/regions\/([^\s`]+) \(`deno task atlas (regions add [^`]+)`\)/g,
    cli: "`atlas $2`",
  },
  {
    api: /"allowNoCoordinator": true \(CLI --allow-no-coordinator\)/g,
    cli: "--allow-no-coordinator",
  },
  {
    api: /\?force=true \(`atlas agents remove --force`\)/g,
    cli: "--force (`atlas agents remove <region> <id> --force`)",
  },
  // Bare routes and fields.
  { api: /PUT \/v1\/configs\/([^\s`]+)/g, cli: "`atlas configs create $1`" },
  { api: /PUT \/v1\/regions\/([^\s`]+)/g, cli: "`atlas regions add $1`" },
  { api: /GET \/v1\/configs\/([^\s/`]+)\/status/g, cli: "`atlas status $1`" },
  { api: /GET \/v1\/configs\/([^\s/`]+)\/versions/g, cli: "`atlas versions $1`" },
  { api: /GET \/v1\/configs\b/g, cli: "`atlas configs`" },
  { api: /GET \/v1\/agents\b/g, cli: "`atlas agents`" },
  { api: /GET \/v1\/rollouts\b/g, cli: "`atlas rollout list`" },
  { api: /GET \/v1\/alerts\b/g, cli: "`atlas alerts`" },
  { api: /GET \/v1\/regions\b/g, cli: "`atlas regions`" },
  { api: /"allowNoCoordinator": ?true/g, cli: "--allow-no-coordinator" },
  { api: /\?force=true|\bforce=true\b/g, cli: "--force" },
  { api: /\bpass toVersion\b/g, cli: "pass --to <version>" },
  { api: "/toVersion", cli: "--to" },
  { api: "/regions", cli: "--regions" },
  { api: "/version", cli: "<version>" },
  { api: "/message", cli: "--message" },
  { api: "/reason", cli: "--message" },
  { api: "/contentType", cli: "--content-type" },
  { api: "/description", cli: "--description" },
  { api: "/schema", cli: "--schema" },
  { api: "/cluster", cli: "--cluster" },
  { api: "/replicas", cli: "--replicas" },
  { api: "/config", cli: "--config" },
  { api: "/strategy/name", cli: "--strategy" },
  { api: "/strategy/canaryPercent", cli: "--canary-percent" },
  { api: "/strategy/steps", cli: "--steps" },
  { api: "/strategy/bakeSeconds", cli: "--bake" },
  { api: "/gates/maxFailureRatio", cli: "--max-failure-ratio" },
  { api: "/gates/metrics", cli: "--gate-metric" },
  { api: "/preflight", cli: "--preflight" },
  { api: "/allowNoCoordinator", cli: "--allow-no-coordinator" },
  { api: "/limit", cli: "--limit" },
  { api: "/state", cli: "--state" },
];

/**
 * An API message in the CLI's words (see {@linkcode API_TERMS}).
 *
 * @example
 * ```ts
 * inCliTerms('or pass "allowNoCoordinator": true'); // "or pass --allow-no-coordinator"
 * ```
 */
export function inCliTerms(message: string): string {
  let out = message;
  for (const { api, cli } of API_TERMS) {
    if (typeof api !== "string") out = out.replace(api, cli);
  }
  return out;
}

/**
 * An issue of an API error with its path as the flag that set the field, when one did
 * (`/strategy/bakeSeconds` becomes `--bake`), and its message in the CLI's words.
 *
 * @example
 * ```ts
 * issueInCliTerms({ path: "/replicas", message: "too big" }); // { path: "--replicas", … }
 * ```
 */
export function issueInCliTerms(issue: Issue): Issue {
  const row = API_TERMS.find((t) => t.api === issue.path);
  return { path: row ? row.cli : issue.path, message: inCliTerms(issue.message) };
}
