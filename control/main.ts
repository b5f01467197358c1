/**
 * `deno task control`: runs the control plane until Ctrl-C or SIGTERM.
 *
 * @example
 * ```sh
 * deno task control --nats nats://127.0.0.1:4222 --port 8080 \
 *   --signing-key .atlas/signing.key --token-file .atlas/admin.token --regions us-east,eu-west
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { type ControlOptions, startControl } from "./server.ts";
import { TokenSpec } from "./auth.ts";
import {
  componentLogger,
  configureLogging,
  type LoggingOptions,
  loggingOptions,
  untilStopSignal,
} from "@atlas/store";

/** Usage text of `deno task control`. */
export const USAGE = `Usage: deno task control [options]

Runs the Atlas control plane (HTTP API) over NATS JetStream.

Options:
  --nats <url[,url]>         NATS servers (default $ATLAS_NATS_URL or nats://127.0.0.1:4222)
  --port <port>              HTTP port, 0 for any free one (default 8080)
  --hostname <addr>          address to listen on (default 127.0.0.1)
  --signing-key <file>       Ed25519 signing key (make one: deno task atlas keys generate <file>)
  --key-dir <dir>            signing keys; \`atlas keys rotate\` writes new ones here
                             (default: keys/ beside --signing-key)
  --token-file <file>        plain-text file holding one admin token (named "admin")
  --tokens-file <file>       JSON file: [{"name", "token", "role": "admin" | "reader"}]
  --regions <a,b>            regions to provision at start
  --replicas <n>             replicas of streams and buckets (default 1)
  --max-content-bytes <n>    largest content of one version (default 1048576)
  --inline-max-bytes <n>     content up to this size travels in the notice (default 65536)
  --log-format <text|json>   log lines as text or JSON (default $ATLAS_LOG_FORMAT or text)
  --log-level <level>        lowest level logged (default $ATLAS_LOG_LEVEL or info)
  -h, --help                 show this help
`;

/** A command-line mistake: printed with the usage hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function _int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value)) {
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

async function _readFile(what: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`Cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/**
 * Turns command-line arguments into {@linkcode ControlOptions}, reading token files and
 * checking the signing key exists. Returns null when `--help` was asked for.
 *
 * @example
 * ```ts
 * const options = await parseControlArgs(["--signing-key", "k.json", "--token-file", "t"]);
 * ```
 */
export async function parseControlArgs(
  args: string[],
  env: { get(name: string): string | undefined } = Deno.env,
): Promise<ControlOptions | null> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        nats: { type: "string" },
        port: { type: "string" },
        hostname: { type: "string" },
        "signing-key": { type: "string" },
        "key-dir": { type: "string" },
        "token-file": { type: "string" },
        "tokens-file": { type: "string" },
        regions: { type: "string" },
        replicas: { type: "string" },
        "max-content-bytes": { type: "string" },
        "inline-max-bytes": { type: "string" },
        // read by main (logging is the process's, not the server's)
        "log-format": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return null;

  const signingKey = values["signing-key"] ?? env.get("ATLAS_SIGNING_KEY");
  if (!signingKey) {
    throw new UsageError(
      "No signing key: pass --signing-key <file> (create one with `deno task atlas keys " +
        "generate .atlas/signing.key`)",
    );
  }
  try {
    await Deno.stat(signingKey);
  } catch {
    throw new UsageError(
      `Signing key ${signingKey} does not exist: create it with \`deno task atlas keys ` +
        `generate ${signingKey}\``,
    );
  }

  const tokens: TokenSpec[] = [];
  if (values["token-file"]) {
    const token = (await _readFile("token file", values["token-file"])).trim();
    if (!token) throw new UsageError(`Token file ${values["token-file"]} is empty`);
    tokens.push({ name: "admin", token, role: "admin" });
  }
  if (values["tokens-file"]) {
    const path = values["tokens-file"];
    let parsed: unknown;
    try {
      parsed = JSON.parse(await _readFile("tokens file", path));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`Tokens file ${path} is not JSON: ${(e as Error).message}`);
    }
    const result = z.array(TokenSpec).safeParse(parsed);
    if (!result.success) {
      throw new UsageError(
        `Tokens file ${path} must be [{"name", "token", "role": "admin" | "reader"}]: ` +
          z.prettifyError(result.error),
      );
    }
    tokens.push(...result.data);
  }
  if (tokens.length === 0) {
    throw new UsageError("No API tokens: pass --token-file <file> or --tokens-file <file>");
  }

  const options: ControlOptions = {
    nats: values.nats ?? env.get("ATLAS_NATS_URL") ?? "nats://127.0.0.1:4222",
    signingKey,
    tokens,
    port: _int("port", values.port) ?? 8080,
    hostname: values.hostname ?? "127.0.0.1",
    regions: values.regions?.split(",").map((r) => r.trim()).filter(Boolean) ?? [],
    replicas: _int("replicas", values.replicas) ?? 1,
  };
  const keyDir = values["key-dir"] ?? env.get("ATLAS_KEY_DIR");
  if (keyDir) options.keyDir = keyDir;
  const maxContentBytes = _int("max-content-bytes", values["max-content-bytes"]);
  if (maxContentBytes !== undefined) options.maxContentBytes = maxContentBytes;
  const inlineMaxBytes = _int("inline-max-bytes", values["inline-max-bytes"]);
  if (inlineMaxBytes !== undefined) options.inlineMaxBytes = inlineMaxBytes;
  return options;
}

/** The logging options of `--log-format` and `--log-level` (else their env variables). */
function _loggingArgs(args: string[]): LoggingOptions {
  const { values } = parseArgs({
    args,
    strict: false,
    options: { "log-format": { type: "string" }, "log-level": { type: "string" } },
  });
  const format = values["log-format"];
  const level = values["log-level"];
  try {
    return loggingOptions({
      format: typeof format === "string" ? format : undefined,
      level: typeof level === "string" ? level : undefined,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Runs the control plane until SIGINT or SIGTERM; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let options: ControlOptions | null;
  try {
    options = await parseControlArgs(args);
    if (options) configureLogging(_loggingArgs(args));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`error: ${e.message}\nRun \`deno task control --help\` for usage.`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  let control;
  try {
    control = await startControl(options);
  } catch (e) {
    console.error(`error: cannot start the control plane: ${(e as Error).message}`);
    return 1;
  }
  const log = componentLogger("control").logger;
  log.info("listening", { url: control.url });
  const signal = await untilStopSignal();
  log.info("shutting down", { signal });
  await control[Symbol.asyncDispose]();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
