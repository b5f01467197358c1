import assert from "node:assert/strict";
import { parseTokensFile, tokenDigest } from "@atlas/core";
import { natsTest } from "@atlas/testkit";
import { atlasHere, startTestControl } from "./testing.ts";

natsTest(
  "atlas tokens create, list and revoke: the secret is shown once and works until revoked",
  async ({
    urls,
  }) => {
    await using control = await startTestControl(urls);
    const { dir, env } = control;
    const made = await atlasHere(env, dir, "tokens", "create", "--name", "ci", "--role", "reader");
    assert.equal(made.code, 0, made.stderr);
    const secret = /\n(atlas_\S+)\n?$/.exec(made.stdout)?.[1];
    assert.ok(secret, made.stdout);
    assert.match(made.stdout, /created token ci \(tok_[0-9a-f]{16}\) with role reader/);

    const asCi = { ...env, ATLAS_TOKEN: secret };
    assert.equal((await atlasHere(asCi, dir, "configs")).code, 0, "the new token reads");
    const denied = await atlasHere(asCi, dir, "tokens");
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /role reader/);

    const list = await atlasHere(env, dir, "tokens");
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /file:ops +ops +admin +file/);
    assert.match(list.stdout, /tok_[0-9a-f]{16} +ci +reader +api/);
    assert.ok(!list.stdout.includes(secret) && !list.stdout.includes(tokenDigest(secret)));

    const audit = await atlasHere(env, dir, "audit", "--limit", "1");
    assert.match(audit.stdout, /\n\S+ \S+ +ops +token\.create .* file:ops\n/, audit.stdout);
    const revoked = await atlasHere(env, dir, "tokens", "revoke", "ci");
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked token ci/);
    const refused = await atlasHere(asCi, dir, "configs");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /was revoked/);

    const json = await atlasHere(
      env,
      dir,
      "tokens",
      "create",
      "--name",
      "bot",
      "--role",
      "admin",
      "--json",
    );
    const created = JSON.parse(json.stdout) as { token: { role: string }; secret: string };
    assert.equal(created.token.role, "admin");
    assert.match(created.secret, /^atlas_/);
    const ttl = await atlasHere(
      env,
      dir,
      "tokens",
      "create",
      "--name",
      "tmp",
      "--role",
      "reader",
      "--ttl",
      "2h",
    );
    assert.equal(ttl.code, 0, ttl.stderr);
    assert.match(ttl.stdout, /with role reader, expiring at \d{4}-/);
    const badTtl = await atlasHere(
      env,
      dir,
      "tokens",
      "create",
      "--name",
      "t2",
      "--role",
      "reader",
      "--ttl",
      "soon",
    );
    assert.equal(badTtl.code, 1);
    assert.match(badTtl.stderr, /--ttl must be a positive duration/);
    const badRole = await atlasHere(env, dir, "tokens", "create", "--name", "x", "--role", "root");
    assert.equal(badRole.code, 1);
    assert.match(badRole.stderr, /--role must be admin or reader/);
  },
);

Deno.test("atlas tokens hash makes tokens-file entries and refuses weak secrets", async () => {
  const dir = { path: await Deno.makeTempDir() };
  const env = {};
  const file = `${dir.path}/tokens.json`;
  const made = await atlasHere(
    env,
    dir.path,
    "tokens",
    "hash",
    "--name",
    "admin",
    "--role",
    "admin",
    "--out",
    "tokens.json",
  );
  assert.equal(made.code, 0, made.stderr);
  const secret = /\n(atlas_\S+)\n?$/.exec(made.stdout)?.[1];
  assert.ok(secret, made.stdout);
  assert.deepEqual(parseTokensFile(await Deno.readTextFile(file), file), [
    { name: "admin", role: "admin", sha256: tokenDigest(secret) },
  ]);
  assert.ok(!(await Deno.readTextFile(file)).includes(secret), "the file holds no secret");

  await Deno.writeTextFile(`${dir.path}/strong`, "Zq8v0-Jk3Lw9_Xc2Rt5Yb7Nm1Pa4Sd6Fg8Hh0Jj2Kk4\n");
  const fromFile = await atlasHere(
    env,
    dir.path,
    "tokens",
    "hash",
    "--name",
    "rob",
    "--role",
    "reader",
    "--secret-file",
    "strong",
    "--out",
    "tokens.json",
  );
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.ok(!fromFile.stdout.includes("Zq8v0"), "a given secret is not echoed");
  const entries = parseTokensFile(await Deno.readTextFile(file), file);
  assert.deepEqual(entries.map((e) => e.name), ["admin", "rob"]);
  assert.equal(entries[1]!.sha256, tokenDigest("Zq8v0-Jk3Lw9_Xc2Rt5Yb7Nm1Pa4Sd6Fg8Hh0Jj2Kk4"));

  for (const weak of ["hunter2", "a".repeat(64), "abcd".repeat(10), "two words ".repeat(5)]) {
    await Deno.writeTextFile(`${dir.path}/weak`, weak);
    const refused = await atlasHere(
      env,
      dir.path,
      "tokens",
      "hash",
      "--name",
      "w",
      "--role",
      "admin",
      "--secret-file",
      "weak",
    );
    assert.equal(refused.code, 1, weak);
    assert.match(refused.stderr, /Cannot use this secret as an API token.*openssl rand/, weak);
  }
  const again = await atlasHere(
    env,
    dir.path,
    "tokens",
    "hash",
    "--name",
    "rob",
    "--role",
    "admin",
    "--out",
    "tokens.json",
  );
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already has a token named "rob"/);
  await Deno.writeTextFile(file, JSON.stringify([{ name: "x", token: "plain", role: "admin" }]));
  const plain = await atlasHere(
    env,
    dir.path,
    "tokens",
    "hash",
    "--name",
    "y",
    "--role",
    "admin",
    "--out",
    "tokens.json",
  );
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /holds a plain secret/);
  await Deno.remove(dir.path, { recursive: true });
});
