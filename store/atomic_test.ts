import assert from "node:assert/strict";
import { basename, dirname } from "node:path";
import {
  commitStaged,
  discardStaged,
  readFileOrNull,
  removeStaleTemps,
  stageFile,
  writeFileAtomic,
} from "./atomic.ts";

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

Deno.test("a staged candidate is in place only once committed, and discarding it leaves no trace", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nginx.conf`;
  await Deno.writeTextFile(path, "live");
  const staged = await stageFile(path, new TextEncoder().encode("candidate"));
  assert.equal(dirname(staged.path), dir);
  assert.match(basename(staged.path), /^\.nginx\.conf\.atlas-tmp-[0-9a-f]{8}\.conf$/);
  assert.equal(await Deno.readTextFile(staged.path), "candidate");
  assert.equal(await Deno.readTextFile(path), "live");
  discardStaged(staged);
  discardStaged(staged); // twice is fine
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["nginx.conf"]);
  const again = await stageFile(path, new TextEncoder().encode("candidate"), { mode: 0o600 });
  commitStaged(again);
  assert.equal(await Deno.readTextFile(path), "candidate");
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["nginx.conf"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a staged candidate a killed agent left is removed like a stale temp", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nginx.conf`;
  await Deno.writeTextFile(path, "live");
  await stageFile(path, new TextEncoder().encode("candidate"));
  await Deno.writeTextFile(`${dir}/other.conf`, "not ours");
  assert.equal(await removeStaleTemps(path), 1);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "nginx.conf",
    "other.conf",
  ]);
  await Deno.remove(dir, { recursive: true });
});
