/**
 * What every operation of the control plane works with: the NATS handles, the signing
 * key, the limits, and validation of user-supplied names into request errors.
 *
 * @module
 */
import type { z } from "zod";
import {
  type AtlasNats,
  componentLogger,
  EnrolmentBook,
  type KeyRing,
  listKeys,
  retryTransient,
  type StoredPointer,
} from "@atlas/store";
import {
  Buckets,
  ConfigRecord,
  isConfigName,
  isSimpleName,
  type KeySetRecord,
  RegionRecord,
  type Signer,
  type TrustedKey,
  Verifier,
  type VersionRecord,
} from "@atlas/core";
import { BlobMemo } from "./blob_memo.ts";
import { BucketCache } from "./bucket_cache.ts";
import { SchemaValidators } from "./content.ts";
import { InvalidRequestError } from "./errors.ts";

/** Limits of the control plane, all optional. */
export interface ControlLimits {
  /** Largest content of one version, in bytes. @default 1_048_576 */
  maxContentBytes?: number;
  /** Content this size or smaller travels inside the pointer notice. @default 65_536 */
  inlineMaxBytes?: number;
}

/** Dependencies of {@linkcode createContext}. */
export interface ControlDeps extends ControlLimits {
  nats: AtlasNats;
  signer: Signer;
  /** Public keys served by `GET /v1/keys` besides the signer's own. @default [] */
  extraTrustedKeys?: TrustedKey[];
  /**
   * The signing keys this process holds (with the directory new keys go to); without
   * it, only `signer`, and `atlas keys rotate` is refused.
   */
  keyRing?: KeyRing;
  /** Replicas of region pointer buckets created through the API. @default 1 */
  replicas?: number;
}

/** {@linkcode ControlDeps} with every field resolved. */
export interface ControlContext {
  nats: AtlasNats;
  /** The key new versions and pointers are signed with: the key set's (see keys.ts). */
  signer: Signer;
  /** The signing keys held, if a key ring was given. */
  keyRing: KeyRing | undefined;
  /** The key set in force, once read or made (keys.ts `ensureKeySet`). */
  keySet: KeySetRecord | null;
  /** Keys trusted besides the signer's in the first key set. */
  extraTrustedKeys: TrustedKey[];
  maxContentBytes: number;
  inlineMaxBytes: number;
  /** Largest request body: twice the content limit (JSON escaping) plus 64 KiB. */
  maxBodyBytes: number;
  /** The keys agents trust: `GET /v1/keys` serves them, and they go into `atlas_keys`. */
  trustedKeys: TrustedKey[];
  /** Verifies with {@linkcode trustedKeys} (is a stored pointer one agents accept?). */
  verifier: Verifier;
  replicas: number;
  validators: SchemaValidators;
  /** Recently published content by digest (activation inlines it from here). */
  recentBlobs: BlobMemo;
  /** Version records read or published, by `<config>/<version>` (immutable, so never stale). */
  versionRecords: Map<string, VersionRecord>;
  /** The pointers this process last wrote or read, by `<region>/<config>` (a first guess for CAS). */
  lastPointers: Map<string, StoredPointer>;
  /** In-memory copy of the configs bucket, for read endpoints. */
  configs: BucketCache<ConfigRecord>;
  /**
   * `latestVersion` raises a publish did not wait for, by config: this process's reads of
   * the config wait for them (control/versions.ts).
   */
  raising: Map<string, Promise<void>>;
  /** In-memory copy of the regions bucket: the regions an operation may target. */
  regions: BucketCache<RegionRecord>;
  /** The agents' enrolments: which acks count in status and evidence. */
  enrolments: EnrolmentBook;
}

/** Sets `key` in an insertion-ordered memo, dropping the oldest entries beyond `max`. */
export function remember<K, V>(memo: Map<K, V>, key: K, value: V, max = 10_000): void {
  memo.delete(key);
  memo.set(key, value);
  for (const oldest of memo.keys()) {
    if (memo.size <= max) break;
    memo.delete(oldest);
  }
}

