/**
 * The per-config queue of pointers waiting to be applied.
 *
 * Invariants: per config, at most one pointer is being processed and at most one waits;
 * a waiting pointer is replaced only by one with a higher or equal seq (equal seqs merge
 * their inline blobs), so the latest pointer wins and none is processed twice at once.
 * A failed attempt is tried again after 1 s, doubling up to `maxRetryMs`, unless the
 * pointer was superseded meanwhile. After {@linkcode ConfigWorkers.close} no retry fires.
 *
 * @module
 */
import type { PointerRecord } from "@atlas/core";

/** A pointer waiting to be processed, with the blobs its notice carried inline. */
export interface Pending {
  pointer: PointerRecord;
  blobs: Record<string, string>;
  /** The `traceparent` of the notice that brought it (tracing on, and not a reconcile). */
  trace?: string | undefined;
}

/** Options of {@linkcode ConfigWorkers}. */
export interface ConfigWorkersOptions {
  /** Processes one pointer; a rejection schedules a retry. */
  process: (pending: Pending) => Promise<void>;
  /** True when a retry of `pending` is no longer needed (a newer pointer was taken). */
  superseded: (pending: Pending) => boolean;
  /** The longest pause between two attempts at the same pointer. */
  maxRetryMs: number;
  /** Told of each failed attempt, before its retry is scheduled. */
  onFailure?: (pending: Pending, error: Error, retryInMs: number) => void;
}

/**
 * Runs one worker per config that has work, taking the latest pointer each time.
 *
 * @example
 * ```ts
 * const workers = new ConfigWorkers({
 *   process: async ({ pointer }) => console.log(pointer.seq),
 *   superseded: () => false,
 *   maxRetryMs: 30_000,
 * });
 * workers.push(pointer, {});
 * await workers.idle();
 * workers.close();
 * ```
 */
export class ConfigWorkers {
  readonly #options: ConfigWorkersOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #workers = new Map<string, Promise<void>>();
  readonly #retryDelays = new Map<string, number>();
  readonly #retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(options: ConfigWorkersOptions) {
    this.#options = options;
  }

  /** True while a pointer of `config` is being processed. */
  busy(config: string): boolean {
    return this.#workers.has(config);
  }

  /** Resolves when no pointer is waiting or being processed. */
  async idle(): Promise<void> {
    while (this.#workers.size > 0) await Promise.all(this.#workers.values());
  }

  /**
   * Queues `pointer` for its config unless a newer one waits already; `trace` is the
   * context of the notice that brought it (kept from the first notice of that seq).
   */
  push(pointer: PointerRecord, blobs: Record<string, string>, trace?: string): void {
    const config = pointer.config;
    const queued = this.#pending.get(config);
    if (queued && queued.pointer.seq > pointer.seq) return;
    const merged = queued && queued.pointer.seq === pointer.seq
      ? { ...queued.blobs, ...blobs }
      : blobs;
    const carried = queued && queued.pointer.seq === pointer.seq ? queued.trace ?? trace : trace;
    this.#pending.set(config, { pointer, blobs: merged, trace: carried });
    if (this.#workers.has(config)) return;
    const worker = (async () => {
      try {
        for (let next = this.#pending.get(config); next; next = this.#pending.get(config)) {
          this.#pending.delete(config);
          const attempt = next;
          await this.#options.process(attempt).then(
            () => this.#retryDelays.delete(config),
            (e) => this.#retryLater(attempt, e as Error),
          );
        }
      } finally {
        this.#workers.delete(config);
      }
    })();
    this.#workers.set(config, worker);
  }

  #retryLater(attempt: Pending, error: Error): void {
    const config = attempt.pointer.config;
    const delay = Math.min((this.#retryDelays.get(config) ?? 500) * 2, this.#options.maxRetryMs);
    this.#retryDelays.set(config, delay);
    this.#options.onFailure?.(attempt, error, delay);
    clearTimeout(this.#retryTimers.get(config));
    if (this.#closed) return; // an attempt that failed while closing is not tried again
    this.#retryTimers.set(
      config,
      setTimeout(() => {
        this.#retryTimers.delete(config);
        if (this.#closed || this.#options.superseded(attempt)) return;
        this.push(attempt.pointer, attempt.blobs, attempt.trace);
      }, delay),
    );
  }

  /** Cancels the scheduled retries; pointers in flight finish (await {@linkcode idle}). */
  close(): void {
    this.#closed = true;
    for (const t of this.#retryTimers.values()) clearTimeout(t);
    this.#retryTimers.clear();
  }
}
