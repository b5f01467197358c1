/**
 * Bearer-token authentication and the two roles: `admin` may do anything, `reader` may
 * only read (GET and HEAD).
 *
 * Tokens are compared in constant time: the SHA-256 digest of the presented token is
 * compared with the digest of every configured token by `timingSafeEqual`, so neither
 * the position of the first differing byte nor the lengths leak through timing.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { ForbiddenError, UnauthorizedError } from "./errors.ts";

/** Roles a token can have. */
export const Role = { admin: "admin", reader: "reader" } as const;
export type Role = typeof Role[keyof typeof Role];

/** One API token: who it is (audit actor), the secret, and its role. */
export interface TokenSpec {
  /** Who the token is: the audit actor and version author. */
  name: string;
  /** The secret sent as `Authorization: Bearer <token>`. */
  token: string;
  role: Role;
}

/** Schema of {@linkcode TokenSpec} (the `--tokens-file` entries). */
export const TokenSpec: z.ZodType<TokenSpec> = z.object({
  name: z.string().min(1).max(100).regex(/^[A-Za-z0-9_.@-]+$/, {
    message: "must be letters, digits, '_', '.', '@' or '-'",
  }),
  token: z.string().min(1),
  role: z.enum([Role.admin, Role.reader]),
});

/** Who made a request. */
export interface Principal {
  name: string;
  role: Role;
}

function _digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * Resolves bearer tokens to principals in constant time.
 *
 * @example
 * ```ts
 * const auth = new TokenAuth([{ name: "alice", token: "s3cret", role: "admin" }]);
 * auth.authenticate("Bearer s3cret"); // { name: "alice", role: "admin" }
 * ```
 */
export class TokenAuth {
  readonly #tokens: { digest: Buffer; principal: Principal }[];

  constructor(tokens: readonly TokenSpec[]) {
    const parsed = z.array(TokenSpec).min(1, {
      message: "configure at least one token (e.g. --token-file)",
    }).parse(tokens);
    const names = new Set<string>();
    for (const t of parsed) {
      if (names.has(t.name)) {
        throw new TypeError(
          `Token name ${JSON.stringify(t.name)} is configured twice: give every token its own name`,
        );
      }
      names.add(t.name);
    }
    this.#tokens = parsed.map((t) => ({
      digest: _digest(t.token),
      principal: { name: t.name, role: t.role },
    }));
  }

  /**
   * Returns the principal of an `Authorization` header value; throws
   * {@linkcode UnauthorizedError} when it is missing, malformed or unknown.
   */
  authenticate(header: string | undefined | null): Principal {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!match) {
      throw new UnauthorizedError(
        header
          ? "Malformed Authorization header: send `Authorization: Bearer <token>`"
          : "Missing bearer token: send `Authorization: Bearer <token>` (the CLI reads " +
            "ATLAS_TOKEN or ATLAS_TOKEN_FILE)",
      );
    }
    const presented = _digest(match[1]!);
    let found: Principal | undefined;
    // Every token is compared, so the time taken does not say which one matched.
    for (const t of this.#tokens) {
      if (timingSafeEqual(presented, t.digest) && !found) found = t.principal;
    }
    if (!found) {
      throw new UnauthorizedError(
        "The bearer token is not valid: check ATLAS_TOKEN against the tokens the control " +
          "plane was started with",
      );
    }
    return found;
  }

  /** Throws {@linkcode ForbiddenError} unless `principal` may send `method`. */
  authorize(principal: Principal, method: string, path: string): void {
    if (principal.role === Role.admin) return;
    if (method === "GET" || method === "HEAD") return;
    throw new ForbiddenError(
      `Token ${JSON.stringify(principal.name)} has role ${principal.role}, which may only ` +
        `read, so it cannot ${method} ${path}: use a token with role admin`,
    );
  }
}
