/**
 * A real nginx whose whole `nginx.conf` an agent manages, with `verify: nginx -t -c {path}`:
 * the check sees exactly the candidate, in the live file's directory (so its relative
 * `include` resolves as it will once installed). nginx runs in the foreground as a child
 * of the test, with every path it writes (pid, logs, temp dirs) in a temp dir, listening
 * on 127.0.0.1 on a free port. Skipped, loudly, where /usr/sbin/nginx is missing.
 */
import assert from "node:assert/strict";
import { acksOf, natsTest, waitFor } from "@atlas/nats/testing";
import { activateVersion, storeVersion } from "@atlas/nats/fixtures";
import { ApplyOutcome, preflightCandidate } from "./apply.ts";
import { ManagedConfig } from "./config.ts";
import { fileOf, makeAgentConfig, signer, startTestAgent } from "./test_helpers.ts";

const NGINX = "/usr/sbin/nginx";

function _missing(): string | undefined {
  try {
    Deno.statSync(NGINX);
    return undefined;
  } catch (e) {
    return `${NGINX} is missing (${(e as Error).name}): apt-get install nginx-light`;
  }
}

const MISSING = _missing();
if (MISSING) console.warn(`agent/nginx_test.ts: SKIPPING the nginx tests: ${MISSING}`);

/** The nginx arguments that keep every path it opens inside `dir`. */
function _paths(dir: string): string[] {
  return ["-e", `${dir}/error.log`, "-p", `${dir}/`];
}

/** The group of `nobody`, for the workers' `user` when the test runs as root. */
async function _nobodyGroup(): Promise<string> {
  const out = await new Deno.Command("id", { args: ["-gn", "nobody"], stderr: "null" }).output();
  return out.success ? new TextDecoder().decode(out.stdout).trim() : "nogroup";
}

