/**
 * A service run as a real process in a test (a systemd unit's ExecStart, the bundled
 * agent): its output is kept for the failure log, and {@linkcode ServiceProcess.stop}
 * sends a signal and returns the exit status.
 *
 * @module
 */

/** Options of {@linkcode ServiceProcess.spawn}. */
export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Start with `env` only, as systemd does. @default false */
  clearEnv?: boolean;
}

/** A child process whose stdout and stderr are collected. */
export class ServiceProcess {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  #out = "";
  #pumps: Promise<void>[];

  private constructor(name: string, child: Deno.ChildProcess) {
    this.name = name;
    this.child = child;
    this.#pumps = [child.stdout, child.stderr].map(async (stream) => {
      const dec = new TextDecoder();
      for await (const chunk of stream) this.#out += dec.decode(chunk, { stream: true });
    });
  }

  /**
   * Starts `argv` (program, then arguments).
   *
   * @example
   * ```ts
   * await using p = ServiceProcess.spawn("agent", ["deno", "run", "-A", "a.js"]);
   * ```
   */
  static spawn(name: string, argv: string[], options: SpawnOptions = {}): ServiceProcess {
    const [cmd, ...args] = argv;
    if (!cmd) throw new TypeError(`Cannot start ${name}: the command line is empty`);
    const child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.clearEnv ? { clearEnv: true } : {}),
    }).spawn();
    return new ServiceProcess(name, child);
  }

  /** Everything it printed so far. */
  get output(): string {
    return this.#out;
  }

  /** The last `lines` lines it printed. */
  logTail(lines = 60): Promise<string> {
    return Promise.resolve(this.#out.split("\n").slice(-lines).join("\n"));
  }

  /** Sends `signal` (if still running) and waits for the exit and the last output. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    const status = await this.child.status;
    await Promise.all(this.#pumps);
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}
