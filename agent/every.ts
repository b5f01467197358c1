/**
 * A task repeated on a jittered interval.
 *
 * Invariants: each run starts `ms` ± 20 % after the previous one ended (runs never
 * overlap); a run's failure does not stop the next; after `close()` no run starts and
 * no timer is left.
 *
 * @module
 */

/**
 * Runs `task` every `ms` ± 20 %, each run after the last one ended, until closed. The
 * jitter keeps agents that started together (a region restarted, a bench) from
 * reconciling and heartbeating in step: 1 000 agents reading their pointers at the same
 * instant slowed the apply wave that met them by half.
 *
 * @example
 * ```ts
 * const timer = every(30_000, () => agent.reconcile());
 * timer.close();
 * ```
 */
export function every(ms: number, task: () => Promise<void>): Every {
  const timer = new Every(ms, task);
  timer.schedule();
  return timer;
}

/** A running {@linkcode every}. */
export class Every {
  readonly #ms: number;
  readonly #task: () => Promise<void>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(ms: number, task: () => Promise<void>) {
    this.#ms = ms;
    this.#task = task;
  }

  /** Arms the timer for the next run (no-op once closed). */
  schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.#task().catch(() => {}).finally(() => this.schedule());
    }, this.#ms * (0.8 + Math.random() * 0.4));
  }

  /** Stops the runs; one in progress finishes but schedules no other. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
