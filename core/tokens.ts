/**
 * API tokens: their roles, how a secret becomes the digest kept at rest, which secrets are
 * strong enough, and the records of the tokens file and the `atlas_tokens` bucket.
 *
 * Invariant: no token secret is stored anywhere by Atlas; only its SHA-256 digest is.
 * A plain SHA-256 suffices because a token is at least 128 bits of randomness (generated
 * ones are 256): finding a secret from its digest then costs as many guesses as guessing
 * the secret itself, so slow password hashes (bcrypt, argon2), which exist to stretch
 * low-entropy human passwords, would only add milliseconds to every request.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { sha256Hex } from "./crypto.ts";
import { Digest, Timestamp } from "./schemas.ts";

/** Roles a token can have: `admin` may do anything, `reader` may only read. */
export const Role = { admin: "admin", reader: "reader" } as const;
export type Role = typeof Role[keyof typeof Role];

/** Prefix of generated secrets (lets secret scanners recognise a leaked token). */
export const TOKEN_PREFIX = "atlas_";
/** Fewest characters of a secret supplied by hand. */
export const MIN_SECRET_CHARS = 32;
/** Fewest bits of estimated entropy of a secret supplied by hand. */
export const MIN_SECRET_BITS = 128;

/** A token's name: the audit actor and version author. */
export const TokenName = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.@-]+$/, {
  message: "must be 1-100 letters, digits, '_', '.', '@' or '-'",
});

/** A token id (`tok_` and 16 hex characters); file tokens have `file:<name>`. */
export const TokenId = z.string().regex(/^(tok_[0-9a-f]{16}|file:[A-Za-z0-9_.@-]{1,100})$/, {
  message: "must be tok_ and 16 hex characters, or file:<name>",
});

/** One entry of the `--tokens-file` JSON list: a name, a role, the secret's digest. */
export const TokenFileEntry = z.strictObject({
  name: TokenName,
  role: z.enum([Role.admin, Role.reader]),
  /** SHA-256 of the secret, 64 lowercase hex characters ({@linkcode tokenDigest}). */
  sha256: Digest,
});
export type TokenFileEntry = z.infer<typeof TokenFileEntry>;

/** A token created through the API, as stored in the `atlas_tokens` bucket under its id. */
export const TokenRecord = z.object({
  id: TokenId,
  name: TokenName,
  role: z.enum([Role.admin, Role.reader]),
  sha256: Digest,
  createdAt: Timestamp,
  /** Name of the token that created it. */
  createdBy: z.string(),
  /** Id of the token that created it. */
  createdById: z.string().optional(),
  /** When it stops working by itself (absent: never). */
  expiresAt: Timestamp.optional(),
  revokedAt: Timestamp.optional(),
  revokedBy: z.string().optional(),
});
export type TokenRecord = z.infer<typeof TokenRecord>;

