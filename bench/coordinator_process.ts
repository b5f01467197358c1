/**
 * Starts the benchmark's region coordinator (coordinator_worker.ts) in a process of its own
 * and talks to it over the orchestration connection (`bench.coord.*`). Used by the rollout
 * row (which measures it) and the storm row (where it is simply the region's coordinator:
 * its beacons tell the agents their reconnect window, core/reconnect.ts).
 *
 * Invariant: `close()` ends the process, whatever state it is in.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";

const WORKER = new URL("./coordinator_worker.ts", import.meta.url).pathname;

/** Where and how to start the coordinator process. */
export interface CoordinatorProcessOptions {
  /** The orchestration connection (system user with auth). */
  nc: NatsConnection;
  url: string;
  region: string;
  keyFile: string;
  /** Env of the process (the bench's and the coordinator's credentials). */
  env: Record<string, string>;
  tickMs: number;
}

/** A running bench coordinator. */
export interface CoordinatorProcess {
  /** Sends a command and returns the answer; throws what the process reported. */
  tell: (cmd: string, arg?: unknown) => Promise<Record<string, unknown>>;
  /** Stops the process and waits for it to exit. */
  close: () => Promise<void>;
}

/** Starts the coordinator process and waits until it leads its region (≤ 20 s). */
export async function startCoordinatorProcess(
  options: CoordinatorProcessOptions,
): Promise<CoordinatorProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, options.url, options.region, options.keyFile, `${options.tickMs}`],
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const tell = async (cmd: string, arg: unknown = {}) => {
    const reply = await options.nc.request(`bench.coord.${cmd}`, JSON.stringify(arg), {
      timeout: 60_000,
    });
    const r = reply.json() as Record<string, unknown> & { ok: boolean; error?: string };
    if (!r.ok) throw new Error(`coordinator ${cmd}: ${r.error}`);
    return r;
  };
  const close = async () => {
    await tell("exit").catch(() => child.kill("SIGKILL"));
    await child.status;
  };
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    for (let out = ""; !out.includes("ready");) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the coordinator process exited before it was ready");
      out += value;
    }
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    for (let i = 0; !(await tell("steps", { since: Date.now() })).leader; i++) {
      if (i > 100) throw new Error("the bench coordinator did not lead within 20 s");
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    child.kill("SIGKILL");
    await child.status;
    throw e;
  }
  return { tell, close };
}
