import assert from "node:assert/strict";
import { CredentialsError } from "@atlas/core";
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
