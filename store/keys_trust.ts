/**
 * The signed key set in KV `atlas_keys`, and the trusted keys coordinators check against.
 *
 * The control plane stores each key set twice: under `set.<seq>` (create-only, so the
 * chain of sets stays readable for a reader that missed some) and under `set` (the newest),
 * then announces it on `atlas.notify.<region>._keys` in every region. Readers take a set
 * only through `acceptKeySet` (core/key_set.ts); {@linkcode fetchKeySet} walks the chain
 * from the reader's set to the newest, so an agent offline through a rotation and a
 * retirement still reaches the newest set one trusted step at a time.
 *
 * Before key sets existed the bucket held one entry per trusted key id; those are still
 * read when there is no set (older control planes).
 *
 * @module
 */
import type { AtlasNats } from "./connect.ts";
import {
  acceptKeySet,
  activeKeysOf,
  AtlasError,
  AtlasErrorCode,
  Buckets,
  type KeySetContext,
  KeySetError,
  KeySetRecord,
  Subjects,
  TrustedKey,
} from "@atlas/core";
import { listKeys } from "./compat/list_keys.ts";
import { isCasConflict, retryTransient } from "./retry.ts";
import { readKvDirect } from "./kv_cas.ts";

/** The key of the newest key set in `atlas_keys`. */
export const KEY_SET_KEY = "set";

/** Raised by {@linkcode storeKeySet} when another writer stored a set of that seq first. */
export class KeySetConflictError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.conflict });
    this.name = "KeySetConflictError";
  }
}

/**
 * The key set numbered `seq`, or the newest without it (a direct get: agents may read it),
 * or null. A stored set that does not parse throws.
 */
export async function readKeySet(nats: AtlasNats, seq?: number): Promise<KeySetRecord | null> {
  const key = seq === undefined ? KEY_SET_KEY : `${KEY_SET_KEY}.${seq}`;
  const found = await retryTransient(() => readKvDirect(nats, Buckets.keys, key, KeySetRecord), {
    what: `Reading key set ${key}`,
  });
  return found?.value ?? null;
}

/**
 * Stores `set` as `set.<seq>` (create-only: two writers of one seq cannot both win) and
 * as the newest `set`, then announces it in `regions`.
 *
 * @example
 * ```ts
 * await storeKeySet(nats, signedSet, ["us-east", "eu-west"]);
 * ```
 */
export async function storeKeySet(
  nats: AtlasNats,
  set: KeySetRecord,
  regions: readonly string[],
): Promise<void> {
  const data = JSON.stringify(KeySetRecord.parse(set));
  const key = `${KEY_SET_KEY}.${set.seq}`;
  let tries = 0;
  try {
    await retryTransient(() => {
      tries++;
      return nats.kvWrite(Buckets.keys, key, data, 0);
    }, { what: `Storing key set ${set.seq}` });
  } catch (e) {
    if (!isCasConflict(e)) throw e;
    const stored = await readKeySet(nats, set.seq);
    if (!(tries > 1 && stored?.signature === set.signature)) {
      throw new KeySetConflictError(
        `Key set ${set.seq} was stored by another writer meanwhile: read the keys again ` +
          "(`atlas keys list`) and retry",
        { cause: e },
      );
    }
  }
  await retryTransient(() => nats.kvWrite(Buckets.keys, KEY_SET_KEY, data), {
    what: `Storing the newest key set (${set.seq})`,
  });
  announceKeySet(nats, set, regions);
}

/** Publishes the notice of a stored key set in each region (fire and forget: agents re-read). */
export function announceKeySet(
  nats: AtlasNats,
  set: KeySetRecord,
  regions: readonly string[],
): void {
  const data = JSON.stringify({ keySet: set });
  for (const region of regions) {
    try {
      nats.nc.publish(Subjects.keysNotice(region), data);
    } catch {
      // disconnected: agents read the set on reconnect and on an unknown key
    }
  }
}

/**
 * The newest key set a reader standing at `ctx` can take, reading the chain of sets
 * between its own and the newest; `"unchanged"` when it has the newest already, null when
 * no set is stored. Throws {@linkcode KeySetError} when the newest cannot be reached
 * through sets it trusts (a forged or broken chain).
 *
 * @example
 * ```ts
 * const next = await fetchKeySet(nats, { current, bootstrap });
 * ```
 */
export async function fetchKeySet(
  nats: AtlasNats,
  ctx: KeySetContext,
): Promise<KeySetRecord | "unchanged" | null> {
  const newest = await readKeySet(nats);
  if (!newest) return null;
  try {
    return acceptKeySet(newest, ctx);
  } catch (e) {
    if (!(e instanceof KeySetError)) throw e;
    const from = (ctx.current?.seq ?? 0) + 1;
    if (newest.seq <= from) throw e;
    // Step through the sets in between: each signed by a key of the one before.
    let current = ctx.current;
    for (let seq = from; seq <= newest.seq; seq++) {
      const set = seq === newest.seq ? newest : await readKeySet(nats, seq);
      if (!set) throw e;
      const taken = acceptKeySet(set, { current, bootstrap: ctx.bootstrap });
      if (taken !== "unchanged") current = taken;
    }
    return current ?? null;
  }
}

