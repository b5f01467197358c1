/**
 * Retrying JetStream writes through a leader election. After a SIGKILL of a stream
 * leader, writes fail for 5–8 s (measured, DESIGN.md) with errors such as timeouts,
 * "no responders" or the misleading "jetstream is not enabled". Those are retried with
 * backoff until a deadline; anything else (a stale compare-and-set, a bad request) is
 * not.
 *
 * @module
 */

/** Raised when a write kept failing transiently until its deadline. */
export class UnavailableError extends Error {
  /** Seconds a client should wait before trying again. */
  readonly retryAfterSeconds: number;
  constructor(message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options);
    this.name = "UnavailableError";
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 5;
  }
}

const TRANSIENT = [
  "timeout",
  "timed out",
  "no responders",
  "jetstream is not enabled",
  "jetstream not enabled",
  "503",
  "connection closed",
  "disconnect",
  "no suitable peers",
  "insufficient resources",
  "jetstream system temporarily unavailable",
  "leader",
  "no quorum",
];

/**
 * True when a KV write failed because the key's revision moved (compare-and-set lost)
 * or a create-only key already exists.
 */
export function isCasConflict(error: unknown): boolean {
  return /wrong last sequence|key exists/i.test((error as Error)?.message ?? "");
}

/** True when `error` looks like a passing JetStream unavailability. */
export function isTransient(error: unknown): boolean {
  if (isCasConflict(error)) return false;
  const text = `${(error as Error)?.name ?? ""} ${(error as Error)?.message ?? String(error)}`
    .toLowerCase();
  return TRANSIENT.some((t) => text.includes(t));
}

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
  const deadline = Date.now() + (options.deadlineMs ?? 15_000);
  let delay = options.initialDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 1_000;
  for (let attempt = 1;; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e)) throw e;
      if (Date.now() + delay > deadline) {
        throw new UnavailableError(
          `${options.what ?? "JetStream write"} failed for ${attempt} attempts until its ` +
            `deadline (last error: ${(e as Error).message}); NATS JetStream is unavailable or ` +
            `electing a leader, try again shortly`,
          { cause: e },
        );
      }
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
