/**
 * Retrying JetStream writes through a leader election. After a SIGKILL of a stream
 * leader, writes fail for 5–8 s (bench/README.md, measured facts) with errors such as timeouts,
 * "no responders" or the misleading "jetstream is not enabled". Those are retried with
 * backoff until a deadline (p-retry's, with this module's classifier deciding what is
 * passing); anything else (a stale compare-and-set, a bad request) is
 * not.
 *
 * @module
 */
import pRetry from "p-retry";
import { AtlasError, AtlasErrorCode } from "@atlas/core";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { jserrors } from "@nats-io/jetstream/internal";
import {
  ConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";

/** Raised when a write kept failing transiently until its deadline. */
export class UnavailableError extends AtlasError {
  /** Seconds a client should wait before trying again. */
  readonly retryAfterSeconds: number;
  constructor(message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, { ...options, code: AtlasErrorCode.unavailable });
    this.name = "UnavailableError";
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 5;
  }
}

/** JetStream API codes (`err_code`) of a compare-and-set that lost. */
const CAS_CODES: ReadonlySet<number> = new Set([
  JetStreamApiCodes.StreamWrongLastSequence, // 10071
  JetStreamApiCodes.StreamWrongLastSequenceUnknown, // 10164
]);

/**
 * JetStream API codes (`err_code`) a cluster answers while it elects a leader or lacks
 * quorum; other API errors with HTTP-like status 503 count too.
 */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  10005, // no suitable peers for placement
  10008, // JetStream system temporarily unavailable
  10023, // insufficient resources
  JetStreamApiCodes.JetStreamNotEnabledForAccount, // 10039: said by a follower mid-election
  // 10077 "could not create storage directory", and the 10049 "error creating store for
  // stream" a client gets for it from a clustered create: on 2.9.10 the first stream of an
  // account, created just as an authorized cluster forms, can race the account's store
  // directory (seen in fault and launcher tests; the same create succeeds a moment later).
  // A create that keeps failing still ends, as UnavailableError with the server's words.
  10049,
  10077,
]);

/**
 * What a JetStream error reply means: `cas_conflict` for a lost compare-and-set,
 * `unavailable` for status 503 or a code a cluster answers without a leader,
 * `not_found` for a missing stream, otherwise `jetstream`. `errCode` is the reply's
 * `err_code`, `status` its HTTP-like `code`.
 *
 * @example
 * ```ts
 * jetStreamErrorCode(400, 10071); // "cas_conflict"
 * ```
 */
export function jetStreamErrorCode(status: number, errCode: number | undefined): AtlasErrorCode {
  if (errCode !== undefined && CAS_CODES.has(errCode)) return AtlasErrorCode.casConflict;
  if (status === 503 || (errCode !== undefined && TRANSIENT_CODES.has(errCode))) {
    return AtlasErrorCode.unavailable;
  }
  if (errCode === JetStreamApiCodes.StreamNotFound) return AtlasErrorCode.notFound;
  return AtlasErrorCode.jetstream;
}

/**
 * True when a KV write failed because the key's revision moved (compare-and-set lost)
 * or a create-only key already exists. The v3 clients report both (`kv.update`,
 * `kv.create`, `kv.delete({ previousSeq })`) as a `JetStreamApiError` with code 10071;
 * `AtlasNats.kvWrite` as a `JetStreamPublishError` with `errCode`
 * 10071, and {@linkcode casUpdate} as a {@linkcode CasContentionError}.
 *
 * @example
 * ```ts
 * await kv.update(key, data, revision).catch((e) => { if (!isCasConflict(e)) throw e; });
 * ```
 */
export function isCasConflict(error: unknown): boolean {
  if (error instanceof AtlasError) return error.code === AtlasErrorCode.casConflict;
  if (error instanceof JetStreamApiError && error.code !== undefined) {
    return jetStreamErrorCode(error.status, error.code) === AtlasErrorCode.casConflict;
  }
  // The one text fallback: a JetStream error reply without an `err_code` (servers before
  // 2.3 send only `{code: 400, description: "wrong last sequence: 5"}`, which the client
  // turns into a JetStreamApiError whose `code` is undefined), or such a reply rethrown
  // as a plain Error by code outside Atlas.
  return error instanceof Error && /wrong last sequence/i.test(error.message);
}

/**
 * True when `error` is a passing JetStream unavailability, worth retrying: an Atlas error
 * coded `unavailable`; the client's `TimeoutError`, `NoRespondersError`, `RequestError`
 * (a request left unanswered: timeout, no responders, connection closed or disconnected),
 * `ConnectionError` or `JetStreamNotEnabled` (what `js.publish` says when no stream leader answers); a
 * `JetStreamApiError` with status 503 or a code a cluster answers without a leader. Never
 * a compare-and-set conflict.
 *
 * @example
 * ```ts
 * const retry = isTransient(new TimeoutError()); // true
 * ```
 */
export function isTransient(error: unknown): boolean {
  if (isCasConflict(error)) return false;
  if (error instanceof AtlasError) return error.code === AtlasErrorCode.unavailable;
  if (error instanceof JetStreamApiError) {
    return jetStreamErrorCode(error.status, error.code) === AtlasErrorCode.unavailable;
  }
  return error instanceof TimeoutError || error instanceof NoRespondersError ||
    error instanceof RequestError || error instanceof ConnectionError ||
    error instanceof jserrors.JetStreamNotEnabled;
}

/**
 * What {@linkcode retryTransient} has done in this process, for the metrics: attempts
 * retried after a transient error, and calls that gave up at their deadline.
 */
export const retryCounts: { retried: number; exhausted: number } = { retried: 0, exhausted: 0 };

/** Options of {@linkcode retryTransient}. */
export interface RetryOptions {
  /** Give up after this many milliseconds. @default 15_000 */
  deadlineMs?: number;
  /** First backoff. @default 100 */
  initialDelayMs?: number;
  /** Longest backoff. @default 1_000 */
  maxDelayMs?: number;
  /** What is being done, for the error message. @default "JetStream write" */
  what?: string;
  signal?: AbortSignal;
}

/**
 * Runs `fn`, retrying transient JetStream errors with jittered exponential backoff until
 * `deadlineMs`; then throws {@linkcode UnavailableError}. Non-transient errors are thrown
 * at once.
 *
 * @example
 * ```ts
 * const ack = await retryTransient(() => js.publish("atlas.audit.web", data), { what: "audit" });
 * ```
 */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  let attempts = 0;
  try {
    return await pRetry(() => (attempts++, fn()), {
      retries: Infinity,
      factor: 2,
      minTimeout: options.initialDelayMs ?? 100,
      maxTimeout: options.maxDelayMs ?? 1_000,
      randomize: true,
      maxRetryTime: options.deadlineMs ?? 15_000,
      shouldRetry: ({ error }) => isTransient(error) && (retryCounts.retried++, true),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    if (!isTransient(e)) throw e;
    retryCounts.exhausted++;
    throw new UnavailableError(
      `${options.what ?? "JetStream write"} failed for ${attempts} attempts until its ` +
        `deadline (last error: ${(e as Error).message}); NATS JetStream is unavailable or ` +
        `electing a leader, try again shortly`,
      { cause: e },
    );
  }
}
