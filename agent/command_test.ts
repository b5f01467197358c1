import assert from "node:assert/strict";
import { OUTPUT_TAIL_BYTES, runCommand } from "./command.ts";

Deno.test("a failed command's summary holds its stdout and stderr, in order", async () => {
  const r = await runCommand(
    "echo first; sleep 0.05; echo second >&2; sleep 0.05; echo third; exit 4",
  );
  assert.deepEqual(r, { ok: false, summary: "exit 4: first | second | third" });
  assert.deepEqual(await runCommand(["true"]), { ok: true, summary: "exit 0" });
  assert.deepEqual(await runCommand(["false"]), { ok: false, summary: "exit 1" });
});

Deno.test("a failed command's summary keeps the last KiB of a long output", async () => {
  const r = await runCommand(
    `head -c 100000 /dev/zero | tr '\\0' 'x'; echo; echo "the end" >&2; exit 1`,
  );
  assert.equal(r.ok, false);
  assert.match(r.summary, /^exit 1: …x+ \| the end$/);
  assert.ok(r.summary.length <= OUTPUT_TAIL_BYTES + 20, `summary of ${r.summary.length} chars`);
});

Deno.test("a command that outlives its timeout is killed and says so", async () => {
  const r = await runCommand("echo waiting; exec sleep 10", { timeoutMs: 200 });
  assert.equal(r.ok, false);
  assert.match(r.summary, /^timed out after 200 ms/);
});
