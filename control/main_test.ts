import assert from "node:assert/strict";
import { generateSigningKey, generateTokenSecret, tokenFileEntry } from "@atlas/core";
import { natsTest, waitFor } from "@atlas/testkit";
import { parseControlArgs, UsageError } from "./main.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

function control(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("control plane arguments: a missing signing key says how to make one", async () => {
  await assert.rejects(
    () => parseControlArgs(["--tokens-file", "x"], { get: () => undefined }),
    (e: Error) => e instanceof UsageError && /keys generate/.test(e.message),
  );
  await assert.rejects(
    () => parseControlArgs(["--signing-key", "/nonexistent/k"], { get: () => undefined }),
    /Signing key \/nonexistent\/k does not exist: create it with `deno task atlas keys generate \/nonexistent\/k`/,
  );
  const help = await control(["--help"]).output();
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /--signing-key <file>/);
  const bad = await control(["--port", "x", "--signing-key", "/nonexistent"]).output();
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /^error: /);
});

Deno.test("control plane arguments: hashed tokens file, regions, limits, env fallback", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/k`, JSON.stringify(generateSigningKey()));
  const admin = tokenFileEntry("admin", "admin", "a".repeat(40));
  const rob = tokenFileEntry("rob", "reader", "r".repeat(40));
  await Deno.writeTextFile(`${dir}/ts.json`, JSON.stringify([admin, rob]));
  const options = await parseControlArgs([
    "--signing-key",
    `${dir}/k`,
    "--tokens-file",
    `${dir}/ts.json`,
    "--regions",
    "us-east, eu-west",
    "--port",
    "0",
    "--max-content-bytes",
    "100",
  ], { get: (n) => (n === "ATLAS_NATS_URL" ? "nats://a:1,nats://b:2" : undefined) });
  assert.deepEqual(options, {
    nats: "nats://a:1,nats://b:2",
    signingKey: `${dir}/k`,
    tokens: [admin, rob],
    port: 0,
    hostname: "127.0.0.1",
    regions: ["us-east", "eu-west"],
    replicas: 1,
    maxContentBytes: 100,
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("control plane arguments: malformed and plain tokens files are refused, saying how to fix them", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/k`, JSON.stringify(generateSigningKey()));
  const env = { get: () => undefined };
  const withFile = async (text: string) => {
    await Deno.writeTextFile(`${dir}/ts.json`, text);
    return parseControlArgs(["--signing-key", `${dir}/k`, "--tokens-file", `${dir}/ts.json`], env);
  };
  const refusals: [string, RegExp][] = [
    [
      JSON.stringify([{ name: "rob", token: "r", role: "reader" }]),
      /holds a plain secret \(the "token" of "rob"\).*atlas tokens hash --name rob --role reader --secret-file/,
    ],
    ["[{", /is not JSON .*atlas tokens hash/],
    [JSON.stringify([{ name: "x", role: "boss", sha256: "00" }]), /\{"name", "role".*"sha256"/],
    [JSON.stringify([{ name: "x", role: "admin", sha256: "A".repeat(64) }]), /64 lowercase hex/],
    [
      JSON.stringify([tokenFileEntry("x", "admin", "s1"), tokenFileEntry("x", "reader", "s2")]),
      /names "x" twice/,
    ],
    ["[]", /is empty: it needs at least one admin/],
  ];
  for (const [text, message] of refusals) {
    await assert.rejects(
      () => withFile(text),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      text,
    );
  }
  await assert.rejects(
    () => parseControlArgs(["--signing-key", `${dir}/k`], env),
    /No API tokens: pass --tokens-file.*atlas tokens hash/,
  );
  await assert.rejects(
    () => parseControlArgs(["--signing-key", `${dir}/k`, "--token-file", `${dir}/t`], env),
    /--token-file is gone.*tokens hash --name admin --role admin --secret-file/,
  );
  await Deno.remove(dir, { recursive: true });
});

natsTest("deno task control serves until SIGTERM, then shuts down cleanly", async (ctx) => {
  const { urls } = ctx;
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/k`, JSON.stringify(generateSigningKey()));
  await Deno.writeTextFile(`${dir}/control.creds`, await ctx.auth.creds("control"));
  const secret = generateTokenSecret();
  await Deno.writeTextFile(
    `${dir}/tokens.json`,
    JSON.stringify([tokenFileEntry("admin", "admin", secret)]),
  );
  const child = control([
    "--nats",
    urls.join(","),
    "--creds",
    `${dir}/control.creds`,
    "--port",
    "0",
    "--signing-key",
    `${dir}/k`,
    "--tokens-file",
    `${dir}/tokens.json`,
    "--regions",
    "ap-south",
  ]).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/ listening url=(\S+)\n/.test(out)) {
    const { value, done } = await lines.read();
    if (done) break;
    out += value;
  }
  const url = / listening url=(\S+)\n/.exec(out)?.[1];
  assert.ok(url, `no URL in ${JSON.stringify(out)}`);
  const regions = await fetch(`${url}/v1/regions`, {
    headers: { Authorization: `Bearer ${secret}` },
  });
  const body = await regions.json() as { regions: { name: string }[] };
  assert.ok(body.regions.some((r) => r.name === "ap-south"));

  // SIGHUP reloads the tokens file: the removed token is refused, the added one works.
  const status = async (token: string) => {
    const res = await fetch(`${url}/v1/regions`, { headers: { Authorization: `Bearer ${token}` } });
    await res.body?.cancel();
    return res.status;
  };
  const next = generateTokenSecret();
  await Deno.writeTextFile(
    `${dir}/tokens.json`,
    JSON.stringify([tokenFileEntry("ops", "admin", next)]),
  );
  child.kill("SIGHUP");
  await waitFor(
    "the reloaded tokens",
    async () => (await status(secret)) === 401 && (await status(next)) === 200,
  );
  const audit = await fetch(`${url}/v1/audit?limit=1`, {
    headers: { Authorization: `Bearer ${next}` },
  });
  const { events } = await audit.json() as { events: Record<string, unknown>[] };
  assert.deepEqual(
    [events[0]?.action, events[0]?.details],
    ["token.file_reload", { added: ["ops"], removed: ["admin"], changed: [] }],
  );
  // A file that does not parse changes nothing, and the log says why.
  await Deno.writeTextFile(`${dir}/tokens.json`, "[{");
  child.kill("SIGHUP");
  for (let i = 0; i < 100 && !/tokens file not reloaded/.test(out); i++) {
    const { value, done } = await lines.read();
    if (done) break;
    out += value;
  }
  assert.match(out, /tokens file not reloaded.*is not JSON/);
  assert.equal(await status(next), 200);
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 0);
  lines.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel();
  await Deno.remove(dir, { recursive: true });
});
