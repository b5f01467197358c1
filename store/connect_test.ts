import assert from "node:assert/strict";
import { CredentialsError, parseCredsText, Streams } from "@atlas/core";
import { connectAtlas } from "./connect.ts";
import { handshake, natsTest, startNatsServer, TestAuth, waitFor } from "@atlas/testkit";

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
  // At the protocol level (the node client's socket reset after a refusal can escape it).
  assert.match(await handshake(ctx.urls[0]!, mine.creds), /PONG/);
  const pieced = mine.creds.replace(
    parseCredsText(mine.creds).seed,
    parseCredsText(other.creds).seed,
  );
  assert.match(await handshake(ctx.urls[0]!, pieced), /Authorization Violation/);
});

natsTest("close waits for the writes left to the background", async (ctx) => {
  const nats = await ctx.connect("control");
  const id = crypto.randomUUID();
  nats.background(
    nats.publisher.publish(`atlas.intent.${id}`, "{}", { msgID: id }),
  );
  nats.background(Promise.reject(new Error("dropped, not thrown")));
  await nats.close();
  const stored = await ctx.nats.jsm.streams.getMessage(Streams.intents, {
    last_by_subj: `atlas.intent.${id}`,
  });
  assert.equal(stored?.string(), "{}");
});

natsTest("a client refused again and again on reconnect comes back once let in", async (ctx) => {
  // Under a storm a loaded server answers "Authentication Timeout"; nats.js gives up for
  // good after two auth errors in a row unless told not to. A server of another operator
  // on the same port gives the same refusals on demand.
  const creds = await ctx.auth.creds({ kind: "agent", region: "us-east", agent: "refused" });
  const nats = await connectAtlas(ctx.urls, { credentials: creds, reconnectJitterMs: 100 });
  const seen: string[] = [];
  (async () => {
    for await (const s of nats.nc.status()) seen.push(s.type);
  })().catch(() => {});
  const server = ctx.servers[0]!;
  try {
    await server.stop();
    const stranger = await startNatsServer({
      port: Number(new URL(server.url).port),
      auth: await TestAuth.create(),
    });
    try {
      await waitFor("refused three times", () => seen.filter((t) => t === "error").length >= 3, {
        timeoutMs: 20_000,
      });
    } finally {
      await stranger.stop();
    }
    await server.restart();
    await waitFor("reconnected", () => seen.includes("reconnect"), { timeoutMs: 20_000 });
    assert.equal(nats.nc.isClosed(), false);
  } finally {
    await nats.close();
  }
});
