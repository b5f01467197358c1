import assert from "node:assert/strict";
import { type AckRecord, SigningKeyFile, Subjects } from "@atlas/core";
import { enrolAgent, natsTest } from "@atlas/testkit";
import { resolveTarget } from "./client.ts";
import { table } from "./format.ts";
import { atlasHere, startTestControl } from "./testing.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CLI = new URL("./main.ts", import.meta.url).pathname;

/** Runs the CLI as a real subprocess. */
async function atlas(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    clearEnv: false,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

natsTest("the CLI, as a subprocess, creates, publishes, activates and reports", async ({
  urls,
}) => {
  await using control = await startTestControl(urls);
  const { dir, env } = control;
  await Deno.writeTextFile(`${dir}/schema.json`, JSON.stringify({ type: "object" }));
  await Deno.writeTextFile(`${dir}/web.json`, '{ "a": 1 }');

  const created = await atlas(env, "configs", "create", "web", "--schema", `${dir}/schema.json`);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /created config web \(application\/json\)/);

  const published = await atlas(env, "publish", "web", `${dir}/web.json`, "-m", "first");
  assert.equal(published.code, 0, published.stderr);
  assert.match(published.stdout, /published web v1 \(sha256 [0-9a-f]{12}, 10 bytes\)/);

  const versions = await atlas(env, "versions", "web");
  assert.match(versions.stdout, /^VERSION\s+DIGEST\s+SIZE\s+AUTHOR/);
  assert.match(versions.stdout, /\nv1\s+[0-9a-f]{12}\s+10\s+ops\s+.*first$/m);

  const activated = await atlas(env, "activate", "web", "1", "--regions", "us-east");
  assert.equal(activated.code, 0, activated.stderr);
  assert.match(activated.stdout, /us-east\s+-\s+v1\s+1\s+yes/);

  const status = await atlas(env, "status", "web", "--json");
  assert.equal(status.code, 0, status.stderr);
  const parsed = JSON.parse(status.stdout) as { regions: { region: string; pointer: unknown }[] };
  assert.deepEqual(parsed.regions.map((r) => [r.region, r.pointer !== null]), [
    ["eu-west", false],
    ["us-east", true],
  ]);

  const human = await atlas(env, "status", "web");
  assert.match(human.stdout, /us-east\s+v1\s+1\s+-\s+0/);

  const failed = await atlas(env, "activate", "web", "9");
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, "");
  assert.match(failed.stderr, /^error: Version 9 of web does not exist/);

  const invalid = await atlas(env, "configs", "create", "Bad Name");
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /error: Invalid config name "Bad Name"/);
});

natsTest("the CLI prints exact content, diffs, audit and schema issues", async ({ urls }) => {
  await using control = await startTestControl(urls);
  const { dir, env } = control;
  const run = (...args: string[]) => atlasHere(env, dir, ...args);
  await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify({ required: ["a"] }));
  assert.equal((await run("configs", "create", "web", "--schema", `${dir}/s.json`)).code, 0);
  const text = '{"a": "caf\u00e9"}';
  await Deno.writeTextFile(`${dir}/v1.json`, text);
  await Deno.writeTextFile(`${dir}/v2.json`, '{"a": 2}\n');
  await Deno.writeTextFile(`${dir}/bad.json`, '{"b": 2}\n');
  assert.equal((await run("publish", "web", `${dir}/v1.json`)).code, 0);
  assert.equal((await run("publish", "web", `${dir}/v2.json`)).code, 0);

  const shown = await run("show", "web", "1");
  assert.deepEqual(shown.bytes, new TextEncoder().encode(text));
  const diff = await run("diff", "web", "1", "2");
  assert.match(diff.stdout, /--- web@v1\n\+\+\+ web@v2/);

  const bad = await run("publish", "web", `${dir}/bad.json`);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /error: Content of web does not satisfy.*\n {2}\/: must have required property 'a'/,
  );

  const audit = await run("audit", "--config", "web", "--limit", "2");
  assert.match(audit.stdout, /^AT\s+ACTOR\s+ACTION/);
  assert.deepEqual(
    audit.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[3]),
    ["version.publish", "version.publish"],
  );
  const keys = JSON.parse((await run("keys")).stdout) as { keys: { keyId: string }[] };
  assert.equal(keys.keys.length, 1);
  const regions = await run("regions", "add", "ap-south");
  assert.match(regions.stdout, /added region ap-south/);
  assert.match((await run("regions")).stdout, /ap-south/);
  // Options reach the API: a replica count the server cannot have is refused there.
  const tooMany = await atlas(env, "regions", "add", "sa-east", "--replicas", "9");
  assert.notEqual(tooMany.code, 0);
  assert.match(tooMany.stderr, /replicas/);
  assert.match((await run("configs")).stdout, /web\s+application\/json\s+v2\s+yes/);
});

