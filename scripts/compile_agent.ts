/**
 * `deno task compile:agent [--target <triple>] [--output dist/atlas-agent]`: builds the
 * agent as one self-contained binary with `deno compile`.
 *
 * `deno compile` needs the `denort` runtime for the target. It downloads it unless
 * `DENORT_BIN` points at a local copy; where neither works (an offline machine) this task
 * fails with a message saying so, and the agent runs as `deno task agent` instead.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { output: { type: "string", default: "dist/atlas-agent" }, target: { type: "string" } },
});
const args = ["compile", "-A", "--output", values.output!];
if (values.target) args.push("--target", values.target);
args.push(new URL("../agent/main.ts", import.meta.url).pathname);
console.error(
  `compile:agent: deno ${args.join(" ")}${
    Deno.env.get("DENORT_BIN") ? ` (DENORT_BIN=${Deno.env.get("DENORT_BIN")})` : ""
  }`,
);
const out = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "piped" })
  .output();
const stderr = new TextDecoder().decode(out.stderr);
await Deno.stderr.write(out.stderr);
if (!out.success) {
  if (/denort|download|dl\.deno\.land|network|dns|connect/i.test(stderr)) {
    console.error(
      "\ncompile:agent: deno compile could not get the denort runtime (no network access to " +
        "Deno's download host here?). Set DENORT_BIN=/path/to/denort (same Deno version as " +
        `${Deno.version.deno}) and run again, or run the agent as \`deno task agent --config agent.json\`.`,
    );
  }
  Deno.exit(out.code || 1);
}
console.error(`compile:agent: wrote ${values.output}`);
