/**
 * The agent of `agent/main.ts` under V8's sampling profiler, for `bench:lone-agent
 * --profile` (`deno run -A bench/profiled_agent.ts <profile file> --config agent.json`):
 * SIGUSR1 starts sampling, SIGUSR2 stops it, writes the profile and prints "profile
 * written" on stderr. Otherwise the agent runs as `deno task agent` runs it.
 *
 * @module
 */
import { runMain } from "@atlas/store";
import { main } from "../agent/main.ts";
import { Profiler } from "./profile.ts";

const [file, ...args] = Deno.args;
if (!file || file.startsWith("-")) {
  console.error("usage: profiled_agent.ts <profile file> --config <agent.json>");
  Deno.exit(2);
}
let profiler: Profiler | undefined;
Deno.addSignalListener("SIGUSR1", () => {
  profiler = new Profiler();
  profiler.start().catch((e) => console.error(`cannot start the profiler: ${e.message}`));
});
Deno.addSignalListener("SIGUSR2", async () => {
  const profile = await profiler?.stop();
  if (profile) await Deno.writeTextFile(file, JSON.stringify(profile));
  console.error(profile ? "profile written" : "no profile: SIGUSR1 first");
});
await runMain(() => main(args));