Deno.test("the CLI says how to start the control plane when it cannot reach it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `http://127.0.0.1:${port}`;
  const res = await atlasHere({ ATLAS_URL: url, ATLAS_TOKEN: "x" }, "/", "configs");
  assert.equal(res.code, 1);
  assert.match(
    res.stderr,
    new RegExp(
      `^error: cannot reach the control plane at ${url}: is it running\\? Start it ` +
        "with `deno task dev`",
    ),
  );
});

Deno.test("the CLI says how to set a token when it has none", async () => {
  const res = await atlasHere({ ATLAS_URL: "http://127.0.0.1:1" }, "/", "configs");
  assert.equal(res.code, 1);
  assert.match(res.stderr, /No API token: set ATLAS_TOKEN/);
  const unknown = await atlasHere({}, "/", "frobnicate");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /Unknown command "frobnicate"/);
  const help = await atlasHere({}, "/", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /keys generate <file>/);
});

Deno.test("the CLI finds a dev instance by --url, ATLAS_URL, --dev-dir, ATLAS_DEV_DIR or walking up", async () => {
  const dir = await Deno.makeTempDir();
  const devJson = (port: number, tokenFile: string) =>
    JSON.stringify({
      controlUrl: `http://127.0.0.1:${port}/`,
      natsUrl: "nats://127.0.0.1:4222",
      tokenFile,
      trustedKeysFile: "trusted.json",
      agents: [],
    });
  await Deno.mkdir(`${dir}/project/.atlas/dev`, { recursive: true });
  await Deno.mkdir(`${dir}/project/sub/deeper`, { recursive: true });
  await Deno.writeTextFile(`${dir}/project/.atlas/dev/token`, "dev-token\n");
  await Deno.writeTextFile(
    `${dir}/project/.atlas/dev/dev.json`,
    devJson(9999, ".atlas/dev/token"),
  );
  await Deno.mkdir(`${dir}/custom`);
  await Deno.writeTextFile(`${dir}/custom/admin.token`, "custom-token");
  await Deno.writeTextFile(`${dir}/custom/dev.json`, devJson(7777, `${dir}/custom/admin.token`));
  const env = (vars: Record<string, string>) => ({ get: (n: string) => vars[n] });

  // Walking up from a subdirectory finds the project's .atlas/dev/dev.json.
  assert.deepEqual(await resolveTarget(env({}), `${dir}/project/sub/deeper`), {
    url: "http://127.0.0.1:9999",
    token: "dev-token",
    source: `${dir}/project/.atlas/dev/dev.json`,
  });
  assert.equal(
    (await resolveTarget(env({ ATLAS_TOKEN: "mine" }), `${dir}/project`)).token,
    "mine",
  );
  // A dev instance started with --data-dir: ATLAS_DEV_DIR, and --dev-dir over it.
  const custom = await resolveTarget(env({ ATLAS_DEV_DIR: `${dir}/custom` }), `${dir}/project`);
  assert.deepEqual([custom.url, custom.token], ["http://127.0.0.1:7777", "custom-token"]);
  const flagged = await resolveTarget(env({ ATLAS_DEV_DIR: "/nowhere" }), dir, {
    devDir: "custom",
  });
  assert.equal(flagged.url, "http://127.0.0.1:7777");
  await assert.rejects(
    resolveTarget(env({ ATLAS_DEV_DIR: `${dir}/project` }), dir),
    /ATLAS_DEV_DIR points at .*project, which has no dev.json/,
  );
  // An explicit URL wins, --url over ATLAS_URL.
  assert.deepEqual(await resolveTarget(env({ ATLAS_URL: "http://h:1" }), `${dir}/project`), {
    url: "http://h:1",
    token: undefined,
    source: "ATLAS_URL",
  });
  assert.equal(
    (await resolveTarget(env({ ATLAS_URL: "http://h:1" }), dir, { url: "http://g:2/" })).url,
    "http://g:2",
  );
  await Deno.writeTextFile(`${dir}/tok`, "from-file");
  assert.equal(
    (await resolveTarget(env({ ATLAS_URL: "http://h:1", ATLAS_TOKEN_FILE: `${dir}/tok` }), "/"))
      .token,
    "from-file",
  );
  // Nothing found: no default port, but how to point the CLI at an instance.
  const none = await atlasHere({}, dir, "configs");
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No control plane to talk to .*pass --url <url> or set ATLAS_URL/);
  assert.match(none.stderr, /set ATLAS_DEV_DIR=<dir> or pass --dev-dir <dir>/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("keys generate writes a 0600 key file and never overwrites one", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/keys/signing.key`;
  const first = await atlasHere({}, dir, "keys", "generate", path);
  assert.equal(first.code, 0, first.stderr);
  const key = SigningKeyFile.parse(JSON.parse(await Deno.readTextFile(path)));
  assert.match(first.stdout, new RegExp(key.keyId));
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const second = await atlasHere({}, dir, "keys", "generate", path);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /already exists; refusing to overwrite/);
  assert.equal(SigningKeyFile.parse(JSON.parse(await Deno.readTextFile(path))).keyId, key.keyId);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tables align columns and say (none) when empty", () => {
  assert.equal(table(["A", "BB"], [["xyz", "1"], ["q", "22"]]), "A    BB\nxyz  1\nq    22");
  assert.equal(table(["A"], []), "(none)");
});

Deno.test("help is generated per command and lists every command with its arguments", async () => {
  const root = await atlasHere({}, "/", "--help");
  assert.equal(root.code, 0);
  for (const line of ["rollout start <name> <version>", "keys generate <file>", "get <config>"]) {
    assert.ok(root.stdout.includes(line), `${line} in\n${root.stdout}`);
  }
  assert.equal((await atlasHere({}, "/", "help")).stdout, root.stdout);
  const start = await atlasHere({}, "/", "rollout", "start", "--help");
  assert.equal(start.code, 0);
  assert.match(start.stdout, /^Usage: atlas rollout start \[options\] <name> <version>/);
  assert.match(start.stdout, /--allow-no-coordinator/);
  assert.match(start.stdout, /Global Options:[\s\S]*--json/);
  assert.doesNotMatch(start.stdout, /--content-type/, "only the command's own flags");
  // A flag of another command is refused, naming the command's help.
  const wrong = await atlasHere({}, "/", "status", "web", "--content-type", "x");
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^error: Unknown option '--content-type'.*see `atlas status --help`/);
  const missing = await atlasHere({}, "/", "publish", "web");
  assert.match(
    missing.stderr,
    /^error: Missing required argument 'file': see `atlas publish --help`/,
  );
});

Deno.test("--json prints errors as JSON on stdout with exit code 1", async () => {
  const usage = await atlasHere({}, "/", "frobnicate", "--json");
  assert.equal(usage.code, 1);
  assert.equal(usage.stderr, "");
  assert.deepEqual(JSON.parse(usage.stdout), {
    error: { code: "usage", message: 'Unknown command "frobnicate": see `deno task atlas help`' },
  });
  const parse = await atlasHere({}, "/", "status", "--json");
  assert.equal(JSON.parse(parse.stdout).error.code, "usage");
  const empty = await atlasHere(
    { ATLAS_URL: "http://127.0.0.1:1", ATLAS_TOKEN: "x" },
    "/",
    "activate",
    "web",
    "1",
    "--regions",
    "",
    "--json",
  );
  assert.equal(empty.code, 1);
  assert.match(JSON.parse(empty.stdout).error.message, /^--regions needs at least one region/);
});

Deno.test("atlas completion prints bash and zsh scripts that complete commands and flags", async () => {
  const bash = await atlasHere({}, "/", "completion", "bash");
  assert.equal(bash.code, 0, bash.stderr);
  assert.match(bash.stdout, /complete -o default -F _atlas_complete atlas/);
  const zsh = await atlasHere({}, "/", "completion", "zsh");
  assert.match(zsh.stdout, /bashcompinit/);
  assert.equal((await atlasHere({}, "/", "completion", "fish")).code, 1);
  // Run the bash function on a few command lines.
  const complete = async (line: string) => {
    const words = line.split(" ");
    const script = `${bash.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})\n` +
      `COMP_CWORD=${words.length - 1}\n_atlas_complete\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped" })
      .output();
    return new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean);
  };
  assert.deepEqual(await complete("atlas rollout st"), ["start"]);
  assert.ok((await complete("atlas ")).includes("configs"));
  assert.deepEqual(await complete("atlas rollout start web 1 --allow"), ["--allow-no-coordinator"]);
  assert.deepEqual(await complete("atlas configs cr"), ["create"]);
  assert.deepEqual(await complete("atlas activate web 1 --js"), ["--json"]);
  assert.deepEqual(await complete("atlas publish web --message "), []);
});

