import assert from "node:assert/strict";
import { type AuditEvent, Buckets, Streams, tokenDigest, tokenFileEntry } from "@atlas/core";
import { waitFor } from "@atlas/testkit";
import { TokenAuth } from "./auth.ts";
import { createApp } from "./app.ts";
import { ForbiddenError, UnauthorizedError } from "./errors.ts";
import { Api, controlTest, createConfig, READER_TOKEN } from "./testing.ts";

type Created = { token: { id: string; name: string; role: string }; secret: string };
type Events = { events: AuditEvent[] };

controlTest("missing and wrong tokens are 401 with WWW-Authenticate", async ({ api }) => {
  for (
    const [token, message] of [
      [null, /Missing bearer token/],
      ["wrong", /not valid/],
      ["atlas_admin-secret-for-tests-0123456789abcdef0", /not valid/],
    ] as const
  ) {
    const res = await api.call("GET", "/v1/configs", { token });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    const { error } = res.json as { error: { code: string; message: string } };
    assert.equal(error.code, "unauthorized");
    assert.match(error.message, message);
  }
  const basic = await api.call("GET", "/v1/configs", {
    token: null,
    headers: { Authorization: "Basic eDp5" },
  });
  assert.equal(basic.status, 401);
});

controlTest("a reader can read but not write, and cannot see or make tokens", async ({ api }) => {
  await createConfig(api, "web");
  const write = await api.call("PUT", "/v1/configs/other", { body: {}, token: READER_TOKEN });
  assert.equal(write.status, 403);
  const { error } = write.json as { error: { code: string; message: string } };
  assert.equal(error.code, "forbidden");
  assert.match(error.message, /role reader.*PUT \/v1\/configs\/other.*admin/);
  assert.equal((await api.call("GET", "/v1/configs/other")).status, 404, "nothing stored");
  for (const path of ["/v1/configs", "/v1/configs/web", "/v1/keys", "/v1/regions", "/v1/audit"]) {
    assert.equal((await api.call("GET", path, { token: READER_TOKEN })).status, 200, path);
  }
  const activate = await api.call("POST", "/v1/configs/web/activate", {
    body: { version: 1 },
    token: READER_TOKEN,
  });
  assert.equal(activate.status, 403);
  const create = await api.call("POST", "/v1/tokens", {
    body: { name: "sneaky", role: "admin" },
    token: READER_TOKEN,
  });
  assert.equal(create.status, 403);
  assert.equal((await api.call("GET", "/v1/tokens", { token: READER_TOKEN })).status, 403);
  assert.equal((await api.call("DELETE", "/v1/tokens/alice", { token: READER_TOKEN })).status, 403);
  const { tokens } = await api.ok<{ tokens: { name: string }[] }>(200, "GET", "/v1/tokens");
  assert.deepEqual(tokens.map((t) => t.name), ["alice", "rob"], "no token was made");
});

controlTest(
  "a created token works with its role, and the list never shows a secret or digest",
  async ({ api, nats }) => {
    const created = await api.ok<Created>(201, "POST", "/v1/tokens", {
      body: { name: "ci", role: "reader" },
    });
    assert.match(created.token.id, /^tok_[0-9a-f]{16}$/);
    assert.match(created.secret, /^atlas_[A-Za-z0-9_-]{43}$/);
    assert.equal((await api.call("GET", "/v1/configs", { token: created.secret })).status, 200);
    assert.equal(
      (await api.call("PUT", "/v1/configs/x", { body: {}, token: created.secret })).status,
      403,
    );

    const dup = await api.call("POST", "/v1/tokens", { body: { name: "ci", role: "admin" } });
    assert.equal(dup.status, 409);
    assert.match(dup.text, /A token named \\"ci\\" exists/);
    const bad = await api.call("POST", "/v1/tokens", { body: { name: "a b", role: "root" } });
    assert.equal(bad.status, 400);

    const list = await api.call("GET", "/v1/tokens");
    assert.equal(list.status, 200);
    const { tokens } = list.json as { tokens: Record<string, unknown>[] };
    assert.deepEqual(
      tokens.map((t) => [t.id, t.name, t.role, t.source]),
      [
        ["file:alice", "alice", "admin", "file"],
        ["file:rob", "rob", "reader", "file"],
        [created.token.id, "ci", "reader", "api"],
      ],
    );
    assert.ok(!list.text.includes(created.secret), "no secret in the list");
    assert.ok(!list.text.includes(tokenDigest(created.secret)), "no digest in the list");
    assert.ok(!/sha256/i.test(list.text), "no digest field in the list");

    // What NATS holds: the digest under the id, never the secret.
    const kv = await nats.kv(Buckets.tokens);
    const stored = (await kv.get(created.token.id))?.json<Record<string, unknown>>();
    assert.equal(stored?.sha256, tokenDigest(created.secret));
  },
);

