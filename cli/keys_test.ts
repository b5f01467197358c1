import assert from "node:assert/strict";
import { natsTest } from "@atlas/testkit";
import { atlasHere, startTestControl } from "./testing.ts";

natsTest(
  "atlas keys rotate, retire and revoke change the key set, and refuse what they must",
  async ({
    urls,
  }) => {
    await using control = await startTestControl(urls);
    const run = (...args: string[]) => atlasHere(control.env, control.dir, ...args);
    const first = JSON.parse(await Deno.readTextFile(`${control.dir}/signing.key`)).keyId;

    const listed = await run("keys", "list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`key set 1\\n.*\\n${first}\\s+active\\s+.*yes`));

    const rotated = await run("keys", "rotate", "--json");
    assert.equal(rotated.code, 0, rotated.stderr);
    const { keyId, file } = JSON.parse(rotated.stdout);
    assert.notEqual(keyId, first);
    assert.equal(file, `${control.dir}/keys/${keyId}.key`);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);

    // The signing key cannot go: rotate first.
    const early = await run("keys", "retire", keyId);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /is the signing key: rotate first \(`atlas keys rotate`\)/);
    const bad = await run("keys", "revoke", "not-a-key");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid key id "not-a-key"/);
    const unknown = await run("keys", "revoke", "ed25519-0000000000000000");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not in key set 2/);

    // A running rollout holds a retirement back (its pointer would be re-signed mid-stage).
    await Deno.writeTextFile(`${control.dir}/web.json`, '{"a": 1}');
    assert.equal((await run("configs", "create", "web")).code, 0);
    assert.equal((await run("publish", "web", `${control.dir}/web.json`)).code, 0);
    const started = await run(
      "rollout",
      "start",
      "web",
      "1",
      "--strategy",
      "immediate",
      "--allow-no-coordinator",
      "--json",
    );
    assert.equal(started.code, 0, started.stderr);
    const rolloutId = JSON.parse(started.stdout).id;
    const held = await run("keys", "retire", first);
    assert.equal(held.code, 1);
    assert.match(held.stderr, new RegExp(`while rollouts run: ${rolloutId} \\(web\\)`));
    assert.equal((await run("rollout", "abort", rolloutId)).code, 0);

    const retired = await run("keys", "retire", first);
    assert.equal(retired.code, 0, retired.stderr);
    assert.match(
      retired.stdout,
      /retired .* \(key set 3\); re-signed 0 version\(s\) and 0 pointer/,
    );
    const again = await run("keys", "retire", first);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is retired already/);
    const revoked = await run("keys", "revoke", first);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked .* \(key set 4\); nothing re-signed/);

    const trusted = JSON.parse((await run("keys")).stdout);
    assert.deepEqual(trusted.keys.map((k: { keyId: string }) => k.keyId), [keyId]);
    const audit = await run("audit", "--json");
    const actions = JSON.parse(audit.stdout).events.map((e: { action: string }) => e.action);
    assert.deepEqual(actions.filter((a: string) => a.startsWith("key.")), [
      "key.revoke",
      "key.retire",
      "key.rotate",
    ]);
  },
);
