/**
 * A test entry point, not for production: `agent/main.ts`'s agent with a pause between
 * the chunks of every file write (`--chunk-delay-ms`), so a test can SIGKILL it mid-write
 * and check that the live file stays whole (`process_test.ts`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runMain, untilStopSignal } from "@atlas/store";
import { Agent } from "./agent.ts";
import { loadAgentConfig } from "./config.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { config: { type: "string" }, "chunk-delay-ms": { type: "string" } },
  });
  if (!values.config) throw new TypeError("--config <agent.json> is required");
  const agent = await Agent.start(await loadAgentConfig(values.config), {
    writeChunkDelayMs: Number(values["chunk-delay-ms"] ?? 40),
  });
  await untilStopSignal();
  await agent.close();
  return 0;
}

if (import.meta.main) await runMain(main);
