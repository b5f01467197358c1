/**
 * `deno task atlas <command>`: the operator's CLI, a client of the control plane API
 * (except `keys generate`, which is local).
 *
 * @example
 * ```sh
 * deno task atlas configs create web --content-type application/json
 * deno task atlas publish web ./web.json -m "raise limits"
 * deno task atlas activate web 1
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ApiClient, CliError, resolveTarget } from "./client.ts";
import { type CliIo, COMMANDS } from "./commands.ts";
import { ROLLOUT_COMMANDS } from "./rollouts.ts";

export type { CliIo } from "./commands.ts";

/** Usage text of the CLI. */
export const HELP = `Usage: deno task atlas <command> [options]

Commands:
  configs                                   list configs
  configs create <name> [--content-type T] [--schema file.json] [--description D]
                                            create or update a config
  publish <name> <file> [-m message]        publish the file as a new version
  versions <name>                           list versions
  show <name> <version>                     print a version's content
  diff <name> <from> <to>                   unified diff between two versions
  activate <name> <version> [--regions a,b] make a version active now
  rollback <name> [--regions a,b] [--to v]  go back to the prior (or a named) version
  status <name>                             pointer and agents per region
  agents [--region r]                       agents, gone heartbeats, drift, quarantines
  agents release <region> <id> [--config c]
                                            release a quarantined agent from config c
                                            (default: from every config)
  agents remove <region> <id> [--force]     forget an agent (heartbeat and quarantines);
                                            refused while it heartbeats, unless --force
  rollout start <name> <version> [--strategy canary|linear|exponential|immediate]
      [--canary-percent N] [--steps N] [--bake SECONDS] [--regions a,b]
      [--max-failure-ratio X] [--preflight] [--allow-no-coordinator]
                                            start a staged rollout (default: canary; the
                                            canary is the first of --regions, else the
                                            region added first)
  rollout list [--config c] [--state s]     rollouts, newest first
  rollout show <id>                         stages, progress per region, transitions
  rollout watch <id>                        follow progress and what each region waits
                                            for until it ends (exit 1 unless it succeeded)
  rollout pause|resume|abort|promote <id> [-m reason]
                                            change a rollout (promote skips the bake)
  alerts [--all]                            open (or all) alerts, newest first
  alerts resolve <id> [-m reason]           resolve an open alert
  audit [--config c] [--limit n]            audit log, newest first
  regions                                   list regions
  regions add <name> [--cluster C] [--replicas N]
                                            provision a region (placed in cluster C)
  keys                                      trusted keys JSON (an agent's trustedKeys file)
  keys generate <file>                      write a new signing key (local, mode 0600)
  help                                      this text

Options: --json prints the raw JSON response.
Environment: ATLAS_URL (default: .atlas/dev/dev.json from dev mode, else
http://127.0.0.1:8080), ATLAS_TOKEN or ATLAS_TOKEN_FILE.
`;

async function _writeAll(w: { write(p: Uint8Array): Promise<number> }, data: Uint8Array) {
  for (let off = 0; off < data.length;) off += await w.write(data.subarray(off));
}

const DENO_IO: CliIo = {
  env: Deno.env,
  cwd: Deno.cwd(),
  stdout: (data) => _writeAll(Deno.stdout, data),
  stderr: (text) => console.error(text),
  isTerminal: () => Deno.stdout.isTerminal(),
};

/**
 * Runs one CLI command; returns the exit code (0 ok, 1 error).
 *
 * @example
 * ```ts
 * const code = await main(["configs", "--json"]);
 * ```
 */
export async function main(argv: string[], io: CliIo = DENO_IO): Promise<number> {
  const print = (text: string) => io.stdout(new TextEncoder().encode(text + "\n"));
  try {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: "boolean" },
        "content-type": { type: "string" },
        schema: { type: "string" },
        description: { type: "string" },
        message: { type: "string", short: "m" },
        regions: { type: "string" },
        region: { type: "string" },
        to: { type: "string" },
        config: { type: "string" },
        limit: { type: "string" },
        strategy: { type: "string" },
        "canary-percent": { type: "string" },
        steps: { type: "string" },
        bake: { type: "string" },
        "max-failure-ratio": { type: "string" },
        state: { type: "string" },
        all: { type: "boolean" },
        force: { type: "boolean" },
        preflight: { type: "boolean" },
        "allow-no-coordinator": { type: "boolean" },
        cluster: { type: "string" },
        replicas: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    const [command, ...args] = positionals;
    if (!command || command === "help" || values.help) {
      await print(HELP);
      return 0;
    }
    const run = COMMANDS[command] ?? ROLLOUT_COMMANDS[command];
    if (!run) {
      throw new CliError(
        `Unknown command ${JSON.stringify(command)}: see \`deno task atlas help\``,
      );
    }
    let client: ApiClient | undefined;
    await run({
      args,
      flags: values,
      io,
      print,
      client: async () => (client ??= new ApiClient(await resolveTarget(io.env, io.cwd))),
    });
    return 0;
  } catch (e) {
    const details = e instanceof CliError ? e.details : [];
    io.stderr(
      [`error: ${(e as Error).message}`, ...details.map((d) => `  ${d.path || "/"}: ${d.message}`)]
        .join("\n"),
    );
    return 1;
  }
}
