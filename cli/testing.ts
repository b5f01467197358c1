/**
 * Test helpers of the `atlas` CLI: running it in-process with captured output, and a
 * control plane on a random port for it to talk to.
 *
 * @module
 */
import { generateSigningKey, tokenFileEntry } from "@atlas/core";
import { type CliIo, main } from "./cli.ts";
import { startControl } from "@atlas/control";
import { credsFor, tempDir } from "@atlas/testkit";

/** The admin token of {@linkcode startTestControl}. */
export const CLI_TEST_TOKEN = "cli-test-admin-token";

/** Output captured from in-process CLI runs. */
export interface CapturedIo {
  io: CliIo;
  /** Everything written to stdout so far. */
  bytes(): Uint8Array;
  stdout(): string;
  stderr(): string;
}

/**
 * A {@linkcode CliIo} over `env` and `cwd` that captures what the CLI writes (stdout is
 * not a terminal).
 *
 * @example
 * ```ts
 * const captured = captureIo({ ATLAS_URL: url, ATLAS_TOKEN: token }, dir);
 * const code = await main(["configs"], captured.io);
 * captured.stdout();
 * ```
 */
export function captureIo(env: Record<string, string>, cwd: string): CapturedIo {
  const chunks: Uint8Array[] = [];
  let stderr = "";
  const bytes = () => {
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((off, c) => (out.set(c, off), off + c.length), 0);
    return out;
  };
  return {
    io: {
      env: { get: (name) => env[name] },
      cwd,
      stdout: (data) => {
        chunks.push(data.slice());
        return Promise.resolve();
      },
      stderr: (text) => {
        stderr += text + "\n";
      },
    },
    bytes,
    stdout: () => new TextDecoder().decode(bytes()),
    stderr: () => stderr,
  };
}

/** Runs the CLI in-process with captured output. */
export async function atlasHere(env: Record<string, string>, cwd: string, ...args: string[]) {
  const captured = captureIo(env, cwd);
  const code = await main(args, captured.io);
  return { code, bytes: captured.bytes(), stdout: captured.stdout(), stderr: captured.stderr() };
}

/**
 * A control plane on a random port over the nats-server at `urls`, a temp dir holding
 * its signing key, and the environment the CLI needs to reach it.
 *
 * @example
 * ```ts
 * await using control = await startTestControl(urls);
 * await atlasHere(control.env, control.dir, "configs");
 * ```
 */
export async function startTestControl(urls: string[]) {
  const dir = await tempDir();
  const signingKey = `${dir}/signing.key`;
  await Deno.writeTextFile(signingKey, JSON.stringify(generateSigningKey()), { mode: 0o600 });
  const credentials = await credsFor(urls, "control");
  const control = await startControl({
    log: () => {}, // the CLI tests read what the CLI prints, not the server
    nats: urls,
    ...(credentials ? { credentials } : {}),
    port: 0,
    signingKey,
    tokens: [tokenFileEntry("ops", "admin", CLI_TEST_TOKEN)],
  });
  return {
    dir,
    env: { ATLAS_URL: control.url, ATLAS_TOKEN: CLI_TEST_TOKEN },
    async [Symbol.asyncDispose]() {
      await control[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