natsTest("file arguments are relative to the caller's directory under deno task", async ({
  urls,
}) => {
  await using control = await startTestControl(urls);
  const elsewhere = await Deno.makeTempDir();
  await Deno.writeTextFile(`${elsewhere}/web.json`, '{"from": "elsewhere"}');
  await Deno.writeTextFile(`${elsewhere}/schema.json`, '{"type": "object"}');
  const task = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "--config", `${ROOT}deno.json`, "atlas", ...args],
      cwd: elsewhere,
      // A user's shell, not this test's: `deno task test` set INIT_CWD, and deno task keeps
      // an INIT_CWD it inherits.
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        NO_COLOR: "1",
        ...control.env,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const created = await task("configs", "create", "web", "--schema", "schema.json");
  assert.equal(created.code, 0, created.stderr);
  const published = await task("publish", "web", "web.json", "--json");
  assert.equal(published.code, 0, published.stderr);
  assert.equal(JSON.parse(published.stdout).version, 1);
  const shown = await atlasHere(control.env, "/", "show", "web", "1");
  assert.equal(shown.stdout, '{"from": "elsewhere"}');
  // An API error with --json: the API's code, on stdout.
  const failed = await task("activate", "web", "9", "--json");
  assert.equal(failed.code, 1);
  assert.equal(JSON.parse(failed.stdout).error.code, "not_found");
  await Deno.remove(elsewhere, { recursive: true });
});

