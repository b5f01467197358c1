/**
 * The one base class of Atlas's domain errors and the codes that classify them. Callers
 * branch on `error.code` (or `instanceof` a subclass), never on message text.
 *
 * @module
 */

/** What kind of failure an {@linkcode AtlasError} reports. */
export const AtlasErrorCode = {
  /** One compare-and-set write lost to another writer: read again and retry. */
  casConflict: "cas_conflict",
  /** Every compare-and-set attempt lost: the record is busy, try again later. */
  contention: "contention",
  /** NATS JetStream is unavailable or electing a leader: retry shortly. */
  unavailable: "unavailable",
  /** The thing named does not exist. */
  notFound: "not_found",
  /** A value or request is malformed. */
  invalid: "invalid",
  /** A signature does not verify or its key is not trusted. */
  signature: "signature",
  /** The request contradicts the current state. */
  conflict: "conflict",
  /** A state machine refused an event in the current state. */
  transition: "transition",
  /** Stored bytes do not match the digest recorded for them. */
  integrity: "integrity",
  /** JetStream refused a request for another reason (see the error's JetStream code). */
  jetstream: "jetstream",
  /** Anything else. */
  internal: "internal",
} as const;
/** A value of {@linkcode AtlasErrorCode}. */
export type AtlasErrorCode = typeof AtlasErrorCode[keyof typeof AtlasErrorCode];

/** Options of {@linkcode AtlasError}. */
export interface AtlasErrorOptions extends ErrorOptions {
  /** The code; subclasses fix their own. @default "internal" */
  code?: AtlasErrorCode;
}

/**
 * Base of Atlas's domain errors: an `Error` with a {@linkcode AtlasErrorCode}.
 *
 * @example
 * ```ts
 * try {
 *   await save();
 * } catch (e) {
 *   if (e instanceof AtlasError && e.code === AtlasErrorCode.casConflict) retryLater();
 * }
 * ```
 */
export class AtlasError extends Error {
  /** What kind of failure this is. */
  readonly code: AtlasErrorCode;
  constructor(message: string, options?: AtlasErrorOptions) {
    super(message, options);
    this.name = "AtlasError";
    this.code = options?.code ?? AtlasErrorCode.internal;
  }
}

/** True when `error` is an {@linkcode AtlasError} with `code`. */
export function hasAtlasCode(error: unknown, code: AtlasErrorCode): error is AtlasError {
  return error instanceof AtlasError && error.code === code;
}
