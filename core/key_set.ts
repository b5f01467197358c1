/**
 * The key-set rule: which signing keys are trusted, and how that may change.
 *
 * A key set ({@linkcode KeySetRecord}) lists every signing key Atlas ever used with its
 * status. Invariants, checked by {@linkcode acceptKeySet} wherever a set is taken (agents,
 * coordinators, the control plane at start):
 * - `seq` only grows: an older set, or another set of the same `seq`, is refused;
 * - a set is signed by a key trusted *now*: active in the set in force, or, before any
 *   set was taken, listed in the reader's trusted keys file;
 * - retired and revoked are final: a later set keeps such a key as it is (never active
 *   again, a revoked key never merely retired);
 * - the set names one signing key, active in it; key ids are unique.
 *
 * Only active keys verify ({@linkcode verifierOfKeySet}): a record signed only by a
 * retired or revoked key is refused with that reason. Retire is the planned end of a key
 * (the control plane re-signs what it signed first); revoke the emergency one.
 *
 * @example
 * ```ts
 * const next = acceptKeySet(offered, { current, bootstrap });
 * if (next !== "unchanged") verifier = verifierOfKeySet(next);
 * ```
 *
 * @module
 */
import { type TrustedKey, Verifier, type VerifierOptions } from "./crypto.ts";
import { AtlasError, AtlasErrorCode } from "./errors.ts";
import { type KeySetEntry, type KeySetRecord, KeyStatus } from "./schemas.ts";

/** Raised when a key set is refused, or a key-set change is not allowed. */
export class KeySetError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.signature });
    this.name = "KeySetError";
  }
}

/** A key set before signing. */
export type UnsignedKeySet = Omit<KeySetRecord, "keyId" | "signature">;

/** The active keys of `set`, as trusted keys. */
export function activeKeysOf(set: Pick<KeySetRecord, "keys">): TrustedKey[] {
  return set.keys.filter((k) => k.status === KeyStatus.active).map((k) => ({
    algorithm: k.algorithm,
    keyId: k.keyId,
    publicKey: k.publicKey,
  }));
}

/**
 * A verifier trusting the active keys of `set`; a record signed by one of its retired or
 * revoked keys is refused saying so.
 */
export function verifierOfKeySet(set: KeySetRecord, options: VerifierOptions = {}): Verifier {
  const refused: Record<string, string> = {};
  for (const k of set.keys) {
    if (k.status !== KeyStatus.active) refused[k.keyId] = `${k.status} in key set ${set.seq}`;
  }
  return new Verifier(activeKeysOf(set), { ...options, refused });
}

/** Throws {@linkcode KeySetError} unless `set` is well formed (unique ids, active signer). */
export function checkKeySetShape(set: UnsignedKeySet): void {
  const ids = new Set<string>();
  for (const k of set.keys) {
    if (ids.has(k.keyId)) {
      throw new KeySetError(`Key set ${set.seq} lists key ${k.keyId} twice`);
    }
    ids.add(k.keyId);
  }
  const signing = set.keys.find((k) => k.keyId === set.signing);
  if (!signing || signing.status !== KeyStatus.active) {
    throw new KeySetError(
      `Key set ${set.seq} names signing key ${set.signing}, which is not active in it`,
    );
  }
}

/** Where a reader stands before taking a key set. */
export interface KeySetContext {
  /** The set in force, or null before the first. */
  current: KeySetRecord | null;
  /** The reader's trusted keys file: the root of trust for its first set. */
  bootstrap: readonly TrustedKey[];
}

/**
 * Checks `next` against the set in force and returns it, or `"unchanged"` when it is the
 * set in force again. Throws {@linkcode KeySetError} saying why it is refused.
 *
 * @example
 * ```ts
 * acceptKeySet(offered, { current: null, bootstrap: file.keys });
 * ```
 */
