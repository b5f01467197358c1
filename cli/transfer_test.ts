import assert from "node:assert/strict";
import { provision, provisionRegion } from "@atlas/store";
import { connectAs, natsTest, startNatsServer } from "@atlas/testkit";
import { ExportFile } from "./transfer.ts";
import { atlasHere, startTestControl } from "./testing.ts";

natsTest("export and import move configs, schemas and versions between installations", async ({
  urls,
}) => {
  await using source = await startTestControl(urls);
  const from = (...args: string[]) => atlasHere(source.env, source.dir, ...args);
  await Deno.writeTextFile(`${source.dir}/s.json`, JSON.stringify({ required: ["a"] }));
  await Deno.writeTextFile(`${source.dir}/v1.json`, '{"b": 1}\n');
  await Deno.writeTextFile(`${source.dir}/v2.json`, '{"a": 2}\n');
  await Deno.writeTextFile(`${source.dir}/n.txt`, "plain text");
  // v1 predates the schema: import must still publish it.
  await from("configs", "create", "web", "--description", "the web tier");
  assert.equal((await from("publish", "web", "v1.json", "-m", "first")).code, 0);
  await from("configs", "create", "web", "--schema", "s.json");
  assert.equal((await from("publish", "web", "v2.json", "-m", "second")).code, 0);
  await from("configs", "create", "notes", "--content-type", "text/plain");
  await from("publish", "notes", "n.txt");

  const exported = await from("export", "--out", "all.json");
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /exported web \(2 versions\), notes \(1 versions\)|exported notes/);
  const doc = ExportFile.parse(JSON.parse(await Deno.readTextFile(`${source.dir}/all.json`)));
  const web = doc.configs.find((c) => c.name === "web")!;
  assert.deepEqual(web.schema, { required: ["a"] });
  assert.deepEqual(web.versions.map((v) => [v.version, v.message, v.content]), [
    [1, "first", '{"b": 1}\n'],
    [2, "second", '{"a": 2}\n'],
  ]);
  const perConfig = await from("export", "web", "--out", "each/", "--json");
  assert.deepEqual(JSON.parse(perConfig.stdout).configs, [{ name: "web", versions: 2 }]);

  // Another installation: its own nats-server and control plane.
  await using server = await startNatsServer();
  {
    await using nats = await connectAs([server.url], "control");
    await provision(nats);
    await provisionRegion(nats, "us-east");
  }
  await using target = await startTestControl([server.url]);
  const to = (...args: string[]) => atlasHere(target.env, source.dir, ...args);
  const imported = await to("import", "all.json");
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /created web: v1→v1, v2→v2/);
  assert.match(imported.stdout, /note: imported versions are new versions here: signed by this/);
  assert.equal((await to("show", "web", "1")).stdout, '{"b": 1}\n');
  assert.equal((await to("show", "notes", "1")).stdout, "plain text");
  const versions = JSON.parse((await to("versions", "web", "--json")).stdout).versions;
  assert.deepEqual(versions.map((v: { message: string }) => v.message), ["first", "second"]);
  const sourceVersions = JSON.parse((await from("versions", "web", "--json")).stdout).versions;
  assert.deepEqual(
    versions.map((v: { digest: string }) => v.digest),
    sourceVersions.map((v: { digest: string }) => v.digest),
  );
  assert.notEqual(versions[0].signature, sourceVersions[0].signature, "signed anew");
  const configs = JSON.parse((await to("configs", "--json")).stdout).configs;
  const webHere = configs.find((c: { name: string }) => c.name === "web");
  assert.deepEqual([webHere.schema, webHere.description], [{ required: ["a"] }, "the web tier"]);

  // Importing again is refused, and nothing is written; --force appends.
  const again = await to("import", "all.json", "--json");
  assert.equal(again.code, 1);
  const error = JSON.parse(again.stdout).error;
  assert.equal(error.code, "conflict");
  assert.match(error.message, /^Nothing imported: .*web already has 2 version\(s\) here: --force/);
  assert.equal(JSON.parse((await to("versions", "web", "--json")).stdout).versions.length, 2);
  const forced = await to("import", `${source.dir}/each/web.json`, "--force");
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /updated web: v1→v3, v2→v4/);
  assert.equal(JSON.parse((await to("versions", "web", "--json")).stdout).versions.length, 4);
});
