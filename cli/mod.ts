/**
 * `@atlas/cli`: the `atlas` command line, a client of the control plane's HTTP API. It
 * imports no server code; `deno task atlas` runs `cli/main.ts`.
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
export { type CliIo, HELP, main } from "./cli.ts";
export {
  ApiClient,
  CliError,
  DEFAULT_URL,
  type Env,
  resolveTarget,
  type Target,
} from "./client.ts";
export { short, table, when } from "./format.ts";
export { progressBar, progressLines } from "./rollouts.ts";
