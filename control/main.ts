/**
 * `deno task control`: runs the control plane until Ctrl-C or SIGTERM.
 *
 * @example
 * ```sh
 * deno task control --nats nats://127.0.0.1:4222 --port 8080 \
 *   --signing-key .atlas/signing.key --tokens-file .atlas/tokens.json --regions us-east,eu-west
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseTokensFile, type TokenFileEntry } from "@atlas/core";
import { type ControlOptions, startControl } from "./server.ts";
import {
  componentLogger,
  configureLogging,
  type LoggingOptions,
  loggingOptions,
  NATS_FLAGS,
  NATS_FLAGS_HELP,
  natsFlagOptions,
  STOP_DEADLINE_MS,
  stopWithin,
  untilStopSignal,
} from "@atlas/store";

/** Usage text of `deno task control`. */
export const USAGE = `Usage: deno task control [options]

Runs the Atlas control plane (HTTP API) over NATS JetStream.

Options:
  --nats <url[,url]>         NATS servers (default $ATLAS_NATS_URL or nats://127.0.0.1:4222)
  --auth-dir <dir>           auth directory of \`atlas auth init\`: enables agent enrolment
                             and revocation (default $ATLAS_AUTH_DIR)
  --port <port>              HTTP port, 0 for any free one (default 8080)
  --hostname <addr>          address to listen on (default 127.0.0.1)
  --signing-key <file>       Ed25519 signing key (make one: deno task atlas keys generate <file>)
  --key-dir <dir>            signing keys; \`atlas keys rotate\` writes new ones here
                             (default: keys/ beside --signing-key)
  --tokens-file <file>       bootstrap API tokens, hashed: [{"name", "role": "admin" |
                             "reader", "sha256"}] (make entries: deno task atlas tokens
                             hash); reloaded on SIGHUP; more are made at run time with
                             atlas tokens create
  --regions <a,b>            regions to provision at start
  --replicas <n>             replicas of streams and buckets (default 1)
  --max-content-bytes <n>    largest content of one version (default 1048576)
  --inline-max-bytes <n>     content up to this size travels in the notice (default 65536)
  --log-format <text|json>   log lines as text or JSON (default $ATLAS_LOG_FORMAT or text)
  --log-level <level>        lowest level logged (default $ATLAS_LOG_LEVEL or info)
  -h, --help                 show this help

NATS connection:
${NATS_FLAGS_HELP}
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
        "auth-dir": { type: "string" },
        ...NATS_FLAGS,
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

  if (values["token-file"]) {
    const plain = values["token-file"];
    throw new UsageError(
      `--token-file is gone: the control plane keeps no plain secrets. Hash the token into a ` +
        `tokens file, \`deno task atlas tokens hash --name admin --role admin --secret-file ` +
        `${plain} --out tokens.json\`, and pass --tokens-file tokens.json`,
    );
  }
  const path = values["tokens-file"];
  if (!path) {
    throw new UsageError(
      "No API tokens: pass --tokens-file <file> (make one with `deno task atlas tokens hash " +
        "--name admin --role admin --out tokens.json`, which prints the new secret once)",
    );
  }
  const tokens = await readTokensFile(path);
  if (tokens.length === 0) {
    throw new UsageError(
      `Tokens file ${path} is empty: it needs at least one admin to bootstrap (make one with ` +
        "`deno task atlas tokens hash --name admin --role admin --out " + path + "`)",
    );
  }

  let nats;
  try {
    nats = natsFlagOptions(values, env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const options: ControlOptions = {
    nats: values.nats ?? env.get("ATLAS_NATS_URL") ?? "nats://127.0.0.1:4222",
    ...(nats.credentials ? { credentials: nats.credentials } : {}),
    ...(values["auth-dir"] ?? env.get("ATLAS_AUTH_DIR")
      ? { authDir: values["auth-dir"] ?? env.get("ATLAS_AUTH_DIR") }
      : {}),
    ...(nats.tls ? { natsTls: nats.tls } : {}),
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

/**
 * The entries of the tokens file at `path`; a {@linkcode UsageError} saying what is wrong
 * when it cannot be read or is not a list of hashed tokens.
 *
 * @example
 * ```ts
 * const tokens = await readTokensFile("/etc/atlas/tokens.json");
 * ```
 */
export async function readTokensFile(path: string): Promise<TokenFileEntry[]> {
  try {
    return parseTokensFile(await _readFile("tokens file", path), path);
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(e.message);
    throw e;
  }
}

/** `--tokens-file` of `args` (already checked by parseControlArgs). */
function _tokensFileArg(args: string[]): string | undefined {
  const { values } = parseArgs({
    args,
    strict: false,
    options: { "tokens-file": { type: "string" } },
  });
  const path = values["tokens-file"];
  return typeof path === "string" ? path : undefined;
}

/**
 * Reloads the tokens file on SIGHUP (a file that does not parse keeps the tokens as they
 * were, and says why); returns how to stop listening.
 */
function _reloadOnHangup(
  control: { reloadTokens(tokens: TokenFileEntry[]): Promise<void> },
  path: string,
  log: {
    info(msg: string, f?: Record<string, unknown>): void;
    error(msg: string, f?: Record<string, unknown>): void;
  },
): () => void {
  const handler = () => {
    readTokensFile(path)
      .then(async (tokens) => {
        await control.reloadTokens(tokens);
        log.info("tokens file reloaded", { path, tokens: tokens.length });
      })
      .catch((e: Error) => {
        log.error("tokens file not reloaded; the tokens stay as they were", {
          path,
          error: e.message,
        });
      });
  };
  Deno.addSignalListener("SIGHUP", handler);
  return () => Deno.removeSignalListener("SIGHUP", handler);
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
  const tokensFile = _tokensFileArg(args);
  const stopReloading = tokensFile ? _reloadOnHangup(control, tokensFile, log) : () => {};
  const signal = await untilStopSignal();
  stopReloading();
  log.info("shutting down", { signal });
  if (!(await stopWithin(STOP_DEADLINE_MS, () => control[Symbol.asyncDispose]()))) {
    log.warn("stop cut short: NATS did not answer in time", { afterMs: STOP_DEADLINE_MS });
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
