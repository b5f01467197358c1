/**
 * What each deployable carries: the agent, the coordinator, the SDK and the CLI import no
 * test launcher or gateway proxy (`@atlas/testkit`), the SDK nothing of the agent, and the
 * CLI no server code at all (it talks HTTP). Read from
 * `deno info --json`, the module graph Deno itself resolves.
 */
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("..", import.meta.url));

async function graph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  return info.modules.map((m) => m.specifier)
    .filter((s) => s.startsWith("file:"))
    .map((s) => fromFileUrl(s).slice(ROOT.length));
}

for (
  const [what, entry, banned] of [
    ["the agent", "agent/main.ts", [/^testkit\//]],
    ["the coordinator", "coordinator/main.ts", [/^testkit\//, /^agent\//, /^control\//]],
    ["the SDK", "mod.ts", [/^testkit\//, /^agent\//, /^coordinator\//, /^control\//]],
    ["the CLI", "cli/main.ts", [
      /^testkit\//,
      /^store\//,
      /^agent\//,
      /^coordinator\//,
      /^control\//,
    ]],
  ] as const
) {
  Deno.test(`${what} imports no test launcher, proxy or other deployable`, async () => {
    const modules = await graph(entry);
    assert.ok(modules.length > 1, `${entry} has a module graph`);
    const found = modules.filter((m) => banned.some((b) => b.test(m)));
    assert.deepEqual(found, [], `${entry} imports ${found.join(", ")}`);
  });
}
