/**
 * CPU time of another process, for the benches that measure one (nats-server, an agent
 * process, a floor subscriber), and of this process's threads by kind (the coordinator's
 * steps). One thread's CPU is read by `threadCpuMicros` of `@atlas/coordinator`.
 *
 * @module
 */
import { threadCpuMicros } from "@atlas/coordinator";

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ: 100 on every Linux build). */
const TICKS_PER_S = 100;

/**
 * CPU time (user + system, every thread, those ended too) of process `pid` in µs, from
 * `/proc/<pid>/stat`; 0 when it is gone, unknown or the platform has no `/proc`. Counted
 * in ticks of 10 ms: measure over enough work that a tick or two does not matter.
 */
export async function processCpuMicros(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  // The fields after the command name, which may hold spaces, in parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return ((ticks || 0) * 1e6) / TICKS_PER_S;
}

/**
 * CPU µs of this process's threads, summed by kind: the thread's name (`comm`) without a
 * trailing number, so `worker-1` and `worker-2` are one kind (Deno names its Web Workers
 * so; `deno` is the JavaScript thread, `V8 DefaultWorke` V8's helpers for the collector
 * and the compilers, `tokio-runtime-w` the runtime's I/O threads). From `/proc/self/task`
 * (Linux, ns on the CPU); empty elsewhere. Threads that ended are not counted.
 */
export function threadCpuByKind(): Record<string, number> {
  const out: Record<string, number> = {};
  let tasks: Iterable<Deno.DirEntry>;
  try {
    tasks = Deno.readDirSync("/proc/self/task");
  } catch {
    return out;
  }
  for (const t of tasks) {
    let kind: string;
    try {
      kind = Deno.readTextFileSync(`/proc/self/task/${t.name}/comm`).trim().replace(/-\d+$/, "");
    } catch {
      continue; // ended meanwhile
    }
    const us = threadCpuMicros(Number(t.name));
    if (us !== undefined) out[kind] = (out[kind] ?? 0) + us;
  }
  return out;
}

/** `after` less `before`, by kind (a kind that appeared counts from 0). */
export function threadCpuSince(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([kind, us]) => [kind, us - (before[kind] ?? 0)]),
  );
}

/** What each kind of thread ({@linkcode threadCpuByKind}) is called in the benches' lines. */
const THREAD_KINDS: Record<string, string> = {
  deno: "JS",
  "V8 DefaultWorke": "V8 helpers",
  "tokio-runtime-w": "I/O threads",
  worker: "ack checks",
};

/**
 * CPU by kind of thread, largest first, in ms, as "JS 12.3, V8 helpers 4.5" (kinds under
 * 0.1 ms left out).
 */
export function threadCpuLine(micros: Record<string, number>): string {
  return Object.entries(micros).filter(([, us]) => us >= 100)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, us]) => `${THREAD_KINDS[kind] ?? kind} ${(us / 1000).toFixed(1)}`).join(", ");
}
