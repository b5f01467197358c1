/**
 * Running an operator's reload or check command with a timeout.
 *
 * @module
 */

/** Result of {@linkcode runCommand}. */
export interface CommandResult {
  ok: boolean;
  /** Exit code, signal or timeout, and the tail of stderr. */
  summary: string;
}

/** Options of {@linkcode runCommand}. */
export interface RunCommandOptions {
  env?: Record<string, string>;
  /** Kill the command after this long. @default 30_000 */
  timeoutMs?: number;
}

/**
 * Runs `command` (a shell string, or argv) and reports whether it succeeded.
 *
 * @example
 * ```ts
 * const r = await runCommand("systemctl reload nginx", { timeoutMs: 10_000 });
 * ```
 */
export async function runCommand(
  command: string | string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const argv = typeof command === "string" ? ["sh", "-c", command] : command;
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: options.env ?? {},
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, options.timeoutMs ?? 30_000);
  const out = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
  if (out.success) return { ok: true, summary: "exit 0" };
  const how = timedOut ? `timed out after ${options.timeoutMs ?? 30_000} ms` : `exit ${out.code}`;
  return { ok: false, summary: stderr ? `${how}: ${stderr}` : how };
}
