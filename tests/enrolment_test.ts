/**
 * Enrolment and revocation end to end: the control plane issues an agent's credentials,
 * a revocation drops the live agent within seconds and keeps it out, and a new enrolment
 * brings it back.
 */
import assert from "node:assert/strict";
import { AuditEvent, Streams } from "@atlas/core";
import {
  connectAs,
  handshake,
  type HasLog,
  natsTest,
  printLogsOnFailure,
  startSupercluster,
  waitFor,
} from "@atlas/testkit";
import { provision, provisionRegion } from "@atlas/store";
import { startTestAgents, startTestControl } from "./harness.ts";

interface Enrolled {
  region: string;
  agent: string;
  publicKey: string;
  creds: string;
}

natsTest(
  "a revoked agent is dropped within seconds, and a new enrolment restores it",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { enrolment: true });
    ctx.addLog(t);
    const server = ctx.servers[0]!;
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
    await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
    const first = await t.expect<Enrolled>("POST", "/v1/agents/us-east/a1/credentials", {}, 201);
    assert.match(first.creds, /-----BEGIN NATS USER JWT-----/);
    assert.equal(first.agent, "a1");
    const [a1] = await startTestAgents(t, [
      { id: "a1", region: "us-east", nats: ctx.urls, credentials: first.creds },
    ], ctx.addLog);
    await waitFor("v1 applied", async () => (await Deno.readTextFile(a1!.file)) === '{"v":1}');
    assert.ok((await server.connectionNames()).includes("atlas-agent us-east/a1"));
    const revoked = await t.expect<{ revoked: string[] }>(
      "DELETE",
      "/v1/agents/us-east/a1/credentials",
    );
    assert.deepEqual(revoked.revoked, [first.publicKey]);
    await waitFor(
      "the revoked agent dropped",
      async () => !(await server.connectionNames()).includes("atlas-agent us-east/a1"),
      { timeoutMs: 10_000 },
    );
    // Refused at the protocol level too, once the server has taken the account update.
    await waitFor(
      "the revoked credentials refused",
      async () => /-ERR 'Authorization Violation'/.test(await handshake(server.url, first.creds)),
      { timeoutMs: 10_000 },
    );
    // Nothing is left to revoke; the revocation is audited.
    const again = await t.call("DELETE", "/v1/agents/us-east/a1/credentials");
    assert.equal(again.status, 404, JSON.stringify(again.json));
    const audit = await ctx.nats.jsm.direct.getMessage(Streams.audit, {
      last_by_subj: "atlas.audit._system",
    });
    const event = AuditEvent.parse(audit?.json());
    assert.equal(event.action, "agent.revoke");
    assert.deepEqual(event.details, { agent: "a1", revoked: [first.publicKey] });
    await a1!.agent.close();

    // Re-enrolment: a new key, and the agent runs again (v2 reaches it).
    const second = await t.expect<Enrolled>("POST", "/v1/agents/us-east/a1/credentials", {}, 201);
    assert.notEqual(second.publicKey, first.publicKey);
    assert.match(await handshake(server.url, second.creds), /PONG/);
    const [back] = await startTestAgents(t, [
      { id: "a1", region: "us-east", nats: ctx.urls, credentials: second.creds },
    ], ctx.addLog);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
    await t.expect("POST", "/v1/configs/web/activate", { version: 2 });
    await waitFor("v2 applied", async () => (await Deno.readTextFile(back!.file)) === '{"v":2}');
    await back!.agent.close();
    // The revocation is stored by the resolver: a restart (preloading the account JWT
    // the server was configured with, which has none) keeps it.
    await server.stop();
    await server.restart();
    assert.match(await handshake(server.url, first.creds), /-ERR 'Authorization Violation'/);
    assert.match(await handshake(server.url, second.creds), /PONG/);
  },
);

natsTest("enrolment refuses an unknown region and a control plane without keys", async (ctx) => {
  await using withKeys = await startTestControl(ctx.urls, { enrolment: true });
  const unknown = await withKeys.call("POST", "/v1/agents/nowhere/a1/credentials");
  assert.equal(unknown.status, 404, JSON.stringify(unknown.json));
  assert.match(JSON.stringify(unknown.json), /regions add nowhere/);
  await using without = await startTestControl(ctx.urls, {
    signingKeyFile: withKeys.signingKeyFile,
  });
  const refused = await without.call("POST", "/v1/agents/us-east/a1/credentials");
  assert.equal(refused.status, 409, JSON.stringify(refused.json));
  assert.match(JSON.stringify(refused.json), /--auth-dir/);
});

Deno.test({
  name: "a revocation made on the primary drops an agent connected in its region's cluster",
  fn: async () => {
    await using sc = await startSupercluster([{ name: "primary" }, { name: "us-east" }]);
    const logs: HasLog[] = [];
    await printLogsOnFailure(() => [sc, ...logs], async () => {
      {
        await using primary = await connectAs(sc.cluster("primary").urls, "control");
        await provision(primary, { cluster: "primary" });
        await provisionRegion(primary, "us-east", { cluster: "us-east" });
      }
      await using t = await startTestControl(sc.cluster("primary").urls, { enrolment: true });
      logs.push(t);
      const east = sc.cluster("us-east").servers[0]!;
      const enrolled = await t.expect<Enrolled>(
        "POST",
        "/v1/agents/us-east/e1/credentials",
        {},
        201,
      );
      const [e1] = await startTestAgents(t, [
        { id: "e1", region: "us-east", nats: [east.url], credentials: enrolled.creds },
      ], (l) => logs.push(l));
      assert.ok((await east.connectionNames()).includes("atlas-agent us-east/e1"));
      await t.expect("DELETE", "/v1/agents/us-east/e1/credentials");
      await waitFor(
        "the agent dropped in us-east",
        async () => !(await east.connectionNames()).includes("atlas-agent us-east/e1"),
        { timeoutMs: 10_000 },
      );
      assert.match(await handshake(east.url, enrolled.creds), /Authorization Violation/);
      await e1!.agent.close();
    });
  },
});
