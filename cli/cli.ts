/**
 * `deno task atlas <command>`: the operator's CLI, a client of the control plane API
 * (except `keys generate`, `tokens hash` and `completion`, which are local). Commands, their arguments
 * and flags are declared once in {@linkcode COMMAND_TREE}; commander parses them and
 * generates `atlas --help` and `atlas <command> --help`, and `atlas completion` derives
 * its scripts from the same tree.
 *
 * @example
 * ```sh
 * deno task atlas configs create web --content-type application/json
 * deno task atlas publish web ./web.json -m "raise limits"
 * deno task atlas activate web 1 --wait
 * ```
 *
 * @module
 */
import { Command, CommanderError, type Help } from "commander";
import { ApiClient, resolvePath, resolveTarget } from "./client.ts";
import { type CliIo, COMMANDS, type Flags, type Run } from "./commands.ts";
import { completionScript, SHELLS } from "./completion.ts";
import { CliError, CliErrorCode } from "./errors.ts";
import { ACTIVE_COMMANDS } from "./active.ts";
import { ROLLOUT_COMMANDS } from "./rollouts.ts";
import { TRANSFER_COMMANDS } from "./transfer.ts";
import { AUTH_COMMANDS, CREDS_ROLES } from "./auth_commands.ts";
import { TOKEN_COMMANDS } from "./tokens.ts";
import { EVIDENCE_COMMANDS } from "./evidence.ts";
import { TOP_COMMANDS } from "./top.ts";

export type { CliIo } from "./commands.ts";

/** A command of the CLI: its arguments, flags and what runs it. */
export interface CommandSpec {
  /** The word that names it (`create` in `atlas configs create`). */
  name: string;
  /** Positional arguments, commander style: `<required>`, `[optional]`, `[many...]`. */
  args?: readonly string[];
  summary: string;
  /** Longer help, shown by `atlas <command> --help`. */
  help?: string;
  /** Flags: `[flags, description]`, commander style (`--to <version>`, `-m, --message <text>`). */
  options?: readonly (readonly [string, string])[];
  /** Key into the handler table; absent for a group (`rollout`) that only has subcommands. */
  run?: string;
  commands?: readonly CommandSpec[];
}

const MESSAGE = ["-m, --message <text>", "why (recorded in the audit)"] as const;
const REGIONS = ["--regions <a,b>", "only these regions (default: every region)"] as const;
const WAIT = [
  "--wait",
  "follow the agents' acks until every agent managing the config in the targeted regions " +
  "runs the version (exit 1 on timeout, naming what is missing)",
] as const;
const TIMEOUT = [
  "--timeout <duration>",
  "how long --wait waits: 90, 90s, 2m (default: 60s)",
] as const;