/** A test nginx in a temp dir; `conf(body)` is a main config serving `body`. */
class TestNginx implements AsyncDisposable {
  #child: Deno.ChildProcess | undefined;
  #lastLog: string | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly user: string,
  ) {}

  static async create(): Promise<TestNginx> {
    const dir = await Deno.makeTempDir({ prefix: "atlas-nginx-test-" });
    await Deno.mkdir(`${dir}/tmp`);
    // Not managed by the agent: included by a relative path, as a site's snippets are.
    await Deno.writeTextFile(
      `${dir}/served.conf`,
      'default_type text/plain;\nadd_header X-Served-By "atlas nginx test";\n',
    );
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const user = Deno.uid() === 0 ? `user nobody ${await _nobodyGroup()};\n` : "";
    return new TestNginx(dir, port, user);
  }

  get conf(): string {
    return `${this.dir}/nginx.conf`;
  }

  /** A complete main config whose one location answers `body`. */
  config(body: string): string {
    const d = this.dir;
    return `# served by the Atlas nginx test
daemon off;
master_process on;
worker_processes 1;
${this.user}pid ${d}/nginx.pid;
error_log ${d}/error.log notice;
events { worker_connections 64; }
http {
  access_log ${d}/access.log;
  client_body_temp_path ${d}/tmp/body;
  proxy_temp_path ${d}/tmp/proxy;
  fastcgi_temp_path ${d}/tmp/fastcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi;
  scgi_temp_path ${d}/tmp/scgi;
  include served.conf;
  server {
    listen 127.0.0.1:${this.port};
    location / { return 200 "${body}\\n"; }
  }
}
`;
  }

  /** What agent.json would say for this nginx: verify the candidate, reload the master. */
  managed(): Pick<ManagedConfig, "path" | "verify" | "reload"> {
    const paths = _paths(this.dir).join(" ");
    return {
      path: this.conf,
      verify: [NGINX, "-t", ..._paths(this.dir), "-c", "{path}"],
      // Each reload is recorded, so a test can tell which versions reached nginx.
      reload: `echo "$ATLAS_VERSION" >> ${this.dir}/reloads.log && ` +
        `${NGINX} ${paths} -c ${this.conf} -s reload`,
    };
  }

  /** Writes `config(body)` as the live config and starts nginx on it. */
  async start(body: string): Promise<void> {
    await Deno.writeTextFile(this.conf, this.config(body));
    this.#child = new Deno.Command(NGINX, {
      args: [..._paths(this.dir), "-c", this.conf],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitFor("nginx serving", async () => (await this.get()).body === `${body}\n`, {
      timeoutMs: 10_000,
    });
  }

  /** GETs `/` on a fresh connection (an old worker's keep-alive would serve the old config). */
  async get(): Promise<{ body: string; servedBy: string | null }> {
    const res = await fetch(`http://127.0.0.1:${this.port}/`, {
      headers: { connection: "close" },
    });
    return { body: await res.text(), servedBy: res.headers.get("x-served-by") };
  }

  async reloads(): Promise<string[]> {
    const text = await Deno.readTextFile(`${this.dir}/reloads.log`).catch(() => "");
    return text.split("\n").filter((l) => l !== "");
  }

  /** The error log (kept when the directory is removed, for the failure report). */
  async errorLog(): Promise<string> {
    return this.#lastLog ?? await Deno.readTextFile(`${this.dir}/error.log`).catch(() => "");
  }

  async logTail(n = 40): Promise<string> {
    return (await this.errorLog()).split("\n").slice(-n).join("\n");
  }

  /**
   * Resolves once `n` worker processes have exited: after the n-th reload, no old worker
   * is left to answer with the config before it.
   */
  async workersExited(n: number): Promise<void> {
    await waitFor(`${n} old nginx workers gone`, async () => {
      const exits = (await this.errorLog()).match(/worker process \d+ exited with code 0/g);
      return (exits?.length ?? 0) >= n;
    });
  }

  /** Stops nginx (graceful, then fast, then killed) and removes its directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    const child = this.#child;
    if (child) {
      for (const signal of ["SIGQUIT", "SIGTERM", "SIGKILL"] as const) {
        try {
          child.kill(signal);
        } catch {
          break; // already gone
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stopped = await Promise.race([
          child.status.then(() => true),
          new Promise<false>((r) => (timer = setTimeout(() => r(false), 5_000))),
        ]);
        clearTimeout(timer);
        if (stopped) break;
      }
      await child.status;
    }
    this.#lastLog = await this.errorLog();
    await Deno.remove(this.dir, { recursive: true });
  }
}

const BROKEN = (nginx: TestNginx) => nginx.config("v3").replace("return 200", "retrun 200");

natsTest(
  "agent serves each version through nginx and refuses a broken one with nginx -t",
  async (ctx) => {
    await using nginx = await TestNginx.create();
    ctx.addLog({ name: "nginx error.log", logTail: (n) => nginx.logTail(n) });
    await nginx.start("v0");
    const cfg = await makeAgentConfig(ctx.urls, { configs: { web: nginx.managed() } });
    assert.equal(fileOf(cfg), nginx.conf);
    await using agent = await startTestAgent(ctx, cfg);

    for (const n of [1, 2]) {
      const content = nginx.config(`v${n}`);
      const v = await storeVersion(ctx.nats, signer, "web", n, content, "text/plain");
      await activateVersion(ctx.nats, signer, "us-east", v, { content });
      await waitFor(`v${n} served`, async () => (await nginx.get()).body === `v${n}\n`);
      await nginx.workersExited(n);
      assert.equal(await Deno.readTextFile(nginx.conf), content);
    }
    assert.deepEqual(await nginx.get(), { body: "v2\n", servedBy: "atlas nginx test" });
    assert.deepEqual(await nginx.reloads(), ["1", "2"]);
    const v2 = await Deno.readFile(nginx.conf);
    const v2Inode = Deno.statSync(nginx.conf).ino;

    const broken = BROKEN(nginx);
    const v3 = await storeVersion(ctx.nats, signer, "web", 3, broken, "text/plain");
    await activateVersion(ctx.nats, signer, "us-east", v3, { content: broken });
    const acks = await waitFor("v3 acked", async () => {
      const all = await acksOf(ctx.nats, "us-east", "web", "a1");
      return all.length === 3 && all;
    });
    assert.deepEqual(acks.map((a) => [a.version, a.status]), [
      [1, "applied"],
      [2, "applied"],
      [3, "rejected"],
    ]);
    const reason = acks[2]!.reason ?? "";
    assert.match(reason, /^verify command failed \(exit 1: /);
    assert.match(reason, /\[emerg\] unknown directive "retrun"/, "nginx's own error text");
    assert.match(reason, /test failed/);
    assert.deepEqual(await Deno.readFile(nginx.conf), v2, "the live file never changed");
    assert.equal(Deno.statSync(nginx.conf).ino, v2Inode, "nor was it renamed over");
    assert.deepEqual(await nginx.reloads(), ["1", "2"], "reload never ran for v3");
    assert.deepEqual(await nginx.get(), { body: "v2\n", servedBy: "atlas nginx test" });
    assert.equal(agent.stateOf("web").applied?.version, 2);
    assert.equal(agent.stats.rejects, 1);
    const left = [...Deno.readDirSync(nginx.dir)].filter((e) => e.name.includes("atlas-tmp"));
    assert.deepEqual(left, [], "the refused candidate was removed");
  },
  { ignore: MISSING !== undefined },
);

Deno.test({
  name: "preflight with nginx -t passes a good config and rejects a broken one, live untouched",
  ignore: MISSING !== undefined,
  fn: async () => {
    // No nginx runs here: nginx -t needs none, and a preflight must never reload.
    await using nginx = await TestNginx.create();
    const live = nginx.config("live");
    await Deno.writeTextFile(nginx.conf, live);
    const managed = ManagedConfig.parse(nginx.managed());
    const run = { env: { ATLAS_CONFIG: "web" }, timeoutMs: 15_000 };
    const enc = new TextEncoder();

    await preflightCandidate(managed, enc.encode(nginx.config("next")), run);
    let refused: unknown;
    try {
      await preflightCandidate(managed, enc.encode(BROKEN(nginx)), run);
    } catch (e) {
      refused = e;
    }
    assert.ok(refused instanceof ApplyOutcome, `not rejected: ${refused}`);
    assert.equal(refused.status, "rejected");
    assert.match(refused.message, /\[emerg\] unknown directive "retrun" in .*\.atlas-tmp-/);
    // A candidate staged elsewhere would miss the relative include: nginx -t would say so.
    await Deno.remove(`${nginx.dir}/served.conf`);
    await assert.rejects(
      preflightCandidate(managed, enc.encode(nginx.config("next")), run),
      (e) => e instanceof ApplyOutcome && /served\.conf/.test(e.message),
    );

    assert.equal(await Deno.readTextFile(nginx.conf), live);
    assert.deepEqual(await nginx.reloads(), [], "a preflight never reloads");
    const left = [...Deno.readDirSync(nginx.dir)].filter((e) => e.name.includes("atlas-tmp"));
    assert.deepEqual(left, []);
  },
});