controlTest(
  "a revoked token gets 401 at once, on this and on another control plane",
  async (ctx) => {
    const { api } = ctx;
    const other = new Api(createApp({
      nats: ctx.nats,
      signer: ctx.signer,
      tokens: [tokenFileEntry("alice", "admin", "unused-here-but-long-enough-0123456789abcdef")],
      log: () => {},
    }));
    const { token, secret } = await api.ok<Created>(201, "POST", "/v1/tokens", {
      body: { name: "deployer", role: "admin" },
    });
    assert.equal((await api.call("GET", "/v1/configs", { token: secret })).status, 200);
    assert.equal((await other.call("GET", "/v1/configs", { token: secret })).status, 200);

    const revoked = await api.ok<Record<string, unknown>>(200, "DELETE", "/v1/tokens/deployer");
    assert.equal(revoked.id, token.id);
    assert.equal(revoked.revokedBy, "alice");
    const refused = await api.call("GET", "/v1/configs", { token: secret });
    assert.equal(refused.status, 401, "refused at once where it was revoked");
    assert.match(refused.text, /was revoked at .*atlas tokens create/);
    await waitFor(
      "the other control plane to refuse the revoked token",
      async () => (await other.call("GET", "/v1/configs", { token: secret })).status === 401,
    );

    // Again is a no-op; by id works; a file token and an unknown one are refused.
    assert.equal((await api.call("DELETE", `/v1/tokens/${token.id}`)).status, 200);
    const file = await api.call("DELETE", "/v1/tokens/rob");
    assert.equal(file.status, 409);
    assert.match(file.text, /comes from the tokens file/);
    assert.equal((await api.call("DELETE", "/v1/tokens/nobody")).status, 404);
    // The name is free again once revoked.
    await api.ok(201, "POST", "/v1/tokens", { body: { name: "deployer", role: "reader" } });
  },
);

controlTest(
  "a token with a TTL works until it expires, then gets 401 saying so",
  async ({ api }) => {
    const { token, secret } = await api.ok<Created & { token: { expiresAt?: string } }>(
      201,
      "POST",
      "/v1/tokens",
      { body: { name: "temp", role: "reader", ttlSeconds: 1 } },
    );
    assert.ok(token.expiresAt, "the answer says when it expires");
    assert.equal((await api.call("GET", "/v1/configs", { token: secret })).status, 200);
    const refused = await waitFor("the token to expire", async () => {
      const res = await api.call("GET", "/v1/configs", { token: secret });
      return res.status === 401 && res;
    });
    assert.match(
      (refused.json as { error: { message: string } }).error.message,
      /"temp" \(tok_[0-9a-f]{16}\) expired at /,
    );
    // An expired token frees its name; a TTL out of range is a 400.
    await api.ok(201, "POST", "/v1/tokens", { body: { name: "temp", role: "reader" } });
    const zero = await api.call("POST", "/v1/tokens", {
      body: { name: "z", role: "reader", ttlSeconds: 0 },
    });
    assert.equal(zero.status, 400);
  },
);