function _positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot start the control plane as '${name}' must be a non-negative integer: current ` +
        `value is ${value}`,
    );
  }
  return value;
}

/**
 * The keys agents must trust to accept what this control plane signs: its signer's, then
 * `extraTrustedKeys`.
 *
 * @example
 * ```ts
 * trustedKeysOf({ signer }); // [signer.trustedKey]
 * ```
 */
export function trustedKeysOf(
  deps: Pick<ControlDeps, "signer" | "extraTrustedKeys">,
): TrustedKey[] {
  return [deps.signer.trustedKey, ...(deps.extraTrustedKeys ?? [])];
}

/**
 * Resolves dependencies and defaults once.
 *
 * @example
 * ```ts
 * const ctx = createContext({ nats, signer: await loadSigner("signing.key") });
 * ```
 */
export function createContext(deps: ControlDeps): ControlContext {
  const maxContentBytes = _positiveInt("maxContentBytes", deps.maxContentBytes ?? 1_048_576);
  return {
    nats: deps.nats,
    signer: deps.signer,
    keyRing: deps.keyRing,
    keySet: null,
    extraTrustedKeys: deps.extraTrustedKeys ?? [],
    maxContentBytes,
    inlineMaxBytes: _positiveInt("inlineMaxBytes", deps.inlineMaxBytes ?? 65_536),
    maxBodyBytes: maxContentBytes * 2 + 65_536,
    trustedKeys: trustedKeysOf(deps),
    verifier: new Verifier(trustedKeysOf(deps), { remember: 1_024 }),
    replicas: _positiveInt("replicas", deps.replicas ?? 1),
    validators: new SchemaValidators(),
    recentBlobs: new BlobMemo(32 * 1024 * 1024),
    versionRecords: new Map(),
    lastPointers: new Map(),
    configs: new BucketCache(deps.nats, Buckets.configs, ConfigRecord),
    raising: new Map(),
    regions: new BucketCache(deps.nats, Buckets.regions, RegionRecord),
    enrolments: new EnrolmentBook(deps.nats),
  };
}

/** Throws {@linkcode InvalidRequestError} unless `name` is a valid config name. */
export function checkConfigName(name: string): string {
  if (!isConfigName(name)) {
    throw new InvalidRequestError(
      `Invalid config name ${JSON.stringify(name)}: use dot-separated segments of lowercase ` +
        `letters, digits, '_' and '-', each starting with a letter or digit ` +
        `(e.g. "payments.limits")`,
    );
  }
  return name;
}

/** Throws {@linkcode InvalidRequestError} unless `name` is a valid region name. */
export function checkRegionName(name: string): string {
  if (!isSimpleName(name)) {
    throw new InvalidRequestError(
      `Invalid region name ${JSON.stringify(name)}: use lowercase letters, digits, '_' and ` +
        `'-', starting with a letter or digit (e.g. "us-east")`,
    );
  }
  return name;
}

/**
 * Every record of `bucket` whose key matches `filter`, parsed with `schema`, listed with
 * `listKeys` (never `kv.keys()`, which can hang while the bucket is written). Deleted
 * keys are skipped; a record that does not parse (written by another version of Atlas)
 * is left out with a warning rather than failing the whole listing.
 *
 * @example
 * ```ts
 * const alerts = await readAll(ctx, Buckets.alerts, AlertRecord);
 * ```
 */
export async function readAll<S extends z.ZodType>(
  ctx: ControlContext,
  bucket: string,
  schema: S,
  filter = ">",
): Promise<{ key: string; value: z.infer<S> }[]> {
  const kv = await ctx.nats.kv(bucket);
  const keys = await retryTransient(() => listKeys(ctx.nats, bucket, filter), {
    what: `Listing ${bucket}`,
  });
  const records = await Promise.all(keys.map(async (key) => {
    const entry = await retryTransient(() => kv.get(key), { what: `Reading ${bucket}/${key}` });
    if (!entry || entry.operation !== "PUT") return null;
    const parsed = schema.safeParse(entry.json());
    if (parsed.success) return { key, value: parsed.data as z.infer<S> };
    componentLogger("control").logger.warn("ignored a malformed record", {
      bucket,
      key,
      error: parsed.error.message,
    });
    return null;
  }));
  return records.filter((r) => r !== null);
}