/** Every command of the CLI. */
export const COMMAND_TREE: readonly CommandSpec[] = [
  {
    name: "configs",
    summary: "list configs",
    run: "configs",
    commands: [{
      name: "create",
      args: ["<name>"],
      summary: "create or update a config",
      options: [
        ["--content-type <type>", "application/json (default), application/yaml or text/plain"],
        ["--schema <file.json>", "JSON Schema every version must satisfy"],
        ["--description <text>", "what the config is for"],
      ],
      run: "configs create",
    }],
  },
  {
    name: "get",
    args: ["<config>"],
    summary: "the active version per region (and, for one region, its content)",
    options: [["--region <region>", "only this region: also prints the active content"]],
    run: "get",
  },
  {
    name: "publish",
    args: ["<name>", "<file>"],
    summary: "publish the file as a new version",
    options: [["-m, --message <text>", "what changed"]],
    run: "publish",
  },
  { name: "versions", args: ["<name>"], summary: "list versions", run: "versions" },
  {
    name: "show",
    args: ["<name>", "<version>"],
    summary: "print a version's content",
    run: "show",
  },
  {
    name: "diff",
    args: ["<name>", "<from>", "<to>"],
    summary: "unified diff between two versions",
    run: "diff",
  },
  {
    name: "activate",
    args: ["<name>", "<version>"],
    summary: "make a version active now",
    options: [REGIONS, WAIT, TIMEOUT],
    run: "activate",
  },
  {
    name: "rollback",
    args: ["<name>"],
    summary: "go back to the prior (or a named) version",
    options: [REGIONS, ["--to <version>", "roll back to this version"], WAIT, TIMEOUT],
    run: "rollback",
  },
  {
    name: "status",
    args: ["<name>"],
    summary: "pointer and agents per region",
    run: "status",
  },
  {
    name: "top",
    args: ["<name>"],
    summary: "live propagation per region: agents acked, p50/p95/p99 from activation to ack",
    help: "Refreshes until Ctrl-C. The latencies are the agents' own (pointer issuedAt to " +
      "ack), the numbers the coordinators' atlas_propagation_seconds counts; only acks " +
      "signed by enrolled agents count. With --json, one JSON line per refresh.",
    options: [
      ["--interval <duration>", "time between refreshes: 500ms, 2s (default: 1s)"],
      ["--iterations <n>", "stop after n refreshes (default: until Ctrl-C)"],
    ],
    run: "top",
  },
  {
    name: "evidence",
    args: ["<name>", "<version>"],
    summary: "which hosts ran a version at a time, proven by their signed acks",
    help: "A host counts when its newest applied ack stored by then is for the version and " +
      "is signed by the host's enrolled key; forged or unsigned acks are ignored.",
    options: [
      ["--at <time>", "the time asked about, ISO-8601 (default: now)"],
      ["--region <region>", "only this region"],
    ],
    run: "evidence",
  },
  {
    name: "agents",
    summary: "agents, gone heartbeats, drift, quarantines",
    options: [["--region <region>", "only this region"]],
    run: "agents",
    commands: [
      {
        name: "release",
        args: ["<region>", "<id>"],
        summary: "release a quarantined agent",
        options: [["--config <name>", "only from this config (default: from every config)"]],
        run: "agents release",
      },
      {
        name: "remove",
        args: ["<region>", "<id>"],
        summary: "forget an agent (heartbeat and quarantines)",
        options: [["--force", "even while it heartbeats (it writes itself back)"]],
        run: "agents remove",
      },
      {
        name: "enroll",
        args: ["<region>", "<id>"],
        summary: "issue NATS credentials for exactly this agent (a new key each time)",
        options: [["--out <file>", "where to write the .creds (mode 0600, never overwrites)"]],
        run: "agents enroll",
      },
      {
        name: "revoke",
        args: ["<region>", "<id>"],
        summary: "revoke every NATS credential of this agent; the servers drop it",
        run: "agents revoke",
      },
    ],
  },
  {
    name: "rollout",
    summary: "staged rollouts",
    commands: [
      {
        name: "start",
        args: ["<name>", "<version>"],
        summary: "start a staged rollout",
        help: "The canary is the first of --regions, else the region added first.",
        options: [
          ["--strategy <name>", "canary (default), linear, exponential or immediate"],
          ["--canary-percent <n>", "share of the canary region's agents (canary)"],
          ["--steps <n>", "number of steps (linear)"],
          ["--bake <seconds>", "how long each stage must stay healthy"],
          REGIONS,
          ["--max-failure-ratio <x>", "share of failing agents a stage tolerates"],
          [
            "--gate-metric <gate...>",
            "PromQL gate on the service, '<query> <= <max> [for <n>s]' or '>= <min>'; " +
            "several allowed; put it after <name> <version>",
          ],
          ["--preflight", "first have every targeted agent verify the version"],
          ["--allow-no-coordinator", "start even where no coordinator is live"],
        ],
        run: "rollout start",
      },
      {
        name: "list",
        summary: "rollouts, newest first",
        options: [["--config <name>", "only of this config"], ["--state <state>", "only in it"]],
        run: "rollout list",
      },
      {
        name: "show",
        args: ["<id>"],
        summary: "stages, progress per region, transitions",
        run: "rollout show",
      },
      {
        name: "watch",
        args: ["<id>"],
        summary: "follow progress until it ends (exit 1 unless it succeeded)",
        run: "rollout watch",
      },
      ...(["pause", "resume", "abort", "promote"] as const).map((action) => ({
        name: action,
        args: ["<id>"],
        summary: action === "promote" ? "skip the rest of the current bake" : `${action} a rollout`,
        options: [MESSAGE],
        run: `rollout ${action}`,
      })),
    ],
  },
  {
    name: "alerts",
    summary: "open alerts, newest first",
    options: [["--all", "resolved ones too"]],
    run: "alerts",
    commands: [{
      name: "resolve",
      args: ["<id>"],
      summary: "resolve an open alert",
      options: [MESSAGE],
      run: "alerts resolve",
    }],
  },
  {
    name: "audit",
    summary: "audit log, newest first",
    options: [["--config <name>", "only of this config"], ["--limit <n>", "at most n events"]],
    run: "audit",
  },
  {
    name: "regions",
    summary: "list regions",
    run: "regions",
    commands: [{
      name: "add",
      args: ["<name>"],
      summary: "provision a region",
      options: [
        ["--cluster <name>", "place its streams in this NATS cluster"],
        ["--replicas <n>", "stream replicas"],
      ],
      run: "regions add",
    }],
  },
  {
    name: "keys",
    summary: "trusted keys JSON (an agent's trustedKeys file)",
    run: "keys",
    commands: [
      {
        name: "generate",
        args: ["<file>"],
        summary: "write a new signing key (local, mode 0600, never overwrites)",
        run: "keys generate",
      },
      {
        name: "list",
        summary: "the key set: every key, its status, the signing key",
        run: "keys list",
      },
      {
        name: "rotate",
        summary: "make a new signing key and sign with it (the old one stays trusted)",
        run: "keys rotate",
      },
      {
        name: "retire",
        args: ["<keyId>"],
        summary: "re-sign what a key signed, then stop trusting it",
        run: "keys retire",
      },
      {
        name: "revoke",
        args: ["<keyId>"],
        summary: "stop trusting a (compromised) key at once; nothing is re-signed",
        run: "keys revoke",
      },
    ],
  },
  {
    name: "tokens",
    summary: "list API tokens (admin; never their secrets)",
    run: "tokens",
    commands: [
      {
        name: "create",
        summary: "create an API token; its secret is printed once",
        options: [
          ["--name <name>", "who the token is (audit actor, version author)"],
          ["--role <role>", "admin (anything) or reader (reads only)"],
          ["--ttl <duration>", "stop working after this long: 90s, 30m, 720h (default: never)"],
        ],
        run: "tokens create",
      },
      {
        name: "revoke",
        args: ["<id-or-name>"],
        summary: "revoke an API token, at once",
        run: "tokens revoke",
      },
      {
        name: "hash",
        summary: "make a tokens-file entry (local): name, role, SHA-256 of the secret",
        help: "Without --secret-file a new secret is generated and printed once. With " +
          "--secret-file the secret is read from that file (one line) and refused when " +
          "short or low in entropy. With --out the entry is added to that tokens file " +
          "(made when missing), else printed. Give the file to `deno task control " +
          "--tokens-file`.",
        options: [
          ["--name <name>", "who the token is"],
          ["--role <role>", "admin or reader"],
          [
            "--secret-file <file>",
            "hash the secret in this file (/dev/stdin to pipe it) instead of a new one",
          ],
          ["--out <file>", "add the entry to this tokens file"],
        ],
        run: "tokens hash",
      },
    ],
  },
  {
    name: "auth",
    summary: "NATS operator, accounts and credentials (local, offline)",
    commands: [
      {
        name: "init",
        summary: "make an auth directory: operator, SYS and ATLAS accounts, auth.conf",
        help: "Writes the operator and account JWTs, their seeds and the system user's " +
          "creds (mode 0600), control.creds, control-plane.json (what the control plane " +
          "enrols and revokes with) and auth.conf, the nats-server include.",
        options: [
          ["--dir <dir>", "the auth directory (refused if it holds an operator)"],
          ["--resolver-dir <dir>", "each server's JWT store (default /var/lib/nats/jwt)"],
        ],
        run: "auth init",
      },
      {
        name: "creds",
        summary: `issue credentials for a role: ${CREDS_ROLES}`,
        options: [
          ["--dir <dir>", "the auth directory"],
          ["--role <role>", CREDS_ROLES],
          ["--region <region>", "the region (coordinator, agent, leaf)"],
          ["--agent <id>", "the agent id (agent)"],
          ["--out <file>", "where to write the .creds (mode 0600, never overwrites)"],
        ],
        run: "auth creds",
      },
    ],
  },
  {
    name: "export",
    args: ["[configs...]"],
    summary: "write configs with every version's content and message to a file",
    help: "Exports every config unless some are named. --out file.json writes one file, " +
      "--out dir/ (an existing directory, or a path ending in /) one <config>.json per " +
      "config; without --out the export goes to stdout.",
    options: [["--out <dir|file>", "where to write (default: stdout)"]],
    run: "export",
  },
  {
    name: "import",
    args: ["<file>"],
    summary: "publish an export's configs and versions here, in order",
    help: "Versions are published anew: they get this installation's signatures, the " +
      "importing token as author and new timestamps; content and messages are kept. A " +
      "config that already has versions is refused unless --force, which appends the " +
      "imported versions after the existing ones (nothing is deleted).",
    options: [["--force", "append to configs that already have versions"]],
    run: "import",
  },
  {
    name: "completion",
    args: ["<shell>"],
    summary: `print a shell completion script (${SHELLS.join(" or ")})`,
    help: 'bash: eval "$(deno task -q atlas completion bash)" in ~/.bashrc; zsh: the same ' +
      "with zsh in ~/.zshrc. It completes a command named atlas (an alias or a compiled " +
      "binary).",
    run: "completion",
  },
];