controlTest("the audit log names the token (name and id) of every action", async ({ api }) => {
  const { token, secret } = await api.ok<Created>(201, "POST", "/v1/tokens", {
    body: { name: "release-bot", role: "admin" },
  });
  await api.ok(201, "PUT", "/v1/configs/web", { body: {}, token: secret });
  await api.ok(200, "DELETE", `/v1/tokens/${token.id}`);

  const { events } = await api.ok<Events>(200, "GET", "/v1/audit?limit=10");
  const pick = (action: string) => events.find((e) => e.action === action);
  assert.deepEqual(
    [pick("token.create"), pick("config.put"), pick("token.revoke")]
      .map((e) => [e?.actor, e?.actorId]),
    [["alice", "file:alice"], ["release-bot", token.id], ["alice", "file:alice"]],
  );
  assert.deepEqual(pick("token.revoke")?.details, {
    id: token.id,
    name: "release-bot",
    role: "admin",
  });
});

controlTest("no token secret reaches NATS or the server's disk", async ({ api, nats, servers }) => {
  const secrets: string[] = [];
  for (const name of ["one", "two"]) {
    const { secret } = await api.ok<Created>(201, "POST", "/v1/tokens", {
      body: { name, role: "admin" },
    });
    secrets.push(secret);
    await api.ok(200, "DELETE", `/v1/tokens/${name}`);
  }
  // Every message of the tokens bucket and the audit stream, as stored.
  const texts: string[] = [];
  for (const stream of [`KV_${Buckets.tokens}`, Streams.audit]) {
    const { state } = await nats.jsm.streams.info(stream);
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const msg = await nats.jsm.streams.getMessage(stream, { seq });
      texts.push(new TextDecoder().decode(msg?.data ?? new Uint8Array()));
    }
  }
  assert.ok(texts.some((t) => t.includes(`"name":"one"`)), "the records were read");
  for (const secret of secrets) {
    assert.ok(!texts.some((t) => t.includes(secret)), "no secret in NATS");
  }
  const dir = servers[0]!.storeDir;
  // The scan sees what was stored (the digests), so it would see a secret.
  await waitFor(
    "the token records on disk",
    async () => (await _filesContaining(dir, secrets.map(tokenDigest))).length > 0,
  );
  assert.deepEqual(await _filesContaining(dir, secrets), [], "no secret in the JetStream store");
});

async function _filesContaining(dir: string, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const path = `${d}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.isFile) {
        const text = new TextDecoder().decode(await Deno.readFile(path));
        if (needles.some((n) => text.includes(n))) found.push(path);
      }
    }
  };
  await walk(dir);
  return found;
}

Deno.test("token auth resolves each token to its principal and refuses others", async () => {
  const a = "a-token-long-enough-0123456789abcdef";
  const r = "r-token-long-enough-0123456789abcdef";
  const auth = new TokenAuth([
    tokenFileEntry("alice", "admin", a),
    tokenFileEntry("rob", "reader", r),
  ]);
  assert.deepEqual(await auth.authenticate(`Bearer ${a}`), {
    id: "file:alice",
    name: "alice",
    role: "admin",
  });
  assert.deepEqual(await auth.authenticate(`bearer ${r}`), {
    id: "file:rob",
    name: "rob",
    role: "reader",
  });
  await assert.rejects(() => auth.authenticate(`Bearer ${a.slice(1)}`), UnauthorizedError);
  await assert.rejects(() => auth.authenticate(undefined), UnauthorizedError);
  const rob = { id: "file:rob", name: "rob", role: "reader" } as const;
  assert.throws(() => auth.authorize(rob, "POST", "/v1/x"), ForbiddenError);
  assert.throws(() => auth.authorize(rob, "GET", "/v1/tokens"), ForbiddenError);
  auth.authorize(rob, "GET", "/v1/x");
});

Deno.test("token auth refuses an empty token list and duplicate names", () => {
  assert.throws(() => new TokenAuth([]), /at least one token/);
  assert.throws(
    () => new TokenAuth([tokenFileEntry("a", "admin", "x"), tokenFileEntry("a", "reader", "y")]),
    /configured twice/,
  );
});
