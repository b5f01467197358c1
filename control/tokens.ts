/**
 * API tokens at run time: create (the secret is returned once and never kept), list (never
 * secrets or digests) and revoke. The bootstrap tokens of the tokens file are listed too,
 * but managed in the file (revoking one here is refused, saying so).
 *
 * Invariant: what is stored (`atlas_tokens`) and audited (`token.create`,
 * `token.revoke`) holds a token's id, name and role, never its secret; names are unique
 * among the tokens that are not revoked.
 *
 * @module
 */
import {
  assertStrongSecret,
  generateTokenId,
  generateTokenSecret,
  type Role,
  tokenDigest,
  type TokenInfo,
  tokenIsLive,
  type TokenRecord,
} from "@atlas/core";
import { appendAudit, revokeToken, storeToken } from "@atlas/store";
import { fileTokenId, fileTokenInfo, type Principal, type TokenAuth, tokenInfo } from "./auth.ts";
import type { BucketCache } from "./bucket_cache.ts";
import type { ControlContext } from "./context.ts";
import { ConflictError, NotFoundError } from "./errors.ts";

/** What a token service works with. */
export interface TokenDeps {
  ctx: ControlContext;
  auth: TokenAuth;
  /** The in-memory copy of `atlas_tokens` the authentication reads. */
  cache: BucketCache<TokenRecord>;
}

/**
 * Every token: the file's, then the API's by creation time (revoked ones included).
 *
 * @example
 * ```ts
 * const tokens = await listTokens(deps);
 * ```
 */
export async function listTokens(deps: TokenDeps): Promise<TokenInfo[]> {
  const created = (await deps.cache.list()).sort((a, b) =>
    a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)
  );
  return [...deps.auth.fileTokens.map(fileTokenInfo), ...created.map(tokenInfo)];
}

/**
 * Creates a token named `name` with `role` on behalf of `by`; returns its view and its
 * secret, which nothing keeps. A name in use by a token that is not revoked is a
 * {@linkcode ConflictError}.
 *
 * @example
 * ```ts
 * const { token, secret } = await createToken(deps, { name: "ci", role: "reader" }, principal);
 * ```
 */
export async function createToken(
  deps: TokenDeps,
  input: { name: string; role: Role; ttlSeconds?: number | undefined },
  by: Principal,
): Promise<{ token: TokenInfo; secret: string }> {
  const now = new Date();
  const active = (await listTokens(deps)).find((t) => t.name === input.name && tokenIsLive(t, now));
  if (active) {
    throw new ConflictError(
      `A token named ${JSON.stringify(input.name)} exists (${active.id}): choose another ` +
        `name, or revoke it first (\`atlas tokens revoke ${active.id}\`)`,
    );
  }
  const secret = generateTokenSecret();
  assertStrongSecret(secret);
  const stored = await storeToken(deps.ctx.nats, {
    id: generateTokenId(),
    name: input.name,
    role: input.role,
    sha256: tokenDigest(secret),
    createdAt: now.toISOString(),
    ...(input.ttlSeconds !== undefined
      ? { expiresAt: new Date(now.getTime() + input.ttlSeconds * 1000).toISOString() }
      : {}),
    createdBy: by.name,
    createdById: by.id,
  });
  deps.cache.note(stored.value.id, stored);
  const token = tokenInfo(stored.value);
  await appendAudit(deps.ctx.nats, {
    actor: by.name,
    actorId: by.id,
    action: "token.create",
    details: {
      id: token.id,
      name: token.name,
      role: token.role,
      ...(token.expiresAt ? { expiresAt: token.expiresAt } : {}),
    },
  });
  return { token, secret };
}

/**
 * Revokes the token with id or name `ref` on behalf of `by` (at once on this control
 * plane, within the watch's delivery time on the others); revoking a revoked token
 * returns it as it is. A tokens-file token is a {@linkcode ConflictError}, an unknown one
 * a {@linkcode NotFoundError}.
 *
 * @example
 * ```ts
 * const token = await revokeTokenAs(deps, "ci", principal);
 * ```
 */
export async function revokeTokenAs(
  deps: TokenDeps,
  ref: string,
  by: Principal,
): Promise<TokenInfo> {
  const file = deps.auth.fileTokens.find((t) => t.name === ref || fileTokenId(t.name) === ref);
  const records = await deps.cache.list();
  const record = records.find((r) => r.id === ref) ??
    records.find((r) => r.name === ref && tokenIsLive(r, new Date())) ??
    records.find((r) => r.name === ref && !r.revokedAt) ??
    (file ? undefined : records.filter((r) => r.name === ref).at(-1));
  if (!record && file) {
    throw new ConflictError(
      `Token ${JSON.stringify(file.name)} comes from the tokens file: remove its entry from ` +
        "the file given to --tokens-file and send the control plane SIGHUP (it reloads " +
        "the file), or restart it",
    );
  }
  if (!record) {
    throw new NotFoundError(
      `No token with id or name ${JSON.stringify(ref)}: \`atlas tokens list\` shows them`,
    );
  }
  if (record.revokedAt) return tokenInfo(record);
  const result = await revokeToken(deps.ctx.nats, record.id, by.name);
  if (!result) throw new NotFoundError(`Token ${record.id} is gone from the tokens bucket`);
  const { stored } = result;
  deps.cache.note(stored.value.id, stored);
  // Another control plane revoking it the same moment audits its own revocation.
  if (!result.revoked) return tokenInfo(stored.value);
  await appendAudit(deps.ctx.nats, {
    actor: by.name,
    actorId: by.id,
    action: "token.revoke",
    details: { id: record.id, name: record.name, role: record.role },
  });
  return tokenInfo(stored.value);
}
