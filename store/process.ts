/**
 * What every Atlas program (control plane, coordinator, agent, dev mode) does the same
 * way: wait for Ctrl-C or SIGTERM, and turn `main`'s result into an exit code.
 *
 * @module
 */

/**
 * Resolves with the first SIGINT or SIGTERM received; the listeners are removed then.
 *
 * @example
 * ```ts
 * const signal = await untilStopSignal();
 * console.log(`${signal}: shutting down`);
 * ```
 */
export function untilStopSignal(): Promise<Deno.Signal> {
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handlers = signals.map((signal) => {
    const handler = () => resolve(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return promise.finally(() => {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  });
}

/**
 * Runs `main` as the program: its result is the exit code; an error is printed as
 * `<prefix>: <message>` and exits 1.
 *
 * @example
 * ```ts
 * if (import.meta.main) await runMain(main);
 * ```
 */
export async function runMain(main: () => Promise<number>, prefix = "error"): Promise<never> {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`${prefix}: ${(e as Error).message}`);
    Deno.exit(1);
  }
}

/**
 * How long a program may take to stop after SIGTERM before it exits anyway: under
 * docker's 10 s (`docker stop`), after which the process is SIGKILLed.
 */
export const STOP_DEADLINE_MS = 7_000;

/**
 * Runs `stop` (close connections, release leases) and resolves `true` when it finished,
 * `false` when `ms` passed first (a NATS that is down can keep closes waiting): the
 * caller exits then, leaving the rest undone, rather than be killed mid-write.
 *
 * @example
 * ```ts
 * await untilStopSignal();
 * if (!(await stopWithin(STOP_DEADLINE_MS, () => agent.close()))) log.warn("stop cut short");
 * ```
 */
export async function stopWithin(ms: number, stop: () => PromiseLike<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([Promise.resolve(stop()).then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
