/**
 * A real nginx for tests and dev mode: it runs in the foreground as a child process, with
 * every path it writes (pid, logs, temp dirs) under its own directory, listening on
 * 127.0.0.1 on a free port. Its main config is host-independent (paths relative to the
 * prefix, the listen address in a host-local `listen.conf`), so one published version
 * serves every host, as a real fleet's does.
 *
 * @module
 */
import { waitFor } from "@atlas/testkit";
import type { ManagedConfig } from "./config.ts";

/** Debian's nginx. */
export const NGINX = "/usr/sbin/nginx";

/** Why nginx cannot run here, or undefined when it can. */
export function nginxMissing(): string | undefined {
  try {
    Deno.statSync(NGINX);
    return undefined;
  } catch (e) {
    return `${NGINX} is missing (${(e as Error).name}): apt-get install nginx-light`;
  }
}

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
export class TestNginx implements AsyncDisposable {
  #child: Deno.ChildProcess | undefined;
  #lastLog: string | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly user: string,
    readonly ownsDir: boolean,
  ) {}

  /** A new nginx directory (under `dir` when given, else a temp dir); not started. */
  static async create(at?: string): Promise<TestNginx> {
    const dir = at ?? await Deno.makeTempDir({ prefix: "atlas-nginx-test-" });
    await Deno.mkdir(`${dir}/tmp`, { recursive: true });
    // Not managed by the agent: included by a relative path, as a site's snippets are.
    await Deno.writeTextFile(
      `${dir}/served.conf`,
      'default_type text/plain;\nadd_header X-Served-By "atlas nginx test";\n',
    );
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    // Host-local, like a host's own address: the managed config includes it.
    await Deno.writeTextFile(`${dir}/listen.conf`, `listen 127.0.0.1:${port};\n`);
    const user = Deno.uid() === 0 ? `user nobody ${await _nobodyGroup()};\n` : "";
    return new TestNginx(dir, port, user, at === undefined);
  }

  get conf(): string {
    return `${this.dir}/nginx.conf`;
  }

  /** A complete main config whose one location answers `body`: the same on every host. */
  config(body: string): string {
    return nginxConfig(body, this.user);
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

  /**
   * Starts nginx on its live config, writing `config(body)` first unless a config is there
   * (one an agent keeps, in dev mode's data dir).
   */
  async start(body: string): Promise<void> {
    let expect: string | undefined = `${body}\n`;
    try {
      await Deno.writeTextFile(this.conf, this.config(body), { createNew: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      expect = undefined; // whatever the kept config serves
    }
    this.#child = new Deno.Command(NGINX, {
      args: [..._paths(this.dir), "-c", this.conf],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitFor("nginx serving", async () => {
      const got = await this.get().catch(() => undefined);
      return got !== undefined && (expect === undefined || got.body === expect);
    }, { timeoutMs: 10_000 });
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

  /** Stops nginx (graceful, then fast, then killed) and removes its temp directory. */
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
    if (this.ownsDir) await Deno.remove(this.dir, { recursive: true });
  }
}

/**
 * A main nginx config answering `body` on `/`, with every path relative to the prefix and
 * the listen address in the host's own `listen.conf`, so it serves on any host.
 */
export function nginxConfig(body: string, user = ""): string {
  return `# served by Atlas
daemon off;
master_process on;
worker_processes 1;
${user}pid nginx.pid;
error_log error.log notice;
events { worker_connections 64; }
http {
  access_log access.log;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  include served.conf;
  server {
    include listen.conf;
    location / { return 200 "${body}\\n"; }
  }
}
`;
}