/** What the API shows of a token: never its secret, never its digest. */
export const TokenInfo = z.object({
  id: TokenId,
  name: TokenName,
  role: z.enum([Role.admin, Role.reader]),
  /** `file`: from the tokens file (managed there); `api`: created through the API. */
  source: z.enum(["file", "api"]),
  createdAt: Timestamp.optional(),
  createdBy: z.string().optional(),
  createdById: z.string().optional(),
  expiresAt: Timestamp.optional(),
  revokedAt: Timestamp.optional(),
  revokedBy: z.string().optional(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

/**
 * Whether `token` works at `now`: not revoked, and not past its `expiresAt`.
 *
 * @example
 * ```ts
 * tokenIsLive(record, new Date()); // false once revoked or expired
 * ```
 */
export function tokenIsLive(
  token: { revokedAt?: string | undefined; expiresAt?: string | undefined },
  now: Date,
): boolean {
  return !token.revokedAt && !(token.expiresAt && Date.parse(token.expiresAt) <= now.getTime());
}

/**
 * The digest kept at rest for `secret`: SHA-256 as 64 lowercase hex characters.
 *
 * @example
 * ```ts
 * tokenDigest("atlas_…"); // "3b1f…"
 * ```
 */
export function tokenDigest(secret: string): string {
  return sha256Hex(secret);
}

/**
 * A new secret: {@linkcode TOKEN_PREFIX} and 32 random bytes in base64url (256 bits).
 *
 * @example
 * ```ts
 * generateTokenSecret(); // "atlas_Xq3…" (49 characters)
 * ```
 */
export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** A new token id: `tok_` and 8 random bytes in hex. */
export function generateTokenId(): string {
  return `tok_${randomBytes(8).toString("hex")}`;
}

/**
 * Estimated entropy of `secret` in bits: its length times the Shannon entropy of its own
 * character frequencies. It catches short, repetitive and small-alphabet secrets (not
 * dictionary words): 64 random hex characters score about 240, `aaaa…` scores 0.
 */
export function estimateSecretBits(secret: string): number {
  const counts = new Map<string, number>();
  for (const ch of secret) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...secret].length;
  let perChar = 0;
  for (const c of counts.values()) perChar -= (c / n) * Math.log2(c / n);
  return n * perChar;
}

/**
 * Throws a `RangeError` unless `secret` is strong enough to be stored as a plain SHA-256:
 * at least {@linkcode MIN_SECRET_CHARS} characters and {@linkcode MIN_SECRET_BITS} bits
 * by {@linkcode estimateSecretBits}.
 *
 * @example
 * ```ts
 * assertStrongSecret(generateTokenSecret()); // ok
 * assertStrongSecret("hunter2"); // throws
 * ```
 */
export function assertStrongSecret(secret: string): void {
  const chars = [...secret].length;
  const bits = Math.floor(estimateSecretBits(secret));
  if (chars < MIN_SECRET_CHARS || bits < MIN_SECRET_BITS || /\s/.test(secret)) {
    throw new RangeError(
      `Cannot use this secret as an API token: it has ${chars} characters and about ` +
        `${bits} bits of entropy, and a token needs at least ${MIN_SECRET_CHARS} characters, ` +
        `${MIN_SECRET_BITS} bits and no white space. Let Atlas generate one (\`atlas tokens ` +
        "create`, or `atlas tokens hash` without --secret-file), or use `openssl rand " +
        "-base64 32`",
    );
  }
}

/**
 * The tokens-file entry of `secret` (for dev mode, tests and `atlas tokens hash`). Does
 * not judge the secret's strength: call {@linkcode assertStrongSecret} where a person
 * chose it.
 *
 * @example
 * ```ts
 * const entry = tokenFileEntry("admin", "admin", generateTokenSecret());
 * // { name: "admin", role: "admin", sha256: "…" }
 * ```
 */
export function tokenFileEntry(name: string, role: Role, secret: string): TokenFileEntry {
  return TokenFileEntry.parse({ name, role, sha256: tokenDigest(secret) });
}

/**
 * Parses the text of a tokens file, or throws a `TypeError` that says what is wrong and
 * how to fix it. An entry holding a plain `token` is refused: the file must hold digests.
 *
 * @example
 * ```ts
 * const entries = parseTokensFile(await Deno.readTextFile("tokens.json"), "tokens.json");
 * ```
 */
export function parseTokensFile(text: string, path: string): TokenFileEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new TypeError(
      `Tokens file ${path} is not JSON (${(e as Error).message}): it must be a list of ` +
        `{"name", "role", "sha256"}; make entries with \`deno task atlas tokens hash\``,
    );
  }
  if (Array.isArray(parsed)) {
    const plain = parsed.find((e) => e && typeof e === "object" && "token" in e) as
      | { name?: unknown; role?: unknown }
      | undefined;
    if (plain) {
      const name = typeof plain.name === "string" ? plain.name : "<name>";
      const role = typeof plain.role === "string" ? plain.role : "admin";
      throw new TypeError(
        `Tokens file ${path} holds a plain secret (the "token" of ${JSON.stringify(name)}); ` +
          `Atlas keeps only SHA-256 digests. Convert each entry with \`deno task atlas tokens ` +
          `hash --name ${name} --role ${role} --secret-file <file holding the secret> --out ` +
          `${path}.new\`, then use ${path}.new and delete the plain file`,
      );
    }
  }
  const result = z.array(TokenFileEntry).safeParse(parsed);
  if (!result.success) {
    throw new TypeError(
      `Tokens file ${path} must be a list of {"name", "role": "admin" | "reader", ` +
        `"sha256": "<64 hex>"}: ${z.prettifyError(result.error)}`,
    );
  }
  const names = new Set<string>();
  for (const e of result.data) {
    if (names.has(e.name)) {
      throw new TypeError(
        `Tokens file ${path} names ${JSON.stringify(e.name)} twice: give every token its ` +
          "own name",
      );
    }
    names.add(e.name);
  }
  return result.data;
}
