/**
 * `@atlas/cli`: the `atlas` command line, a client of the control plane's HTTP API. It
 * imports no server code; `deno task atlas` runs `cli/main.ts`. Commands and flags are
 * declared once (`COMMAND_TREE`) and parsed by commander, which also writes `--help`;
 * `atlas completion bash|zsh` derives its scripts from the same tree.
 *
 * @example
 * ```ts
 * import { main } from "@atlas/cli";
 *
 * const code = await main(["configs", "--json"]);
 * ```
 *
 * @module
 */
export {
  buildProgram,
  callerCwd,
  type CliIo,
  COMMAND_TREE,
  commandPath,
  type CommandSpec,
  main,
} from "./cli.ts";
export {
  ApiClient,
  DEFAULT_DEV_DIR,
  DevFile,
  type Env,
  resolvePath,
  resolveTarget,
  type Target,
  type TargetFlags,
} from "./client.ts";
export {
  API_TERMS,
  type ApiTerm,
  CliError,
  CliErrorCode,
  inCliTerms,
  issueInCliTerms,
} from "./errors.ts";
export { completionScript, SHELLS } from "./completion.ts";
export {
  parseDuration,
  waitLines,
  type WaitProgress,
  waitProgress,
  type WaitTarget,
} from "./active.ts";
export { EXPORT_FORMAT, ExportedConfig, ExportedVersion, ExportFile } from "./transfer.ts";
export { short, table, when } from "./format.ts";
export { progressBar, progressLines } from "./rollouts.ts";
export { TOKEN_COMMANDS, TokenView } from "./tokens.ts";