const HANDLERS: Record<string, (run: Run) => Promise<void>> = {
  ...COMMANDS,
  ...ROLLOUT_COMMANDS,
  ...ACTIVE_COMMANDS,
  ...TRANSFER_COMMANDS,
  ...AUTH_COMMANDS,
  ...TOKEN_COMMANDS,
  ...EVIDENCE_COMMANDS,
  ...TOP_COMMANDS,
  async completion(run) {
    const shell = run.args[0]!;
    const script = completionScript(shell, buildProgram(() => Promise.resolve()));
    if (script === undefined) {
      throw new CliError(
        `Unknown shell ${JSON.stringify(shell)}: use one of ${SHELLS.join(", ")}`,
      );
    }
    await run.print(script);
  },
};

/** The words from the root to `cmd` (`rollout start`), without the program's name. */
export function commandPath(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(" ");
}

function _descendants(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ..._descendants(c)]);
}

/**
 * The commander program of {@linkcode COMMAND_TREE}; `action` runs a command with its
 * positional arguments and flags (global ones included).
 *
 * @example
 * ```ts
 * const program = buildProgram(async (key, args, flags) => console.log(key, args, flags));
 * await program.parseAsync(["status", "web"], { from: "user" });
 * ```
 */
export function buildProgram(
  action: (key: string, args: string[], flags: Flags, cmd: Command) => Promise<void>,
): Command {
  const program = new Command("atlas")
    .usage("<command> [options]")
    .description(
      "Atlas: publish, activate and roll out configuration (deno task atlas <command>).",
    )
    .option("--json", 'print JSON (errors too: {"error": {…}} on stdout, exit 1)')
    .option("--url <url>", "control plane URL (default: ATLAS_URL, else a dev instance)")
    .option(
      "--dev-dir <dir>",
      "dev instance data dir (default: ATLAS_DEV_DIR, else the " +
        "nearest .atlas/dev)",
    )
    .exitOverride()
    .showSuggestionAfterError(true)
    .helpCommand("help [command]", "help for a command")
    .configureHelp({
      showGlobalOptions: true,
      // Each command's list shows every command under it, by full path.
      visibleCommands: (cmd: Command) => _descendants(cmd),
      subcommandTerm: (cmd: Command) =>
        [
          commandPath(cmd),
          ...cmd.registeredArguments.map((a) =>
            a.required
              ? `<${a.name()}${a.variadic ? "..." : ""}>`
              : `[${a.name()}${a.variadic ? "..." : ""}]`
          ),
        ].join(" "),
    } as Partial<Help>)
    .addHelpText(
      "after",
      "\nEnvironment: ATLAS_URL, ATLAS_TOKEN or ATLAS_TOKEN_FILE, ATLAS_DEV_DIR.\n" +
        "Run `atlas <command> --help` for a command's flags.",
    );
  program.argument("[command]").action((command: string | undefined) => {
    if (command === undefined) return program.help();
    throw new CliError(
      `Unknown command ${JSON.stringify(command)}: see \`deno task atlas help\``,
    );
  });
  const add = (parent: Command, spec: CommandSpec) => {
    const cmd = parent.command(spec.name).description(spec.summary);
    if (spec.help) cmd.addHelpText("after", `\n${spec.help}`);
    for (const arg of spec.args ?? []) cmd.argument(arg);
    for (const [flags, description] of spec.options ?? []) cmd.option(flags, description);
    if (spec.run !== undefined) {
      const key = spec.run;
      cmd.action(async function (this: Command) {
        const args = this.processedArgs.flatMap((a: unknown) =>
          Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)]
        );
        await action(key, args, this.optsWithGlobals<Flags>(), this);
      });
    }
    for (const sub of spec.commands ?? []) add(cmd, sub);
  };
  for (const spec of COMMAND_TREE) add(program, spec);
  return program;
}