/** Raised by {@linkcode requireTrustedSigner} when agents would not trust the signer. */
export class UntrustedSignerError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.signature });
    this.name = "UntrustedSignerError";
  }
}

/**
 * Makes the keys bucket hold exactly `keys` as per-key entries (others removed; key sets
 * left alone). The form of before key sets: tests and older coordinators read it.
 *
 * @example
 * ```ts
 * await publishTrustedKeys(nats, [signer.trustedKey]);
 * ```
 */
export async function publishTrustedKeys(
  nats: AtlasNats,
  keys: readonly TrustedKey[],
): Promise<void> {
  const kv = await nats.kv(Buckets.keys);
  const wanted = new Map(keys.map((k) => [k.keyId, TrustedKey.parse(k)]));
  for (const [keyId, key] of wanted) {
    const entry = await retryTransient(() => kv.get(keyId), { what: `Reading key ${keyId}` });
    if (entry?.operation === "PUT") {
      const stored = TrustedKey.safeParse(entry.json());
      if (stored.success && stored.data.publicKey === key.publicKey) continue;
    }
    await retryTransient(() => kv.put(keyId, JSON.stringify(key)), {
      what: `Publishing key ${keyId}`,
    });
  }
  for (const keyId of await listKeys(nats, Buckets.keys)) {
    if (wanted.has(keyId) || keyId === KEY_SET_KEY || keyId.startsWith(`${KEY_SET_KEY}.`)) {
      continue;
    }
    const entry = await kv.get(keyId);
    if (entry?.operation === "PUT") {
      await retryTransient(() => kv.delete(keyId), { what: `Removing key ${keyId}` });
    }
  }
}

/**
 * The keys agents trust: the active keys of the newest key set, or (no set stored) the
 * per-key entries older control planes published; empty before either. Entries that do
 * not parse are left out.
 */
export async function readTrustedKeys(nats: AtlasNats): Promise<TrustedKey[]> {
  const set = await readKeySet(nats);
  if (set) return activeKeysOf(set);
  const kv = await nats.kv(Buckets.keys);
  const keys: TrustedKey[] = [];
  for (const keyId of await listKeys(nats, Buckets.keys)) {
    if (keyId === KEY_SET_KEY || keyId.startsWith(`${KEY_SET_KEY}.`)) continue;
    const entry = await retryTransient(() => kv.get(keyId), { what: `Reading key ${keyId}` });
    if (entry?.operation !== "PUT") continue;
    const parsed = TrustedKey.safeParse(entry.json());
    if (parsed.success) keys.push(parsed.data);
  }
  return keys;
}

/** Options of {@linkcode requireTrustedSigner}. */
export interface RequireTrustedSignerOptions {
  /** Who signs, for the message. @default "this signer" */
  who?: string;
}

/**
 * Throws {@linkcode UntrustedSignerError} unless `signer`'s key (id and public key) is
 * among the trusted keys the control plane published, or when none is published yet.
 *
 * @example
 * ```ts
 * await requireTrustedSigner(nats, signer, { who: "coordinator us-east" });
 * ```
 */
export async function requireTrustedSigner(
  nats: AtlasNats,
  signer: { keyId: string; trustedKey: TrustedKey },
  options: RequireTrustedSignerOptions = {},
): Promise<void> {
  const who = options.who ?? "this signer";
  const trusted = await readTrustedKeys(nats);
  if (trusted.length === 0) {
    throw new UntrustedSignerError(
      `${who} cannot check its signing key ${signer.keyId}: no trusted keys are published ` +
        `in ${Buckets.keys} yet. Start the control plane first (\`deno task control …\` ` +
        "publishes them), then this",
    );
  }
  const match = trusted.find((k) => k.keyId === signer.keyId);
  if (match && match.publicKey === signer.trustedKey.publicKey) return;
  const set = await readKeySet(nats);
  const ended = set?.keys.find((k) => k.keyId === signer.keyId && k.status !== "active");
  if (set && ended) {
    throw new UntrustedSignerError(
      `${who} signs with key ${signer.keyId}, which is ${ended.status} in key set ${set.seq} ` +
        `(since ${ended.since}): start it with the current signing key ${set.signing} ` +
        `(--key-dir holding ${set.signing}.key, or --signing-key <that file>)`,
    );
  }
  throw new UntrustedSignerError(
    `${who} signs with key ${signer.keyId}, which agents do not trust (trusted: ` +
      `${trusted.map((k) => k.keyId).join(", ")}): start it with the control plane's ` +
      "signing key, or add the key to the trusted set (the control plane's trusted keys, " +
      "and every agent's trusted keys file)",
  );
}