export function acceptKeySet(next: KeySetRecord, ctx: KeySetContext): KeySetRecord | "unchanged" {
  const { current } = ctx;
  if (current && next.seq === current.seq && next.signature === current.signature) {
    return "unchanged";
  }
  if (current && next.seq <= current.seq) {
    throw new KeySetError(
      `Key set ${next.seq} is not newer than the key set in force (${current.seq}): refused ` +
        "(a replay or a forgery); the newest set is in KV atlas_keys",
    );
  }
  const trustedNow = current ? activeKeysOf(current) : [...ctx.bootstrap];
  if (!trustedNow.some((k) => k.keyId === next.keyId)) {
    throw new KeySetError(
      `Key set ${next.seq} is signed by key ${next.keyId}, which is not trusted now ` +
        `(trusted: ${trustedNow.map((k) => k.keyId).join(", ") || "(none)"}): refused. A key ` +
        "set must be signed by a key active in the set before it",
    );
  }
  try {
    new Verifier(trustedNow).verify(`key set ${next.seq}`, next);
  } catch (cause) {
    throw new KeySetError(`Key set ${next.seq}: ${(cause as Error).message}: refused`, { cause });
  }
  checkKeySetShape(next);
  for (const old of current?.keys ?? []) {
    if (old.status === KeyStatus.active) continue;
    const now = next.keys.find((k) => k.keyId === old.keyId);
    if (now?.status !== old.status && !(old.status === "retired" && now?.status === "revoked")) {
      throw new KeySetError(
        `Key set ${next.seq} lists key ${old.keyId} as ${now?.status ?? "absent"}, but it is ` +
          `${old.status} since ${old.since}: refused (retired and revoked are final)`,
      );
    }
  }
  return next;
}

/** The first key set: `signing` active (with `alsoTrusted`), seq 1. */
export function firstKeySet(
  signing: TrustedKey,
  alsoTrusted: readonly TrustedKey[],
  meta: { at: string; by: string },
): UnsignedKeySet {
  const keys = [signing, ...alsoTrusted.filter((k) => k.keyId !== signing.keyId)];
  return {
    seq: 1,
    signing: signing.keyId,
    keys: keys.map((k) => _entry(k, KeyStatus.active, meta.at)),
    issuedAt: meta.at,
    issuedBy: meta.by,
  };
}

/**
 * The set after a rotation: `key` joins, active, and becomes the signing key; the keys
 * active before stay active (what they signed keeps verifying until they are retired).
 */
export function rotatedKeySet(
  current: KeySetRecord,
  key: TrustedKey,
  meta: { at: string; by: string },
): UnsignedKeySet {
  if (current.keys.some((k) => k.keyId === key.keyId)) {
    throw new KeySetError(
      `Key ${key.keyId} is in key set ${current.seq} already: generate a new one`,
    );
  }
  return {
    seq: current.seq + 1,
    signing: key.keyId,
    keys: [...current.keys.map(_copy), _entry(key, KeyStatus.active, meta.at)],
    issuedAt: meta.at,
    issuedBy: meta.by,
  };
}

/**
 * The set after `keyId` is retired or revoked. The signing key cannot be (rotate first);
 * a revoked key stays revoked; a retired one may still be revoked.
 */
export function endedKeySet(
  current: KeySetRecord,
  keyId: string,
  status: typeof KeyStatus.retired | typeof KeyStatus.revoked,
  meta: { at: string; by: string },
): UnsignedKeySet {
  const key = current.keys.find((k) => k.keyId === keyId);
  if (!key) {
    throw new KeySetError(
      `Key ${keyId} is not in key set ${current.seq} (keys: ` +
        `${current.keys.map((k) => k.keyId).join(", ")}): list them with \`atlas keys list\``,
    );
  }
  if (keyId === current.signing) {
    throw new KeySetError(
      `Key ${keyId} is the signing key: rotate first (\`atlas keys rotate\`), then ` +
        `${status === "retired" ? "retire" : "revoke"} it`,
    );
  }
  if (key.status === status || key.status === KeyStatus.revoked) {
    throw new KeySetError(`Key ${keyId} is ${key.status} already (since ${key.since})`);
  }
  return {
    seq: current.seq + 1,
    signing: current.signing,
    keys: current.keys.map((k) => (k.keyId === keyId ? _entry(k, status, meta.at) : _copy(k))),
    issuedAt: meta.at,
    issuedBy: meta.by,
  };
}

function _entry(k: TrustedKey, status: KeyStatus, since: string): KeySetEntry {
  return { algorithm: k.algorithm, keyId: k.keyId, publicKey: k.publicKey, status, since };
}

function _copy(k: KeySetEntry): KeySetEntry {
  return { ...k };
}
