import assert from "node:assert/strict";
import { dirname } from "node:path";
import { ApplyOutcome, preflightCandidate, reloadSplay, replaceFile } from "./apply.ts";
import { ManagedConfig } from "./config.ts";

const enc = new TextEncoder();
const RUN = { env: { ATLAS_CONFIG: "web" }, timeoutMs: 10_000 };

/** A live file `app.conf` holding "old" in a temp dir, and paths for command traces. */
async function setup(): Promise<{ dir: string; live: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "atlas-apply-test-" });
  await Deno.mkdir(`${dir}/etc`);
  const live = `${dir}/etc/app.conf`;
  await Deno.writeTextFile(live, "old\n");
  return { dir, live, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

function managed(fields: Record<string, unknown>): ManagedConfig {
  return ManagedConfig.parse(fields);
}

function namesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

async function rejection(p: Promise<unknown>): Promise<ApplyOutcome> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApplyOutcome) return e;
    throw e;
  }
  assert.fail("expected an ApplyOutcome");
}

Deno.test("verify runs on a candidate beside the file, then the file is replaced and reloaded", async () => {
  await using t = await setup();
  // Records the {path} it was given, ATLAS_CANDIDATE and what the candidate held.
  const verify = `echo "{path} $ATLAS_CANDIDATE $ATLAS_CONFIG" > ${t.dir}/verify.log && ` +
    `cat {path} >> ${t.dir}/verify.log`;
  await replaceFile(
    managed({ path: t.live, verify, reload: `cat ${t.live} > ${t.dir}/reloaded` }),
    enc.encode("new\n"),
    RUN,
  );
  assert.equal(await Deno.readTextFile(t.live), "new\n");
  assert.equal(await Deno.readTextFile(`${t.dir}/reloaded`), "new\n");
  const [first, content] = (await Deno.readTextFile(`${t.dir}/verify.log`)).split("\n");
  const [path, env, config] = first!.split(" ");
  assert.equal(path, env, "{path} and ATLAS_CANDIDATE name the same file");
  assert.equal(config, "web", "the caller's environment is passed on");
  assert.equal(dirname(path!), dirname(t.live), "the candidate is in the file's directory");
  assert.notEqual(path, t.live);
  assert.match(path!, /\.conf$/, "the candidate keeps the file's extension");
  assert.equal(content, "new");
  assert.deepEqual(namesIn(`${t.dir}/etc`), ["app.conf"], "no candidate left behind");
});

Deno.test("verify in argv form gets {path} in every argument", async () => {
  await using t = await setup();
  await replaceFile(
    managed({
      path: t.live,
      verify: ["sh", "-c", 'test "$1" = "$ATLAS_CANDIDATE" && grep -q new "$1"', "sh", "{path}"],
    }),
    enc.encode("new\n"),
    RUN,
  );
  assert.equal(await Deno.readTextFile(t.live), "new\n");
});

Deno.test("a failing verify leaves the file untouched, runs no reload and rejects", async () => {
  await using t = await setup();
  const before = Deno.statSync(t.live);
  // Fails after noting what the live file held while the candidate was checked.
  const verify = `cat ${t.live} > ${t.dir}/live-during-verify; echo "checking {path}"; ` +
    `echo "error: unexpected token at line 1" >&2; exit 2`;
  const err = await rejection(
    replaceFile(
      managed({
        path: t.live,
        verify,
        reload: `touch ${t.dir}/reloaded`,
        check: `touch ${t.dir}/checked`,
      }),
      enc.encode("broken\n"),
      RUN,
    ),
  );
  assert.equal(err.status, "rejected");
  assert.match(
    err.message,
    /^verify command failed \(exit 2: checking .*\.conf \| error: unexpected token at line 1\)/,
  );
  assert.equal(await Deno.readTextFile(`${t.dir}/live-during-verify`), "old\n");
  assert.equal(await Deno.readTextFile(t.live), "old\n");
  assert.equal(Deno.statSync(t.live).ino, before.ino, "the file was never renamed over");
  assert.deepEqual(namesIn(`${t.dir}/etc`), ["app.conf"], "the candidate is removed");
  assert.deepEqual(namesIn(t.dir), ["etc", "live-during-verify"], "no reload, no check");
});

Deno.test("a verify failure's message keeps only the last KiB of its output", async () => {
  await using t = await setup();
  const err = await rejection(
    replaceFile(
      managed({ path: t.live, verify: "seq 1 5000; echo 'the real error' >&2; exit 1" }),
      enc.encode("x"),
      RUN,
    ),
  );
  assert.match(err.message, /\(exit 1: ….*\| 5000 \| the real error\)/);
  assert.ok(err.message.length < 1_600, `message of ${err.message.length} chars`);
  assert.ok(!err.message.includes("| 1 | 2 |"), "the head of the output is dropped");
});

