/**
 * CPU time of another process, for the benches that measure one (nats-server, an agent
 * process, a floor subscriber).
 *
 * @module
 */

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
