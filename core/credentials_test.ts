import assert from "node:assert/strict";
import { decode } from "@nats-io/jwt";
import {
  createAuthSetup,
  CredentialsError,
  describeCreds,
  issueCreds,
  issuerOf,
  parseCredsText,
  revokeUser,
  serverAuthConfig,
} from "./credentials.ts";
import { atlasRole, inboxPrefixOf, permissionsOf } from "./permissions.ts";

Deno.test("issued creds carry the role's permissions and inbox prefix", async () => {
  const setup = await createAuthSetup();
  const role = atlasRole("agent", { region: "us-east", agent: "a1" });
  const issued = await issueCreds(issuerOf(setup), role);
  const about = describeCreds(issued.creds);
  assert.equal(about.name, "agent.us-east.a1");
  assert.equal(about.publicKey, issued.publicKey);
  assert.equal(about.inboxPrefix, inboxPrefixOf(role));
  const claims = decode<
    { pub: { allow: string[] }; issuer_account: string; allowed_connection_types: string[] }
  >(
    parseCredsText(issued.creds).jwt,
  );
  assert.deepEqual(claims.nats.pub?.allow, permissionsOf(role).pub.allow);
  assert.equal(claims.nats.issuer_account, setup.atlas.publicKey);
  assert.deepEqual(claims.nats.allowed_connection_types, ["STANDARD"], "a client only");
  // A new key each time: revoking one enrolment leaves the next one valid.
  assert.notEqual((await issueCreds(issuerOf(setup), role)).publicKey, issued.publicKey);
});

Deno.test("a revocation keeps the account's limits and earlier revocations", async () => {
  const setup = await createAuthSetup();
  const a = await issueCreds(issuerOf(setup), { kind: "reader" });
  const b = await issueCreds(issuerOf(setup), { kind: "reader" });
  const once = await revokeUser(setup.atlas.jwt, setup.operator.signingSeed, a.publicKey, 100);
  const twice = await revokeUser(once, setup.operator.signingSeed, b.publicKey, 200);
  const claims = decode<{ revocations: Record<string, number>; limits: { streams: number } }>(
    twice,
  );
  assert.equal(claims.sub, setup.atlas.publicKey);
  assert.deepEqual(claims.nats.revocations, { [a.publicKey]: 100, [b.publicKey]: 200 });
  assert.equal(claims.nats.limits?.streams, -1);
  await assert.rejects(
    () => revokeUser(setup.atlas.jwt, setup.operator.signingSeed, "not-a-key"),
    TypeError,
  );
});

Deno.test("bad credentials and roles are refused with what to do", () => {
  assert.throws(() => parseCredsText("hello"), CredentialsError);
  assert.throws(() => atlasRole("admin"), /Unknown role "admin"/);
  assert.throws(() => atlasRole("coordinator"), /--region/);
  assert.throws(() => atlasRole("agent", { region: "us-east" }), /--agent/);
  assert.throws(() => atlasRole("agent", { region: "US", agent: "a" }), TypeError);
});

Deno.test("an agent may publish only its own acks, for configs of any length", () => {
  const { pub, sub } = permissionsOf({ kind: "agent", region: "us-east", agent: "a1" });
  assert.ok(pub.allow.includes("atlas.ack.us-east.a1.>"));
  assert.ok(!pub.allow.some((s) => s.startsWith("atlas.ack.") && !s.includes(".a1.")));
  assert.ok(!pub.allow.some((s) => s.startsWith("$KV.atlas_pointers")));
  assert.ok(!pub.allow.some((s) => s.includes("STREAM.DELETE") || s.includes("PURGE")));
  assert.deepEqual(sub.allow, ["_INBOX_agent.us-east.a1.>", "atlas.notify.us-east.>"]);
});

Deno.test("a leaf's link may carry what its region's agents may, and connects only as a leaf", async () => {
  const setup = await createAuthSetup();
  const role = atlasRole("leaf", { region: "us-east" });
  const issued = await issueCreds(issuerOf(setup), role);
  assert.equal(describeCreds(issued.creds).name, "leaf.us-east");
  const claims = decode<{ allowed_connection_types: string[] }>(parseCredsText(issued.creds).jwt);
  assert.deepEqual(claims.nats.allowed_connection_types, ["LEAFNODE"]);
  const { pub, sub } = permissionsOf(role);
  assert.ok(pub.allow.includes("atlas.ack.us-east.>"), "any agent's acks of the region");
  assert.ok(pub.allow.includes("$KV.atlas_agents.us-east.*"), "any agent's record of the region");
  assert.ok(!pub.allow.some((s) => s.includes("eu-west") || s.startsWith("$KV.atlas_pointers")));
  assert.ok(!pub.allow.some((s) => s.startsWith("atlas.notify") || s.startsWith("atlas.audit")));
  assert.deepEqual(sub.allow, ["_INBOX_agent.us-east.*.>", "atlas.notify.us-east.>"]);
  assert.throws(() => atlasRole("leaf"), /leaf node's credentials need a region/);
});

Deno.test("the server config trusts the operator and preloads both accounts", async () => {
  const setup = await createAuthSetup();
  const conf = serverAuthConfig(setup, { resolverDir: "/var/lib/nats/jwt" });
  assert.match(conf, /resolver: \{ type: full, dir: "\/var\/lib\/nats\/jwt", allow_delete: false/);
  assert.ok(conf.includes(`system_account: "${setup.system.publicKey}"`));
  assert.ok(conf.includes(`${setup.atlas.publicKey}: "${setup.atlas.jwt}"`));
});
