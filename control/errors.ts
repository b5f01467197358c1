/**
 * Errors of the control plane and their one mapping to HTTP responses.
 *
 * Business logic throws the domain errors below; {@linkcode errorResponse} is the only
 * place that turns any error into a status code and a `{"error": {...}}` body.
 *
 * @module
 */
import {
  AlertNotFoundError,
  AlertResolvedError,
  isTransient,
  PointerConflictError,
  UnavailableError,
} from "@atlas/nats";

/** Codes of the `error.code` field of every error response. */
export const ErrorCode = {
  invalidRequest: "invalid_request",
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  notFound: "not_found",
  conflict: "conflict",
  payloadTooLarge: "payload_too_large",
  schemaViolation: "schema_violation",
  unavailable: "unavailable",
  integrityError: "integrity_error",
  internal: "internal",
} as const;
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** One problem found in a request body or in published content. */
export interface Issue {
  /** JSON Pointer to the offending value (`""` for the whole document). */
  path: string;
  message: string;
}

/** Base of every error the control plane reports with its own code. */
export class ControlError extends Error {
  override readonly name: string = "ControlError";
  /** Extra structured information, sent as `error.details`. */
  readonly details: unknown;
  constructor(message: string, options?: ErrorOptions & { details?: unknown }) {
    super(message, options);
    this.details = options?.details;
  }
}

/**
 * The request is malformed: bad JSON, a field that fails validation, a bad name.
 *
 * @example
 * ```ts
 * throw new InvalidRequestError(`Invalid version "x": use a positive integer`);
 * ```
 */
export class InvalidRequestError extends ControlError {
  override readonly name = "InvalidRequestError";
}
/** No (or no valid) bearer token. */
export class UnauthorizedError extends ControlError {
  override readonly name = "UnauthorizedError";
}
/** The token is valid but its role may not do this. */
export class ForbiddenError extends ControlError {
  override readonly name = "ForbiddenError";
}
/** A config, version or region does not exist. */
export class NotFoundError extends ControlError {
  override readonly name = "NotFoundError";
}
/** The request contradicts the current state (e.g. nothing to roll back to). */
export class ConflictError extends ControlError {
  override readonly name = "ConflictError";
}
/** The request body or the content is larger than allowed. */
export class PayloadTooLargeError extends ControlError {
  override readonly name = "PayloadTooLargeError";
}
/** Stored bytes do not hash to the digest recorded for them. */
export class IntegrityError extends ControlError {
  override readonly name = "IntegrityError";
}

/** Content that does not satisfy its config's JSON Schema; `details` lists the issues. */
export class SchemaViolationError extends ControlError {
  declare readonly details: Issue[];
  override readonly name = "SchemaViolationError";
  constructor(message: string, issues: Issue[], options?: ErrorOptions) {
    super(message, { ...options, details: issues });
  }
}

/** What an error becomes on the wire. */
export interface ErrorResponse {
  status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 500 | 503;
  headers: Record<string, string>;
  body: { error: { code: ErrorCode; message: string; details?: unknown } };
}

const STATUS: [new (...args: never[]) => Error, ErrorResponse["status"], ErrorCode][] = [
  [InvalidRequestError, 400, ErrorCode.invalidRequest],
  [UnauthorizedError, 401, ErrorCode.unauthorized],
  [ForbiddenError, 403, ErrorCode.forbidden],
  [NotFoundError, 404, ErrorCode.notFound],
  [AlertNotFoundError, 404, ErrorCode.notFound],
  [ConflictError, 409, ErrorCode.conflict],
  [AlertResolvedError, 409, ErrorCode.conflict],
  [PointerConflictError, 409, ErrorCode.conflict],
  [PayloadTooLargeError, 413, ErrorCode.payloadTooLarge],
  [SchemaViolationError, 422, ErrorCode.schemaViolation],
  [UnavailableError, 503, ErrorCode.unavailable],
  [IntegrityError, 500, ErrorCode.integrityError],
];

/**
 * Maps any thrown value to a status, headers and `{"error": {code, message, details?}}`.
 * Transient NATS errors become `503 unavailable`; other unknown errors `500 internal`
 * with a generic message (the cause is logged by the caller, never sent).
 *
 * @example
 * ```ts
 * const { status, body } = errorResponse(new NotFoundError("Config web not found"));
 * // status 404, body.error.code "not_found"
 * ```
 */
export function errorResponse(error: unknown): ErrorResponse {
  for (const [type, status, code] of STATUS) {
    if (!(error instanceof type)) continue;
    const headers: Record<string, string> = {};
    if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="atlas"';
    if (error instanceof UnavailableError) {
      headers["Retry-After"] = String(error.retryAfterSeconds);
    }
    const details = error instanceof ControlError ? error.details : undefined;
    return {
      status,
      headers,
      body: {
        error: { code, message: error.message, ...(details !== undefined ? { details } : {}) },
      },
    };
  }
  if (isTransient(error)) {
    // A read that was not retried met a NATS outage or leader election: say so.
    return {
      status: 503,
      headers: { "Retry-After": "5" },
      body: {
        error: {
          code: ErrorCode.unavailable,
          message: `NATS JetStream is unavailable (${(error as Error).message}): retry shortly`,
        },
      },
    };
  }
  return {
    status: 500,
    headers: {},
    body: {
      error: {
        code: ErrorCode.internal,
        message: "Internal error in the control plane: see its log for the cause, then retry",
      },
    },
  };
}
