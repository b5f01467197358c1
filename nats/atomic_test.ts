import assert from "node:assert/strict";
import { readFileOrNull, removeStaleTemps, writeFileAtomic } from "./atomic.ts";

Deno.test("atomic write replaces the file and leaves no temp behind", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/sub/app.json`;
  await writeFileAtomic(path, new TextEncoder().encode("one"));
  await writeFileAtomic(path, new TextEncoder().encode("two"));
  assert.equal(await Deno.readTextFile(path), "two");
  const names = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
  assert.deepEqual(names, ["app.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("stale temp files of a killed writer are removed, the target is kept", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.json`;
  await Deno.writeTextFile(path, "good");
  await Deno.writeTextFile(`${dir}/.app.json.atlas-tmp-1234abcd`, "half");
  assert.equal(await removeStaleTemps(path), 1);
  assert.equal(await Deno.readTextFile(path), "good");
  assert.equal(await readFileOrNull(`${dir}/missing`), null);
  await Deno.remove(dir, { recursive: true });
});
