/**
 * One timer per period for all the agents of a process. Each agent looks at its files every
 * second (agent/config.ts `watchIntervalMs`); a timer of its own per agent cost ~20 µs a
 * firing, as much as the look itself, and the 2 500 agents of a bench process spent 5 % of
 * a core on their timers alone.
 *
 * Invariants: every registered task runs once per firing of its period's timer, in
 * registration order; a task that throws does not keep the others from running; a period's
 * timer exists only while a task is registered for it, so a process whose agents are closed
 * holds no timer.
 *
 * @module
 */

/** The tasks of one period and the interval that runs them. */
interface Period {
  tasks: Set<() => void>;
  timer: ReturnType<typeof setInterval>;
}

const _periods = new Map<number, Period>();

/**
 * Runs `task` every `ms` until the returned function is called. `task` is synchronous: what
 * it starts in the background is its own to bound. A throw is passed to `onError`.
 *
 * @example
 * ```ts
 * const stop = onTick(1_000, () => lookAtFiles());
 * stop();
 * ```
 */
export function onTick(
  ms: number,
  task: () => void,
  onError: (e: unknown) => void = () => {},
): () => void {
  const guarded = () => {
    try {
      task();
    } catch (e) {
      onError(e);
    }
  };
  let period = _periods.get(ms);
  if (!period) {
    const tasks = new Set<() => void>();
    period = { tasks, timer: setInterval(() => tasks.forEach((t) => t()), ms) };
    _periods.set(ms, period);
  }
  period.tasks.add(guarded);
  const own = period;
  return () => {
    if (!own.tasks.delete(guarded) || own.tasks.size > 0) return;
    clearInterval(own.timer);
    _periods.delete(ms);
  };
}

/** How many period timers run now (tests check that closed agents leave none). */
export function runningTimers(): number {
  return _periods.size;
}
