import assert from "node:assert/strict";
import { decode } from "@nats-io/jwt";
import { AuthFiles, ControlAuthKeys, describeCreds, parseCredsText } from "@atlas/core";
import { atlasHere } from "./testing.ts";

Deno.test("auth init writes the auth directory once, secrets 0600", async () => {
  const dir = await Deno.makeTempDir();
  const first = await atlasHere({}, dir, "auth", "init", "--dir", "auth", "--resolver-dir", "/r");
  assert.equal(first.code, 0, first.stderr);
  const mode = async (f: string) => (await Deno.stat(`${dir}/auth/${f}`)).mode! & 0o777;
  const secrets = [
    AuthFiles.operatorSeed,
    AuthFiles.atlasSeed,
    AuthFiles.systemCreds,
    AuthFiles.leafSystemCreds,
  ];
  for (const secret of secrets) {
    assert.equal(await mode(secret), 0o600, secret);
  }
  assert.equal(await mode(AuthFiles.controlKeys), 0o600);
  ControlAuthKeys.parse(JSON.parse(await Deno.readTextFile(`${dir}/auth/control-plane.json`)));
  assert.match(await Deno.readTextFile(`${dir}/auth/auth.conf`), /dir: "\/r"/);
  assert.equal(
    describeCreds(await Deno.readTextFile(`${dir}/auth/control.creds`)).inboxPrefix,
    "_INBOX_control",
  );
  // A leaf node's system link: not the system user, and only as a leaf node.
  const leafSys = await Deno.readTextFile(`${dir}/auth/${AuthFiles.leafSystemCreds}`);
  assert.equal(describeCreds(leafSys).name, "leaf-sys");
  const claims = decode<{ allowed_connection_types: string[] }>(parseCredsText(leafSys).jwt);
  assert.deepEqual(claims.nats.allowed_connection_types, ["LEAFNODE"]);
  const again = await atlasHere({}, dir, "auth", "init", "--dir", "auth");
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds an operator/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("auth creds issues a role's creds and refuses what is missing", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal((await atlasHere({}, dir, "auth", "init", "--dir", "a")).code, 0);
  const ok = await atlasHere(
    {},
    dir,
    ...["auth", "creds", "--dir", "a", "--role", "agent", "--region", "us-east"],
    ...["--agent", "web-1", "--out", "web-1.creds"],
  );
  assert.equal(ok.code, 0, ok.stderr);
  const about = describeCreds(await Deno.readTextFile(`${dir}/web-1.creds`));
  assert.equal(about.name, "agent.us-east.web-1");
  assert.equal((await Deno.stat(`${dir}/web-1.creds`)).mode! & 0o777, 0o600);
  // A leaf's link: told the line the hub and leaf configs need beside it.
  const leaf = await atlasHere(
    {},
    dir,
    ...["auth", "creds", "--dir", "a", "--role", "leaf", "--region", "us-east"],
    ...["--out", "leaf.creds"],
  );
  assert.equal(leaf.code, 0, leaf.stderr);
  assert.equal(describeCreds(await Deno.readTextFile(`${dir}/leaf.creds`)).name, "leaf.us-east");
  assert.match(leaf.stdout, /default_js_domain: \{ "A[A-Z0-9]{55}": "" \}/);
  const noRegion = await atlasHere(
    {},
    dir,
    ...["auth", "creds", "--dir", "a", "--role", "coordinator", "--out", "c.creds"],
  );
  assert.equal(noRegion.code, 1);
  assert.match(noRegion.stderr, /need a region: pass --region/);
  const badRole = await atlasHere(
    {},
    dir,
    ...["auth", "creds", "--dir", "a", "--role", "boss", "--out", "b.creds"],
  );
  assert.match(badRole.stderr, /Unknown role "boss"/);
  const noDir = await atlasHere({}, dir, "auth", "creds", "--role", "reader", "--out", "r");
  assert.match(noDir.stderr, /Missing --dir/);
  await Deno.remove(dir, { recursive: true });
});
