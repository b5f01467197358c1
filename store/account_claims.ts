/**
 * Reading and replacing an account JWT on the NATS resolver, through the system account:
 * `$SYS.REQ.ACCOUNT.<account>.CLAIMS.LOOKUP` and `$SYS.REQ.CLAIMS.UPDATE`. A full resolver
 * stores the update and passes it to every other server, which applies it at once (a
 * revoked user's connections are closed).
 *
 * Invariant: an update is done only when a server answers that it stored it; anything
 * else is an error naming the server's answer.
 *
 * @module
 */
import { type ClientTls, connectAtlas } from "./connect.ts";

/** Raised when the resolver does not answer or refuses an account JWT. */
export class ResolverError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ResolverError";
  }
}

/** A connection as the system user, for account lookups and updates. */
export class AccountResolver implements AsyncDisposable {
  readonly #nats: Awaited<ReturnType<typeof connectAtlas>>;
  readonly #timeoutMs: number;

  private constructor(nats: Awaited<ReturnType<typeof connectAtlas>>, timeoutMs: number) {
    this.#nats = nats;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Connects to `servers` with the system user's `.creds` (path or text).
   *
   * @example
   * ```ts
   * await using resolver = await AccountResolver.connect(servers, "/etc/atlas/auth/sys.creds");
   * const jwt = await resolver.lookup(accountPublicKey);
   * ```
   */
  static async connect(
    servers: string | string[],
    systemCreds: string,
    options: { timeoutMs?: number; tls?: ClientTls | undefined } = {},
  ): Promise<AccountResolver> {
    const nats = await connectAtlas(servers, {
      name: "atlas-control system",
      credentials: systemCreds,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    return new AccountResolver(nats, options.timeoutMs ?? 5_000);
  }

  /** The account JWT the resolver holds for `account` (a public key). */
  async lookup(account: string): Promise<string> {
    let text: string;
    try {
      const m = await this.#nats.nc.request(`$SYS.REQ.ACCOUNT.${account}.CLAIMS.LOOKUP`, "", {
        timeout: this.#timeoutMs,
      });
      text = m.string();
    } catch (cause) {
      throw new ResolverError(
        `No resolver answered a lookup of account ${account}: are the servers configured ` +
          "with the auth.conf of `atlas auth init` (resolver: full)?",
        { cause },
      );
    }
    if (!/^ey[\w-]+\.[\w-]+\.[\w-]+$/.test(text.trim())) {
      throw new ResolverError(`The resolver has no JWT for account ${account}: ${text}`);
    }
    return text.trim();
  }

  /** Stores `jwt` (an account JWT) on the resolver; every server applies it. */
  async update(jwt: string): Promise<void> {
    let reply: { data?: { code?: number; message?: string }; error?: { description?: string } };
    try {
      const m = await this.#nats.nc.request("$SYS.REQ.CLAIMS.UPDATE", jwt, {
        timeout: this.#timeoutMs,
      });
      reply = m.json();
    } catch (cause) {
      throw new ResolverError("No resolver answered the account update", { cause });
    }
    if (reply.error || (reply.data?.code ?? 0) !== 200) {
      throw new ResolverError(
        `The resolver refused the account update: ${
          reply.error?.description ?? reply.data?.message ?? JSON.stringify(reply)
        }`,
      );
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#nats.close();
  }
}
