/**
 * CPU profiles for `deno task bench --profile`: V8's sampling profiler through
 * `node:inspector`, started and stopped inside a process, and a summary of where the time
 * went (self time per function, summed over every profile given).
 *
 * @module
 */
import { Session } from "node:inspector";

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
/** Where a sample's function is: its name, script and line. */
export type ProfileFrame = ProfileNode["callFrame"];
/** A `.cpuprofile` (the Chrome DevTools format). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
  /** Wall-clock ms (`Date.now()`) of `startTime`, where the process noted it. */
  wallStart?: number;
}

/** A running profiler in this process. */
export class Profiler {
  readonly #session = new Session();

  #post<T>(method: string, params: object = {}): Promise<T> {
    return new Promise((resolve, reject) =>
      this.#session.post(
        method,
        params,
        (e: unknown, r: unknown) => (e ? reject(e) : resolve(r as T)),
      )
    );
  }

  /** Starts sampling every `intervalUs` microseconds. */
  async start(intervalUs = 500): Promise<void> {
    this.#session.connect();
    await this.#post("Profiler.enable");
    await this.#post("Profiler.setSamplingInterval", { interval: intervalUs });
    this.#wallStart = Date.now();
    await this.#post("Profiler.start");
  }

  #wallStart = 0;

  /** Stops and returns the profile, with the wall-clock time it started at. */
  async stop(): Promise<CpuProfile> {
    const { profile } = await this.#post<{ profile: CpuProfile }>("Profiler.stop");
    this.#session.disconnect();
    return { ...profile, wallStart: this.#wallStart };
  }
}

/** Where a frame comes from, shortened: `agent/agent.ts:412`, `npm @nats-io/nats-core`. */
function _where(frame: ProfileNode["callFrame"]): string {
  const url = frame.url;
  if (!url) return "(native)";
  const npm = url.match(
    /node_modules\/(?:\.deno\/[^/]+\/node_modules\/)?(@[^/]+\/[^/]+|[^/@][^/]*)/,
  );
  if (npm) return `npm ${npm[1]}`;
  const local = url.match(/\/(agent|control|coordinator|nats|bench)\/([^/]+)$/);
  if (local) return `${local[1]}/${local[2]}:${frame.lineNumber + 1}`;
  return url.replace(/^.*\//, "");
}

/**
 * The `top` functions by self time over `profiles`, with their share of all samples and
 * the share of each package (npm module, Atlas package, native).
 */
export function summarizeProfiles(
  profiles: CpuProfile[],
  top = 20,
): { functions: [string, string, string][]; packages: [string, string][] } {
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const hits = new Map<number, number>();
    for (const id of p.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
    for (const [id, count] of hits) {
      const n = nodes.get(id)!;
      const name = n.callFrame.functionName || "(anonymous)";
      if (name === "(idle)" || name === "(program)") continue;
      const where = _where(n.callFrame);
      const key = `${name}  ${where}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + count);
      const pkg = where.startsWith("npm ") ? where : where.split("/")[0]!.split(":")[0]!;
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + count);
      total += count;
    }
  }
  const pct = (n: number) => `${((n / Math.max(1, total)) * 100).toFixed(1)} %`;
  const functions = [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, n]): [string, string, string] => {
      const [fn, where] = k.split("  ");
      return [fn!, where!, pct(n)];
    });
  const packages = [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
    .map(([k, n]): [string, string] => [k, pct(n)]);
  return { functions, packages };
}

/**
 * The `top` functions by self time (ms) in the samples of `profile` taken between the
 * wall-clock times `fromMs` and `toMs` (the profile must carry `wallStart`; sampling
 * starts within a millisecond of it): what one step of a coordinator spent its time on.
 */
export function selfMsBetween(
  profile: CpuProfile,
  fromMs: number,
  toMs: number,
  top = 6,
): [string, number][] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  let t = profile.startTime;
  for (const [i, id] of (profile.samples ?? []).entries()) {
    const dt = profile.timeDeltas?.[i] ?? 0;
    t += dt;
    const wall = (profile.wallStart ?? NaN) + (t - profile.startTime) / 1000;
    if (!(wall >= fromMs && wall <= toMs)) continue;
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    const key = `${frame.functionName || "(anonymous)"} ${_where(frame)}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + dt / 1000);
  }
  return [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
}

/**
 * CPU ms sampled with a frame that `match`es on the stack (each sample counted once), and
 * all busy CPU ms of `profile` (as {@linkcode busyMsByPart} counts them, with one part).
 * Synchronous callers only: an async function resumed after
 * an `await` runs without its caller on the stack.
 */
export function inclusiveMs(
  profile: CpuProfile,
  match: (frame: ProfileFrame) => boolean,
): { ms: number; busyMs: number } {
  const { byPart, busyMs } = busyMsByPart(profile, [
    { name: "matched", match: (stack) => stack.some(match) },
  ]);
  return { ms: byPart[0]![1], busyMs };
}

/** A named share of a profile: the samples whose stack (leaf first) it `match`es. */
export interface ProfilePart {
  name: string;
  match: (stack: readonly ProfileFrame[]) => boolean;
}

/**
 * Busy CPU ms of `profile` split into `parts`: each sample goes to the first part whose
 * `match` takes its stack (leaf first), else to `"other"`. Idle samples are left out, and
 * so are the profiler's own (its start, posted through `node:inspector`, is sampled).
 * Stacks are synchronous: code resumed after an `await` runs without its caller.
 */
export function busyMsByPart(
  profile: CpuProfile,
  parts: readonly ProfilePart[],
): { byPart: [string, number][]; busyMs: number } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<number, ProfileFrame[]>();
  const stackOf = (id: number) => {
    let stack = stacks.get(id);
    if (!stack) {
      stack = [];
      for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
        stack.push(nodes.get(x)!.callFrame);
      }
      stacks.set(id, stack);
    }
    return stack;
  };
  const byPart = new Map<string, number>([...parts.map((p) => [p.name, 0] as const)]);
  let busyMs = 0;
  for (const [i, id] of (profile.samples ?? []).entries()) {
    const stack = stackOf(id);
    const leaf = stack[0]?.functionName;
    if (leaf === "(idle)" || leaf === "(program)" || leaf === undefined) continue;
    if (stack.some((f) => f.url.endsWith("/bench/profile.ts"))) continue;
    const ms = (profile.timeDeltas?.[i] ?? 0) / 1000;
    busyMs += ms;
    const name = parts.find((p) => p.match(stack))?.name ?? "other";
    byPart.set(name, (byPart.get(name) ?? 0) + ms);
  }
  return { byPart: [...byPart.entries()], busyMs };
}
