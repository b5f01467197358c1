/**
 * `deno task bundle:agent [--output dist/atlas-agent.js]`: the agent as one JavaScript file
 * (`deno bundle`, npm packages inlined), so a host needs Deno and that file, not a checkout:
 *
 *   deno run -A atlas-agent.js --config /etc/atlas/agent.json
 *
 * `deno bundle` fetches esbuild from npm the first time (into DENO_DIR). Unlike
 * `deno task compile:agent`, no runtime download is needed.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";

const MAIN = new URL("../agent/main.ts", import.meta.url).pathname;

/** Options of {@linkcode bundleAgent}. */
export interface BundleAgentOptions {
  /** Where the file goes. @default "dist/atlas-agent.js" (under the checkout) */
  output?: string;
  /** Progress lines. @default console.error */
  log?: (line: string) => void;
}

/** `deno bundle` failed; the message holds what it printed. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/**
 * Bundles the agent into one file and returns its absolute path.
 *
 * @example
 * ```ts
 * const file = await bundleAgent({ output: "/tmp/atlas-agent.js" });
 * ```
 */
export async function bundleAgent(options: BundleAgentOptions = {}): Promise<string> {
  const log = options.log ?? ((line: string) => console.error(line));
  const root = resolve(dirname(MAIN), "..");
  const output = resolve(root, options.output ?? "dist/atlas-agent.js");
  await Deno.mkdir(dirname(output), { recursive: true });
  const args = ["bundle", "--platform", "deno", "--output", output, MAIN];
  log(`bundle:agent: deno ${args.join(" ")}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new BundleError(
      `deno bundle failed (exit ${out.code}); it needs esbuild from npm the first time:\n${text}`,
    );
  }
  const { size } = await Deno.stat(output);
  log(`bundle:agent: wrote ${output} (${(size / 1e6).toFixed(1)} MB)`);
  return output;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { output: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log("Usage: deno task bundle:agent [--output dist/atlas-agent.js]");
    Deno.exit(0);
  }
  try {
    await bundleAgent(values.output ? { output: values.output } : {});
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    console.error(`error: ${e.message}`);
    Deno.exit(1);
  }
}
