/**
 * The `atlas_tokens` bucket: API tokens created at run time, one record per token id.
 *
 * Invariant: a record holds a token's SHA-256 digest, never its secret; a record is
 * created once (`kv.create`, so an id is never reused) and only ever changes by gaining
 * `revokedAt`, which is never removed.
 *
 * @module
 */
import { Buckets, TokenRecord } from "@atlas/core";
import type { AtlasNats } from "./connect.ts";
import { casUpdate, type Stored } from "./kv_cas.ts";
import { retryTransient } from "./retry.ts";

/**
 * Stores a new token record under its id (create-only).
 *
 * @example
 * ```ts
 * await storeToken(nats, { id: generateTokenId(), name: "ci", role: "reader", sha256, createdAt, createdBy: "alice" });
 * ```
 */
export async function storeToken(
  nats: AtlasNats,
  record: TokenRecord,
): Promise<Stored<TokenRecord>> {
  const value = TokenRecord.parse(record);
  const kv = await nats.kv(Buckets.tokens);
  const revision = await retryTransient(() => kv.create(value.id, JSON.stringify(value)), {
    what: `Storing token ${value.name}`,
  });
  return { value, revision };
}

/**
 * Marks token `id` revoked by `by` (a no-op when it already is); returns the record with
 * its revision and whether this call revoked it, or null when there is no such token.
 *
 * @example
 * ```ts
 * const revoked = await revokeToken(nats, "tok_0123456789abcdef", "alice");
 * ```
 */
export async function revokeToken(
  nats: AtlasNats,
  id: string,
  by: string,
  now: () => Date = () => new Date(),
): Promise<{ stored: Stored<TokenRecord>; revoked: boolean } | null> {
  const kv = await nats.kv(Buckets.tokens);
  const result = await casUpdate(
    kv,
    id,
    TokenRecord,
    (current) =>
      current && !current.revokedAt
        ? { ...current, revokedAt: now().toISOString(), revokedBy: by }
        : null,
    { what: `token ${id}` },
  );
  if (result.written) {
    return { stored: { value: result.value, revision: result.revision }, revoked: true };
  }
  return result.current ? { stored: result.current, revoked: false } : null;
}
