/**
 * Errors of the control plane and their one mapping to HTTP responses.
 *
 * Business logic throws the domain errors below; {@linkcode errorResponse} is the only
 * place that turns any error into a status code and a `{"error": {...}}` body.
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";
import {
  AlertNotFoundError,
  AlertResolvedError,
  CasContentionError,
  isTransient,
  PointerConflictError,
  UnavailableError,
} from "@atlas/store";

/** Codes of the `error.code` field of every error response. */
export const ErrorCode = {
  invalidRequest: "invalid_request",
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  notFound: "not_found",
  methodNotAllowed: "method_not_allowed",
  conflict: "conflict",
  preconditionFailed: "precondition_failed",
  payloadTooLarge: "payload_too_large",
  unsupportedMediaType: "unsupported_media_type",
  unprocessable: "unprocessable",
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
/** The method is not one of the path's; `allow` lists those it has. */
export class MethodNotAllowedError extends ControlError {
  override readonly name = "MethodNotAllowedError";
  constructor(message: string, readonly allow: readonly string[], options?: ErrorOptions) {
    super(message, options);
  }
}
/** `If-Match` names another ETag than the resource's current one. */
export class PreconditionFailedError extends ControlError {
  override readonly name = "PreconditionFailedError";
}
/**
 * Well-formed but refused: a number JavaScript cannot hold exactly, a JSON Schema keyword
 * ajv does not know, an `Idempotency-Key` reused with another body, a placement that
 * cannot be applied.
 */
export class UnprocessableError extends ControlError {
  override readonly name = "UnprocessableError";
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
  status: 400 | 401 | 403 | 404 | 405 | 409 | 412 | 413 | 415 | 422 | 500 | 503;
  headers: Record<string, string>;
  body: { error: { code: ErrorCode; message: string; details?: unknown } };
}

const STATUS: [new (...args: never[]) => Error, ErrorResponse["status"], ErrorCode][] = [
  [InvalidRequestError, 400, ErrorCode.invalidRequest],
  [UnauthorizedError, 401, ErrorCode.unauthorized],
  [ForbiddenError, 403, ErrorCode.forbidden],
  [NotFoundError, 404, ErrorCode.notFound],
  [AlertNotFoundError, 404, ErrorCode.notFound],
  [MethodNotAllowedError, 405, ErrorCode.methodNotAllowed],
  [ConflictError, 409, ErrorCode.conflict],
  [PreconditionFailedError, 412, ErrorCode.preconditionFailed],
  [AlertResolvedError, 409, ErrorCode.conflict],
  [PointerConflictError, 409, ErrorCode.conflict],
  [CasContentionError, 409, ErrorCode.conflict],
  [PayloadTooLargeError, 413, ErrorCode.payloadTooLarge],
  [SchemaViolationError, 422, ErrorCode.schemaViolation],
  [UnprocessableError, 422, ErrorCode.unprocessable],
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
  if (error instanceof HTTPException) return _httpException(error);
  for (const [type, status, code] of STATUS) {
    if (!(error instanceof type)) continue;
    const headers: Record<string, string> = {};
    if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="atlas"';
    if (error instanceof MethodNotAllowedError) headers["Allow"] = error.allow.join(", ");
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

/** Hono's own refusals (the media type gate of a route's body: 415) in the same shape. */
function _httpException(error: HTTPException): ErrorResponse {
  if (error.status === 415) {
    return {
      status: 415,
      headers: {},
      body: {
        error: {
          code: ErrorCode.unsupportedMediaType,
          message: "The request body must be JSON: send it with Content-Type: application/json",
        },
      },
    };
  }
  if (error.status === 413) {
    return {
      status: 413,
      headers: {},
      body: { error: { code: ErrorCode.payloadTooLarge, message: error.message } },
    };
  }
  return {
    status: 400,
    headers: {},
    body: {
      error: {
        code: ErrorCode.invalidRequest,
        message: `${error.message}: send a JSON body with Content-Type: application/json`,
      },
    },
  };
}
