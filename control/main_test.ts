import assert from "node:assert/strict";
import { generateSigningKey } from "@atlas/core";
import { natsTest } from "@atlas/testkit";
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
    () => parseControlArgs(["--token-file", "x"], { get: () => undefined }),
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

Deno.test("control plane arguments: tokens from files, regions, limits, env fallback", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/k`, JSON.stringify(generateSigningKey()));
  await Deno.writeTextFile(`${dir}/t`, "admin-token\n");
  await Deno.writeTextFile(
    `${dir}/ts.json`,
    JSON.stringify([{ name: "rob", token: "r", role: "reader" }]),
  );
  const options = await parseControlArgs([
    "--signing-key",
    `${dir}/k`,
    "--token-file",
    `${dir}/t`,
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
    tokens: [
      { name: "admin", token: "admin-token", role: "admin" },
      { name: "rob", token: "r", role: "reader" },
    ],
    port: 0,
    hostname: "127.0.0.1",
    regions: ["us-east", "eu-west"],
    replicas: 1,
    maxContentBytes: 100,
  });
  await Deno.writeTextFile(`${dir}/ts.json`, JSON.stringify([{ name: "x", role: "boss" }]));
  await assert.rejects(
    () =>
      parseControlArgs(["--signing-key", `${dir}/k`, "--tokens-file", `${dir}/ts.json`], {
        get: () => undefined,
      }),
    /must be \[\{"name", "token", "role"/,
  );
  await Deno.remove(dir, { recursive: true });
});

natsTest("deno task control serves until SIGTERM, then shuts down cleanly", async (ctx) => {
  const { urls } = ctx;
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/k`, JSON.stringify(generateSigningKey()));
  await Deno.writeTextFile(`${dir}/t`, "tok");
  await Deno.writeTextFile(`${dir}/control.creds`, await ctx.auth.creds("control"));
  const child = control([
    "--nats",
    urls.join(","),
    "--creds",
    `${dir}/control.creds`,
    "--port",
    "0",
    "--signing-key",
    `${dir}/k`,
    "--token-file",
    `${dir}/t`,
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
  const regions = await fetch(`${url}/v1/regions`, { headers: { Authorization: "Bearer tok" } });
  const body = await regions.json() as { regions: { name: string }[] };
  assert.ok(body.regions.some((r) => r.name === "ap-south"));
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0);
  lines.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel();
  await Deno.remove(dir, { recursive: true });
});
