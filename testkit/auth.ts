/**
 * NATS auth for the servers tests, benchmarks and dev mode start: a fresh operator and
 * accounts per topology (`TestAuth`), credentials per role on demand, and a registry from
 * a server's client URL to the auth it runs with, so a helper given only URLs connects
 * with the right credentials (`credsFor`, `connectAs`).
 *
 * Invariant: every server the launcher starts runs with auth unless the caller passes
 * `auth: false`; an anonymous connection to it is refused.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type AtlasRole,
  atlasRole,
  AuthFiles,
  type AuthSetup,
  controlAuthKeys,
  createAuthSetup,
  issueCreds,
  issuerOf,
  parseCredsText,
  roleLabel,
  serverAuthConfig,
} from "@atlas/core";
import { type AtlasNats, connectAtlas, type ConnectOptions } from "@atlas/store";
import { fromSeed } from "@nats-io/nkeys";

/** A role, or the name of one that needs no region (`"control"`, `"reader"`). */
export type RoleSpec = AtlasRole | "control" | "reader";

function toRole(spec: RoleSpec): AtlasRole {
  return typeof spec === "string" ? atlasRole(spec) : spec;
}

/** One operator with its SYS and ATLAS accounts, issuing credentials for tests. */
export class TestAuth {
  readonly setup: AuthSetup;
  readonly #creds = new Map<string, Promise<string>>();

  private constructor(setup: AuthSetup) {
    this.setup = setup;
  }

  /** A new operator and accounts. */
  static async create(): Promise<TestAuth> {
    return new TestAuth(await createAuthSetup());
  }

  /** The auth of an existing setup (dev mode keeps its operator across restarts). */
  static from(setup: AuthSetup): TestAuth {
    return new TestAuth(setup);
  }

  /** The server config text trusting this operator, with its own resolver directory. */
  serverConfig(resolverDir: string): string {
    return serverAuthConfig(this.setup, { resolverDir });
  }

  /** The system user's `.creds` (resolver updates). */
  get systemCreds(): string {
    return this.setup.system.userCreds;
  }

  /**
   * `.creds` text for `role`, issued once per role and then reused.
   *
   * @example
   * ```ts
   * const creds = await auth.creds({ kind: "coordinator", region: "us-east" });
   * ```
   */
  creds(role: RoleSpec): Promise<string> {
    const r = toRole(role);
    const label = roleLabel(r);
    let found = this.#creds.get(label);
    if (!found) {
      found = issueCreds(issuerOf(this.setup), r).then((i) => i.creds);
      this.#creds.set(label, found);
    }
    return found;
  }

  /** New credentials for `role` (a new user key each time) and the user's public key. */
  async issue(role: RoleSpec): Promise<{ creds: string; publicKey: string }> {
    return await issueCreds(issuerOf(this.setup), toRole(role));
  }

  /**
   * Writes what a control plane enrols and revokes with into `dir`, as `atlas auth init`
   * does: `control-plane.json`, `sys.creds` and `control.creds` (mode 0600).
   */
  async writeAuthDir(dir: string): Promise<void> {
    const secret = { mode: 0o600 };
    await Deno.writeTextFile(
      `${dir}/${AuthFiles.controlKeys}`,
      JSON.stringify(controlAuthKeys(this.setup)),
      secret,
    );
    await Deno.writeTextFile(`${dir}/${AuthFiles.systemCreds}`, this.systemCreds, secret);
    await Deno.writeTextFile(
      `${dir}/${AuthFiles.controlCreds}`,
      await this.creds("control"),
      secret,
    );
  }

  /** Connects to `urls` as `role`. */
  async connect(
    urls: string | string[],
    role: RoleSpec,
    options: ConnectOptions = {},
  ): Promise<AtlasNats> {
    return await connectAtlas(urls, { ...options, credentials: await this.creds(role) });
  }
}

const _byUrl = new Map<string, TestAuth>();

/** Records that the server at `url` runs with `auth` (the launcher calls this). */
export function _registerAuth(url: string, auth: TestAuth | undefined): void {
  if (auth) _byUrl.set(url, auth);
  else _byUrl.delete(url);
}

