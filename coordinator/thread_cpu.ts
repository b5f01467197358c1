/**
 * The CPU of one thread of this process, where the platform tells it (Linux: the first
 * field of `/proc/.../schedstat`, nanoseconds on the CPU).
 *
 * @module
 */

/**
 * CPU µs of the thread `tid` of this process, or of the calling thread when `tid` is not
 * given; undefined where /proc does not say (another platform, a thread that ended).
 *
 * @example
 * ```ts
 * const before = threadCpuMicros();
 * work();
 * const spent = threadCpuMicros()! - before!;
 * ```
 */
export function threadCpuMicros(tid?: number): number | undefined {
  const path = tid === undefined
    ? "/proc/thread-self/schedstat"
    : `/proc/self/task/${tid}/schedstat`;
  try {
    const ns = Number(Deno.readTextFileSync(path).split(" ")[0]);
    return Number.isFinite(ns) ? ns / 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The calling thread's id (Linux), or undefined where /proc does not say. */
export function threadId(): number | undefined {
  try {
    const tid = Number(Deno.readLinkSync("/proc/thread-self").split("/").pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}
