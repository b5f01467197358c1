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