/**
 * Makes {@linkcode authOf} find `auth` for `urls`: for a process the test starts over its
 * servers, given the test's `auth.setup` (`TestAuth.from`).
 */
export function useAuth(urls: readonly string[], auth: TestAuth): void {
  for (const url of urls) _registerAuth(url, auth);
}

/** The auth of the servers at `urls` (the first one known), or undefined when none has. */
export function authOf(urls: string | string[]): TestAuth | undefined {
  for (const url of Array.isArray(urls) ? urls : urls.split(",")) {
    const found = _byUrl.get(url.trim());
    if (found) return found;
  }
  return undefined;
}

/**
 * `.creds` text for `role` on the servers at `urls`, or undefined for servers started
 * without auth.
 */
export async function credsFor(
  urls: string | string[],
  role: RoleSpec,
): Promise<string | undefined> {
  return await authOf(urls)?.creds(role);
}

/**
 * Connects to `urls` as `role` with the credentials of the servers there (anonymously to
 * servers started with `auth: false`).
 *
 * @example
 * ```ts
 * await using nats = await connectAs(server.url, "control");
 * ```
 */
export async function connectAs(
  urls: string | string[],
  role: RoleSpec,
  options: ConnectOptions = {},
): Promise<AtlasNats> {
  const creds = await credsFor(urls, role);
  return await connectAtlas(urls, { ...options, ...(creds ? { credentials: creds } : {}) });
}

/**
 * What the server at `url` answers a client that connects with `creds` (or none), at the
 * protocol level: `-ERR 'Authorization Violation'` or `PONG`. (The node client's socket
 * reset after an auth error can escape it as an uncaught error; this cannot.)
 *
 * @example
 * ```ts
 * assert.match(await handshake(server.url), /Authorization Violation/);
 * ```
 */
export async function handshake(url: string, creds?: string): Promise<string> {
  const { hostname, port } = new URL(url.replace(/^nats:/, "http:"));
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const buf = new Uint8Array(64 * 1024);
    const dec = new TextDecoder();
    let text = "";
    const read = async (until: RegExp) => {
      for (let i = 0; i < 50 && !until.test(text); i++) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += dec.decode(buf.subarray(0, n));
      }
    };
    await read(/INFO .*\r\n/);
    const info = JSON.parse(/INFO (.*)\r\n/.exec(text)?.[1] ?? "{}") as { nonce?: string };
    const connect: Record<string, unknown> = { verbose: false, protocol: 1 };
    if (creds) {
      const { jwt, seed } = parseCredsText(creds);
      const kp = fromSeed(new TextEncoder().encode(seed));
      const sig = kp.sign(new TextEncoder().encode(info.nonce ?? ""));
      connect.jwt = jwt;
      connect.sig = btoa(String.fromCharCode(...sig)).replace(/\+/g, "-").replace(/\//g, "_")
        .replace(/=+$/, "");
    }
    await conn.write(new TextEncoder().encode(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`));
    text = "";
    await read(/-ERR|PONG/);
    return text;
  } finally {
    conn.close();
  }
}

/**
 * Asserts that `op` on `nats` is refused by the server: it fails, and the server says it is
 * not allowed (a permissions violation on the connection, or in the error).
 *
 * @example
 * ```ts
 * await assertRefused(agent, "agent writes a lease", () => agent.kvWrite("leases", "r", "{}"));
 * ```
 */
export async function assertRefused(
  nats: AtlasNats,
  what: string,
  op: () => Promise<unknown>,
): Promise<void> {
  const violations: string[] = [];
  const watch = (async () => {
    for await (const s of nats.nc.status()) {
      const text = `${s.type} ${String((s as { error?: unknown }).error ?? "")}`;
      if (/permission/i.test(text)) violations.push(text);
    }
  })();
  const outcome = await op().then(() => "done", (e: Error) => `failed: ${e.message}`);
  assert.match(outcome, /^failed/, `${what} was allowed`);
  // The failure must be the server's refusal, not something else going wrong.
  for (let i = 0; i < 100 && violations.length === 0 && !/permission/i.test(outcome); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(
    violations.length > 0 || /permission/i.test(outcome),
    `${what} failed without a permissions violation: ${outcome}`,
  );
  void watch;
}
