/**
 * The compiled agent binary. `deno compile` needs the `denort` runtime, which this
 * network cannot download: the test runs only where `DENORT_BIN` is set, and says so
 * loudly when it is skipped.
 */
import assert from "node:assert/strict";

const denort = Deno.env.get("DENORT_BIN");
if (!denort) {
  console.warn(
    "SKIPPED: compiled agent test — set DENORT_BIN=/path/to/denort to build the agent with " +
      "`deno compile` (the runtime cannot be downloaded on this machine)",
  );
}

Deno.test({
  name: "the compiled agent binary starts and prints its usage",
  ignore: !denort,
  fn: async () => {
    const out = `${await Deno.makeTempDir()}/atlas-agent`;
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["task", "compile:agent", "--output", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    const run = await new Deno.Command(out, { args: ["--help"], stdout: "piped" }).output();
    assert.ok(run.success);
    assert.match(new TextDecoder().decode(run.stdout), /--config <agent.json>/);
  },
});