async function _writeAll(w: { write(p: Uint8Array): Promise<number> }, data: Uint8Array) {
  for (let off = 0; off < data.length;) off += await w.write(data.subarray(off));
}

/**
 * The caller's directory: `INIT_CWD`, which `deno task` sets to where it was run (tasks
 * themselves run in the directory of deno.json), else the process's cwd.
 */
export function callerCwd(env: { get(name: string): string | undefined }): string {
  return env.get("INIT_CWD") || Deno.cwd();
}

const DENO_IO: CliIo = {
  env: Deno.env,
  cwd: callerCwd(Deno.env),
  stdout: (data) => _writeAll(Deno.stdout, data),
  stderr: (text) => console.error(text),
  isTerminal: () => Deno.stdout.isTerminal(),
};

function _usageError(e: CommanderError, cmd: Command): CliError {
  const message = e.message.replace(/^error: /, "").replace(/\.$/, "");
  const path = commandPath(cmd);
  return new CliError(
    `${message[0]!.toUpperCase()}${message.slice(1)}: see \`atlas ${
      path ? `${path} ` : ""
    }--help\``,
    { code: CliErrorCode.usage },
  );
}

/** Whether `--json` is among `argv`'s flags (before a `--`), for errors of parsing itself. */
function _wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

/**
 * Runs one CLI command; returns the exit code (0 ok, 1 error). Errors go to stderr as
 * `error: <message>`, or with `--json` to stdout as `{"error": {code, message, details}}`.
 *
 * @example
 * ```ts
 * const code = await main(["configs", "--json"]);
 * ```
 */