natsTest("atlas evidence lists the hosts whose signed acks prove a version", async ({
  urls,
  nats,
}) => {
  await using control = await startTestControl(urls);
  const { dir, env } = control;
  await Deno.writeTextFile(`${dir}/web.json`, '{ "a": 1 }');
  assert.equal((await atlas(env, "configs", "create", "web")).code, 0);
  assert.equal((await atlas(env, "publish", "web", `${dir}/web.json`)).code, 0);
  const { identity } = await enrolAgent(nats, "us-east", "a1");
  const ack: AckRecord = {
    agent: "a1",
    region: "us-east",
    config: "web",
    version: 1,
    digest: "1".repeat(64),
    seq: 1,
    status: "applied",
    latencyMs: 1,
    at: new Date().toISOString(),
  };
  await nats.js.publish(Subjects.ack("us-east", "web", "a1"), JSON.stringify(identity.sign(ack)));
  // A forgery in a2's name: unsigned, not evidence.
  await nats.js.publish(
    Subjects.ack("us-east", "web", "a2"),
    JSON.stringify({ ...ack, agent: "a2" }),
  );

  const out = await atlas(env, "evidence", "web", "1");
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stdout,
    /^1 host\(s\) ran web v1 at .* \(2 acks read, 1 unverified and ignored\)/,
  );
  assert.match(out.stdout, /\nus-east\s+a1\s+1\s/);
  const before = await atlas(env, "evidence", "web", "1", "--at", "2020-01-01");
  assert.match(before.stdout, /^0 host\(s\) ran web v1/);
  const bad = await atlas(env, "evidence", "web", "1", "--at", "yesterday");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Invalid --at "yesterday"/);
});
