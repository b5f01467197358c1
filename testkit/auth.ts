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
import {
  type AtlasRole,
  atlasRole,
  type AuthSetup,
  createAuthSetup,
  issueCreds,
  issuerOf,
  roleLabel,
  serverAuthConfig,
} from "@atlas/core";
import { type AtlasNats, connectAtlas, type ConnectOptions } from "@atlas/store";

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
