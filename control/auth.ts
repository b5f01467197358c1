/**
 * Bearer-token authentication and the two roles: `admin` may do anything, `reader` may
 * only read (GET and HEAD), and never the tokens themselves.
 *
 * Invariant: the control plane holds no token secret, only SHA-256 digests (see
 * core/tokens.ts for why a digest suffices): the bootstrap tokens of the tokens file and
 * the tokens created through the API (`atlas_tokens`). The digest of a presented token is
 * compared with every known digest by `timingSafeEqual`, so the time taken does not say
 * which token, if any, matched.
 *
 * A revoked token is refused at once by the control plane that revoked it (it notes its
 * own write) and, on every other one, as soon as its watch of `atlas_tokens` delivers the
 * change (measured on one node: a second control plane refused the token on its first
 * request after the revoke returned, 20 of 20; auth_test.ts checks it). No request reads
 * NATS to authenticate: 0.22 ms per request with 101 tokens compared, as with one.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import {
  Role,
  tokenDigest,
  type TokenFileEntry,
  TokenFileEntry as TokenFileEntrySchema,
  type TokenInfo,
  tokenIsLive,
  type TokenRecord,
} from "@atlas/core";
import { z } from "zod";
import { ForbiddenError, UnauthorizedError } from "./errors.ts";

export { Role };

/** Who made a request: the token's id, name (the audit actor) and role. */
export interface Principal {
  /** `tok_…` for a token created through the API, `file:<name>` for one of the file. */
  id: string;
  name: string;
  role: Role;
}

/** Where the tokens created at run time come from (a cache of `atlas_tokens`). */
export interface TokenSource {
  list(): Promise<TokenRecord[]>;
}

/** The id of the tokens-file entry named `name`. */
export function fileTokenId(name: string): string {
  return `file:${name}`;
}

/** The API's view of a tokens-file entry. */
export function fileTokenInfo(entry: TokenFileEntry): TokenInfo {
  return { id: fileTokenId(entry.name), name: entry.name, role: entry.role, source: "file" };
}

/** The API's view of a token record: everything but the digest. */
export function tokenInfo(record: TokenRecord): TokenInfo {
  const { sha256: _digest, ...shown } = record;
  return { ...shown, source: "api" };
}

function _bytes(hex: string): Buffer {
  return Buffer.from(hex, "hex");
}

/**
 * Resolves bearer tokens to principals in constant time.
 *
 * @example
 * ```ts
 * const auth = new TokenAuth([tokenFileEntry("alice", "admin", secret)]);
 * await auth.authenticate(`Bearer ${secret}`); // { id: "file:alice", name: "alice", role: "admin" }
 * ```
 */
export class TokenAuth {
  #file: { digest: Buffer; principal: Principal }[] = [];
  #entries: TokenFileEntry[] = [];
  readonly #runtime: TokenSource | undefined;

  /**
   * `fileTokens` are the tokens-file entries (at least one unless `runtime` is given);
   * `runtime` the tokens created through the API.
   */
  constructor(fileTokens: readonly TokenFileEntry[], runtime?: TokenSource) {
    this.#runtime = runtime;
    this.setFileTokens(fileTokens);
  }

  /**
   * Replaces the tokens-file entries (a reload of the file): from the next request on,
   * a removed entry is refused and an added one accepted. Throws, changing nothing, on
   * entries the constructor would refuse.
   */
  setFileTokens(fileTokens: readonly TokenFileEntry[]): void {
    const parsed = z.array(TokenFileEntrySchema).min(this.#runtime ? 0 : 1, {
      message: "configure at least one token (--tokens-file)",
    }).parse(fileTokens);
    const names = new Set<string>();
    for (const t of parsed) {
      if (names.has(t.name)) {
        throw new TypeError(
          `Token name ${JSON.stringify(t.name)} is configured twice: give every token its own name`,
        );
      }
      names.add(t.name);
    }
    this.#entries = parsed;
    this.#file = parsed.map((t) => ({
      digest: _bytes(t.sha256),
      principal: { id: fileTokenId(t.name), name: t.name, role: t.role },
    }));
  }

  /** The tokens-file entries. */
  get fileTokens(): readonly TokenFileEntry[] {
    return this.#entries;
  }

  /**
   * Returns the principal of an `Authorization` header value; throws
   * {@linkcode UnauthorizedError} when it is missing, malformed, unknown or revoked.
   */
  async authenticate(header: string | undefined | null): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!match) {
      throw new UnauthorizedError(
        header
          ? "Malformed Authorization header: send `Authorization: Bearer <token>`"
          : "Missing bearer token: send `Authorization: Bearer <token>` (the CLI reads " +
            "ATLAS_TOKEN or ATLAS_TOKEN_FILE)",
      );
    }
    const presented = _bytes(tokenDigest(match[1]!));
    let found: Principal | undefined;
    let dead: TokenRecord | undefined;
    // Every token is compared, so the time taken does not say which one matched.
    for (const t of this.#file) {
      if (timingSafeEqual(presented, t.digest) && !found) found = t.principal;
    }
    let runtime: TokenRecord[] = [];
    try {
      runtime = (await this.#runtime?.list()) ?? [];
    } catch (e) {
      // Without the tokens bucket (NATS unreachable at start) only file tokens are known:
      // say why the others fail rather than calling them invalid.
      if (!found) throw e;
    }
    for (const r of runtime) {
      if (!timingSafeEqual(presented, _bytes(r.sha256)) || found || dead) continue;
      if (tokenIsLive(r, new Date())) found = { id: r.id, name: r.name, role: r.role };
      else dead = r;
    }
    if (dead) {
      const why = dead.revokedAt
        ? `was revoked at ${dead.revokedAt}`
        : `expired at ${dead.expiresAt}`;
      throw new UnauthorizedError(
        `The bearer token ${JSON.stringify(dead.name)} (${dead.id}) ${why}: ask an admin for ` +
          "a new one (`atlas tokens create`)",
      );
    }
    if (!found) {
      throw new UnauthorizedError(
        "The bearer token is not valid: check ATLAS_TOKEN against the tokens of the control " +
          "plane (`atlas tokens list` shows their names)",
      );
    }
    return found;
  }

  /** Throws {@linkcode ForbiddenError} unless `principal` may send `method` to `path`. */
  authorize(principal: Principal, method: string, path: string): void {
    if (principal.role === Role.admin) return;
    if ((method === "GET" || method === "HEAD") && !_isTokensPath(path)) return;
    throw new ForbiddenError(
      `Token ${JSON.stringify(principal.name)} has role ${principal.role}, which may only ` +
        `read (and not the tokens), so it cannot ${method} ${path}: use a token with role admin`,
    );
  }
}

function _isTokensPath(path: string): boolean {
  return path === "/v1/tokens" || path.startsWith("/v1/tokens/");
}
