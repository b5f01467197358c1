import assert from "node:assert/strict";
import { AckIdentity, parseCredsText, Verifier, verifyAck } from "@atlas/core";
import {
  acksOf,
  activateVersion,
  makeCredentials,
  natsTest,
  storeVersion,
  waitFor,
} from "@atlas/testkit";
import { Agent } from "./agent.ts";
import { loadAgentConfig } from "./config.ts";
import { loadIdentity } from "./identity.ts";
import { makeAgentConfig, signer } from "./test_helpers.ts";

natsTest("an agent signs its acks with the seed of agent.json's credentials", async (ctx) => {
  const base = await makeAgentConfig(ctx.urls);
  const dir = base.stateDir.replace(/\/state$/, "");
  // Issued by the servers' operator (auth is on): the seed in it is the agent's identity.
  const creds = await ctx.auth.creds({ kind: "agent", region: "us-east", agent: "a1" });
  const identity = new AckIdentity(parseCredsText(creds).seed);
  await Deno.writeTextFile(`${dir}/agent.creds`, creds, { mode: 0o600 });
  await Deno.writeTextFile(
    `${dir}/agent.json`,
    JSON.stringify({ ...base, credentials: "agent.creds" }),
  );
  const cfg = await loadAgentConfig(`${dir}/agent.json`);
  assert.equal(cfg.credentials, `${dir}/agent.creds`, "resolved against agent.json's dir");
  await using agent = await Agent.start(cfg, {
    verifier: new Verifier([signer.trustedKey]),
    log: () => {},
  });
  await agent.whenConnected();
  const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
  await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
  const [ack] = await waitFor("the ack", async () => {
    const acks = await acksOf(ctx.nats, "us-east", "web", "a1");
    return acks.length === 1 && acks;
  });
  assert.ok(ack?.signature, "signed");
  assert.ok(verifyAck(ack!, identity.publicKey), "by the key of its .creds file");
});

Deno.test("credentials that cannot be read or are not a .creds file are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadIdentity(`${dir}/missing.creds`),
      /Cannot read the agent's credentials .*missing\.creds.*atlas agents enroll/,
    );
    await Deno.writeTextFile(`${dir}/bad.creds`, "hello");
    await assert.rejects(
      loadIdentity(`${dir}/bad.creds`),
      /Invalid credentials file .*bad\.creds: expected a NATS \.creds file/,
    );
    const { creds } = await makeCredentials("a1");
    assert.match((await loadIdentity(await write(dir, creds))).publicKey, /^U/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function write(dir: string, text: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/good.creds`, text);
  return `${dir}/good.creds`;
}