export async function main(argv: string[], io: CliIo = DENO_IO): Promise<number> {
  const encoder = new TextEncoder();
  const print = (text: string) => io.stdout(encoder.encode(text + "\n"));
  let out = "";
  let current: Command | undefined;
  let client: ApiClient | undefined;
  const program = buildProgram(async (key, args, flags, cmd) => {
    current = cmd;
    const handler = HANDLERS[key];
    if (!handler) throw new Error(`No handler for ${key}`);
    await handler({
      args,
      flags,
      io,
      print,
      path: (file) => resolvePath(io.cwd, file),
      client: async () => (client ??= new ApiClient(
        await resolveTarget(io.env, io.cwd, { url: flags.url, devDir: flags.devDir }),
      )),
    });
  });
  const capture = (cmd: Command) => {
    cmd.configureOutput({
      writeOut: (s) => void (out += s),
      writeErr: (s) => void (out += s),
      outputError: () => {},
    });
    cmd.hook("preSubcommand", (_parent, sub) => void (current = sub));
    for (const sub of cmd.commands) capture(sub);
  };
  capture(program);
  current = program;
  try {
    await program.parseAsync(argv, { from: "user" });
    if (out) await io.stdout(encoder.encode(out));
    return 0;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) {
      await io.stdout(encoder.encode(out)); // help
      return 0;
    }
    const error = e instanceof CommanderError
      ? (e.code === "commander.help" && out
        ? new CliError(`Missing subcommand: see \`atlas ${commandPath(current!)} --help\``)
        : _usageError(e, current ?? program))
      : e instanceof CliError
      ? e
      : new CliError((e as Error).message, { code: "internal", cause: e });
    if (_wantsJson(argv)) {
      const { code, message, details } = error;
      await print(
        JSON.stringify({ error: { code, message, ...(details.length ? { details } : {}) } }),
      );
    } else {
      io.stderr(
        [
          `error: ${error.message}`,
          ...error.details.map((d) => `  ${d.path || "/"}: ${d.message}`),
        ].join("\n"),
      );
    }
    return 1;
  }
}
