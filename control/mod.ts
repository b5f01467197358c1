/**
 * `@atlas/control`: the control plane of Atlas, the only writer of configs and versions.
 *
 * An HTTP API (Hono + zod, OpenAPI document at `/openapi.json`) over NATS JetStream:
 * configs with optional JSON Schemas, immutable signed versions whose content is stored
 * once by digest, immediate activation and rollback of per-region pointers by
 * compare-and-set, staged rollouts (started, listed, paused, resumed, aborted and
 * promoted here; driven by the coordinators), alerts, agent quarantine release, fleet
 * status from agent heartbeats, and the audit log. The `deno task atlas` CLI is a
 * client of that API; `deno task control` runs the server.
 *
 * @example
 * ```ts
 * import { startControl } from "@atlas/control";
 * import { generateTokenSecret, tokenFileEntry } from "@atlas/core";
 *
 * const secret = generateTokenSecret(); // the control plane keeps only its SHA-256
 * await using control = await startControl({
 *   nats: "nats://127.0.0.1:4222",
 *   port: 0,
 *   signingKey: ".atlas/signing.key",
 *   tokens: [tokenFileEntry("admin", "admin", secret)],
 *   regions: ["us-east", "eu-west"],
 * });
 * const res = await fetch(`${control.url}/v1/configs`, {
 *   headers: { Authorization: `Bearer ${secret}` },
 * });
 * ```
 *
 * @module
 */
export { type ControlOptions, type ControlServer, startControl } from "./server.ts";
export { apiDocument, type AppDeps, type ControlApp, createApp, createAppWithAuth } from "./app.ts";
export type { ControlDeps, ControlLimits } from "./context.ts";
export { fileTokenId, type Principal, Role, TokenAuth, type TokenSource } from "./auth.ts";
export { CreatedToken, CreateTokenBody } from "./routes_tokens.ts";
export {
  ConflictError,
  ControlError,
  ErrorCode,
  errorResponse,
  ForbiddenError,
  IntegrityError,
  InvalidRequestError,
  type Issue,
  NotFoundError,
  PayloadTooLargeError,
  SchemaViolationError,
  UnauthorizedError,
} from "./errors.ts";
export { openApiDocument } from "./openapi.ts";
export {
  CREDENTIALS_BUCKET,
  type EnrolmentAuth,
  EnrolResult,
  loadEnrolmentAuth,
  RevokeResult,
} from "./enrolment.ts";
