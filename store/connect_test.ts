import assert from "node:assert/strict";
import { AuthorizationError, connect } from "@nats-io/transport-node";
import { CredentialsError, credsSigner, parseCredsText } from "@atlas/core";
import { connectAtlas } from "./connect.ts";
import { natsTest } from "@atlas/testkit";

natsTest("connecting with missing or malformed credentials says how to get them", async (ctx) => {
  await assert.rejects(
    () => connectAtlas(ctx.urls, { credentials: "/nonexistent/agent.creds" }),
    (e: Error) =>
      e instanceof TypeError && /Cannot read NATS credentials \/nonexistent/.test(e.message) &&
      /atlas agents enroll/.test(e.message),
  );
  await assert.rejects(
    () => connectAtlas(ctx.urls, { credentials: "-----BEGIN nonsense" }),
    CredentialsError,
  );
});

natsTest("an anonymous client is told to pass credentials", async (ctx) => {
  await assert.rejects(
    () => connectAtlas(ctx.urls, { timeoutMs: 2_000 }),
    /NATS refused an anonymous connection .*pass credentials \(--creds/,
  );
});

natsTest(
  "credentials signed with node:crypto connect, and a foreign seed is refused",
  async (ctx) => {
    const mine = await ctx.auth.issue({ kind: "agent", region: "us-east", agent: "a1" });
    const other = await ctx.auth.issue({ kind: "agent", region: "us-east", agent: "a2" });
    await using nats = await connectAtlas(ctx.urls, { credentials: mine.creds });
    // The server checked the nonce's signature; a round trip proves the connection is up.
    await nats.nc.flush();
    assert.equal(nats.nc.info?.client_id !== undefined, true);

    // A .creds file whose seed is another user's: refused before any server is asked.
    const pieced = mine.creds.replace(
      parseCredsText(mine.creds).seed,
      parseCredsText(other.creds).seed,
    );
    await assert.rejects(
      () => connectAtlas(ctx.urls, { credentials: pieced }),
      (e: Error) =>
        e instanceof CredentialsError &&
        /not the key of its user agent\.us-east\.a1/.test(e.message),
    );
    // A damaged seed (one character changed breaks its checksum): refused, saying so.
    const seed = parseCredsText(mine.creds).seed;
    const damaged = mine.creds.replace(
      seed,
      seed.slice(0, 10) + (seed[10] === "A" ? "B" : "A") + seed.slice(11),
    );
    await assert.rejects(
      () => connectAtlas(ctx.urls, { credentials: damaged }),
      (e: Error) => e instanceof CredentialsError && /seed .* is damaged/.test(e.message),
    );
  },
);

natsTest("the server refuses a nonce signed by a key that is not the JWT's user", async (ctx) => {
  const mine = await ctx.auth.issue({ kind: "reader" });
  const other = await ctx.auth.issue({ kind: "reader" });
  const forger = credsSigner(other.creds);
  await assert.rejects(
    () =>
      connect({
        servers: ctx.urls,
        authenticator: (nonce?: string) => ({
          jwt: parseCredsText(mine.creds).jwt,
          nkey: mine.publicKey,
          sig: forger.signNonce(nonce ?? ""),
        }),
        maxReconnectAttempts: 0,
        timeout: 5_000,
      }),
    (e: Error) => e instanceof AuthorizationError,
  );
});