Deno.test("the reload splay is waited before the file is replaced and reloaded", async () => {
  await using t = await setup();
  const waits: { ms: number; live: string; reloaded: boolean }[] = [];
  await replaceFile(
    managed({ path: t.live, reload: `touch ${t.dir}/reloaded`, reloadSplayMs: 1_000 }),
    enc.encode("new\n"),
    {
      ...RUN,
      random: () => 0.25,
      sleep: async (ms) => {
        waits.push({
          ms,
          live: await Deno.readTextFile(t.live),
          reloaded: await Deno.stat(`${t.dir}/reloaded`).then(() => true, () => false),
        });
      },
    },
  );
  assert.deepEqual(waits, [{ ms: 250, live: "old\n", reloaded: false }]);
  assert.equal(await Deno.readTextFile(t.live), "new\n");
  await Deno.stat(`${t.dir}/reloaded`);
});

Deno.test("the reload splay is a whole number of ms in [0, reloadSplayMs)", () => {
  const m = { reload: "true", reloadSplayMs: 500 };
  for (let i = 0; i < 1_000; i++) {
    const ms = reloadSplay(m);
    assert.ok(Number.isInteger(ms) && ms >= 0 && ms < 500, `splay ${ms}`);
  }
  assert.equal(reloadSplay(m, () => 0), 0);
  assert.equal(reloadSplay(m, () => 0.999_999_999), 499);
  assert.equal(reloadSplay(m, () => 1), 499, "a source that returns 1 stays in bounds");
  assert.equal(reloadSplay({ reload: "true", reloadSplayMs: 0 }, () => 0.5), 0);
  assert.equal(reloadSplay({ reloadSplayMs: 500 }, () => 0.5), 0, "no reload, nothing to spread");
});

Deno.test("with a splay and no injected timer, the file is still replaced and reloaded", async () => {
  await using t = await setup();
  await replaceFile(
    managed({ path: t.live, reload: `touch ${t.dir}/reloaded`, reloadSplayMs: 20 }),
    enc.encode("new\n"),
    RUN,
  );
  assert.equal(await Deno.readTextFile(t.live), "new\n");
  await Deno.stat(`${t.dir}/reloaded`);
});

Deno.test("a failing verify does not wait the splay", async () => {
  await using t = await setup();
  let waited = false;
  await rejection(
    replaceFile(
      managed({ path: t.live, verify: "false", reload: "true", reloadSplayMs: 60_000 }),
      enc.encode("new\n"),
      { ...RUN, sleep: () => Promise.resolve(void (waited = true)) },
    ),
  );
  assert.equal(waited, false);
});

Deno.test("preflight runs verify on the candidate and never touches the file or reloads", async () => {
  await using t = await setup();
  const before = Deno.statSync(t.live);
  const m = managed({
    path: t.live,
    verify: `cat {path} > ${t.dir}/verified`,
    reload: `touch ${t.dir}/reloaded`,
    check: `touch ${t.dir}/checked`,
    reloadSplayMs: 60_000,
  });
  await preflightCandidate(m, enc.encode("candidate\n"), RUN);
  assert.equal(await Deno.readTextFile(`${t.dir}/verified`), "candidate\n");
  assert.equal(await Deno.readTextFile(t.live), "old\n");
  assert.equal(Deno.statSync(t.live).ino, before.ino);
  assert.equal(Deno.statSync(t.live).mtime?.getTime(), before.mtime?.getTime());
  assert.deepEqual(namesIn(`${t.dir}/etc`), ["app.conf"], "the candidate is removed");
  assert.deepEqual(namesIn(t.dir), ["etc", "verified"], "no reload, no check");
});

Deno.test("preflight rejects a candidate its verify refuses, with the output", async () => {
  await using t = await setup();
  const m = managed({
    path: t.live,
    verify: [
      "sh",
      "-c",
      'grep -q "^ok" "$1" || { echo "$1: not ok" >&2; exit 1; }',
      "sh",
      "{path}",
    ],
    reload: `touch ${t.dir}/reloaded`,
  });
  const err = await rejection(preflightCandidate(m, enc.encode("bad\n"), RUN));
  assert.equal(err.status, "rejected");
  assert.match(err.message, /exit 1: .*\/etc\/\.app\.conf\.atlas-tmp-[0-9a-f]{8}\.conf: not ok/);
  assert.equal(await Deno.readTextFile(t.live), "old\n");
  assert.deepEqual(namesIn(`${t.dir}/etc`), ["app.conf"]);
  assert.deepEqual(namesIn(t.dir), ["etc"]);
  await preflightCandidate(m, enc.encode("ok\n"), RUN); // the same config passes good bytes
});

Deno.test("preflight without verify only checks that the candidate can be written", async () => {
  await using t = await setup();
  await preflightCandidate(managed({ path: t.live }), enc.encode("x"), RUN);
  assert.deepEqual(namesIn(`${t.dir}/etc`), ["app.conf"]);
  assert.equal(await Deno.readTextFile(t.live), "old\n");
  // A directory that cannot hold the candidate is a plain error (retried), not a verdict.
  await Deno.writeTextFile(`${t.dir}/not-a-dir`, "");
  await assert.rejects(
    preflightCandidate(managed({ path: `${t.dir}/not-a-dir/app.conf` }), enc.encode("x"), RUN),
    (e) => !(e instanceof ApplyOutcome),
  );
});
