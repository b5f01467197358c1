/**
 * Running an operator's verify, reload or check command with a timeout.
 *
 * @module
 */

/** Bytes of a command's output kept for its summary: the tail, where errors are. */
export const OUTPUT_TAIL_BYTES = 1024;

/** How long output is still read after the command exited. */
const DRAIN_GRACE_MS = 250;

/** Result of {@linkcode runCommand}. */
export interface CommandResult {
  ok: boolean;
  /**
   * Exit code, signal or timeout, and the last {@linkcode OUTPUT_TAIL_BYTES} bytes of
   * stdout and stderr (in the order they arrived, lines joined by ` | `).
   */
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
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: options.env ?? {},
    stdin: "null",
    stdout: "piped",
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
  }, timeoutMs);
  // One tail for both streams, so an error line keeps its place among the others.
  const tail = new _Tail(OUTPUT_TAIL_BYTES);
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const drained = Promise.all(readers.map((r) => tail.drain(r)));
  const status = await child.status;
  clearTimeout(timer);
  // A daemon the command started may hold the pipes open: read what is there, not more.
  let grace: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([drained, new Promise((r) => (grace = setTimeout(r, DRAIN_GRACE_MS)))]);
  clearTimeout(grace);
  await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
  await drained;
  if (status.success) return { ok: true, summary: "exit 0" };
  const how = timedOut
    ? `timed out after ${timeoutMs} ms`
    : status.signal
    ? `killed by ${status.signal}`
    : `exit ${status.code}`;
  const output = tail.text();
  return { ok: false, summary: output ? `${how}: ${output}` : how };
}

/** The last `limit` bytes of what was appended. */
class _Tail {
  #chunks: Uint8Array[] = [];
  #size = 0;
  #dropped = false;

  constructor(readonly limit: number) {}

  append(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - this.#chunks[0]!.length >= this.limit) {
      this.#size -= this.#chunks.shift()!.length;
      this.#dropped = true;
    }
  }

  async drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) this.append(r.value);
    } catch {
      // cancelled: what was read is kept
    }
  }

  /** The tail as one line: trimmed, empty lines dropped, `…` where output was cut. */
  text(): string {
    const all = new Uint8Array(this.#size);
    let off = 0;
    for (const c of this.#chunks) {
      all.set(c, off);
      off += c.length;
    }
    const cut = all.length > this.limit;
    let bytes = cut ? all.subarray(all.length - this.limit) : all;
    // Do not start in the middle of a UTF-8 sequence.
    while (cut && bytes.length > 0 && (bytes[0]! & 0xc0) === 0x80) bytes = bytes.subarray(1);
    const lines = new TextDecoder().decode(bytes).split("\n").map((l) => l.trim())
      .filter((l) => l !== "");
    const text = lines.join(" | ");
    return text && (cut || this.#dropped) ? `…${text}` : text;
  }
}
