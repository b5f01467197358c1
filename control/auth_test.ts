import assert from "node:assert/strict";
import { TokenAuth } from "./auth.ts";
import { ForbiddenError, UnauthorizedError } from "./errors.ts";
import { controlTest, createConfig, READER_TOKEN } from "./testing.ts";

controlTest("missing and wrong tokens are 401 with WWW-Authenticate", async ({ api }) => {
  for (
    const [token, message] of [
      [null, /Missing bearer token/],
      ["wrong", /not valid/],
      ["admin-secret-for-tests-but-longer", /not valid/],
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

controlTest("a reader can read but not write", async ({ api }) => {
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
});

Deno.test("token auth resolves each token to its principal and refuses others", () => {
  const auth = new TokenAuth([
    { name: "alice", token: "a-token", role: "admin" },
    { name: "rob", token: "r-token", role: "reader" },
  ]);
  assert.deepEqual(auth.authenticate("Bearer a-token"), { name: "alice", role: "admin" });
  assert.deepEqual(auth.authenticate("bearer r-token"), { name: "rob", role: "reader" });
  assert.throws(() => auth.authenticate("Bearer a-toke"), UnauthorizedError);
  assert.throws(() => auth.authenticate(undefined), UnauthorizedError);
  assert.throws(
    () => auth.authorize({ name: "rob", role: "reader" }, "POST", "/v1/x"),
    ForbiddenError,
  );
  auth.authorize({ name: "rob", role: "reader" }, "GET", "/v1/x");
});

Deno.test("token auth refuses an empty token list and duplicate names", () => {
  assert.throws(() => new TokenAuth([]), /at least one token/);
  assert.throws(
    () =>
      new TokenAuth([
        { name: "a", token: "x", role: "admin" },
        { name: "a", token: "y", role: "reader" },
      ]),
    /configured twice/,
  );
});
