/**
 * Reading a KV record with its revision, and the one compare-and-set loop every writer of
 * a shared record uses ({@linkcode casUpdate}, shaped like etcd's STM: read, decide,
 * write if the revision has not moved, otherwise read and decide again).
 *
 * @module
 */
import type { KV } from "@nats-io/kv";
import type { AtlasNats } from "./connect.ts";
import type { z } from "zod";
import { AtlasError, AtlasErrorCode, Subjects } from "@atlas/core";
import { isCasConflict, type RetryOptions, retryTransient } from "./retry.ts";

/** A KV value parsed with its schema, and the revision it was read at. */
export interface Stored<T> {
  value: T;
  revision: number;
}

/** The part of a KV bucket {@linkcode casUpdate} uses. */
export type CasKv = Pick<KV, "get" | "create" | "update">;

/**
 * Reads and parses one KV entry; null when absent, deleted or purged. A value that does
 * not parse is an error (stored data is never silently ignored).
 *
 * @example
 * ```ts
 * const config = await readKv(await nats.kv(Buckets.configs), "web", ConfigRecord);
 * if (config) console.log(config.revision, config.value.latestVersion);
 * ```
 */
export async function readKv<S extends z.ZodType>(
  kv: Pick<KV, "get">,
  key: string,
  schema: S,
): Promise<Stored<z.infer<S>> | null> {
  const entry = await kv.get(key);
  if (!entry || entry.operation !== "PUT") return null;
  return { value: schema.parse(entry.json()), revision: entry.revision };
}

/**
 * Reads and parses one KV entry with a JetStream direct get by subject
 * (`$JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>`), without opening the bucket: no
 * stream info, so a reader's permissions need one pattern per bucket, and any replica
 * answers (also in a region cut off from the meta leader; a replica may lag a write by a
 * moment). Null when absent, deleted or purged; a value that does not parse is an error.
 * The bucket must exist: a direct get to a missing stream gets no answer, only a timeout.
 *
 * @example
 * ```ts
 * const set = await readKvDirect(nats, Buckets.keys, "set", KeySetRecord);
 * ```
 */
export async function readKvDirect<S extends z.ZodType>(
  nats: Pick<AtlasNats, "jsm">,
  bucket: string,
  key: string,
  schema: S,
): Promise<Stored<z.infer<S>> | null> {
  const m = await nats.jsm.direct.getMessage(`KV_${bucket}`, {
    last_by_subj: Subjects.kvKey(bucket, key),
  });
  if (!m) return null;
  const op = m.header.get("KV-Operation");
  if (op === "DEL" || op === "PURGE") return null;
  return { value: schema.parse(m.json()), revision: m.seq };
}

/** Raised by {@linkcode casUpdate} when every attempt lost its compare-and-set. */
export class CasContentionError extends AtlasError {
  /** The key that kept changing. */
  readonly key: string;
  /** How many writes were tried. */
  readonly attempts: number;
  constructor(key: string, attempts: number, options?: ErrorOptions & { what?: string }) {
    const what = options?.what ?? `key ${key}`;
    super(
      `${what[0]!.toUpperCase()}${what.slice(1)} kept changing while it was being written: ` +
        `${attempts} compare-and-set attempts lost to other writers; try again`,
      { ...options, code: AtlasErrorCode.contention },
    );
    this.name = "CasContentionError";
    this.key = key;
    this.attempts = attempts;
  }
}

/** The default of {@linkcode CasUpdateOptions.attempts}. */
export const CAS_ATTEMPTS = 10;

/** Options of {@linkcode casUpdate}. */
export interface CasUpdateOptions<T> {
  /**
   * Writes to try before throwing {@linkcode CasContentionError}; `Infinity` for a change
   * that converges (every lost write means another writer moved the record along).
   * @default 10
   */
  attempts?: number;
  /**
   * The record as the caller last read it (null: absent): the first attempt decides on it
   * instead of reading, and the record is read again only if that write loses.
   */
  known?: Stored<T> | null;
  /**
   * Writes over an existing revision; `kv.update` unless given (such as
   * `(data, rev) => nats.kvWrite(bucket, key, data, rev)`, a publish without a request of
   * its own). A record that is absent is always written with `kv.create`, which also
   * writes over a delete marker.
   */
  write?: (data: string, revision: number) => Promise<number>;
  /**
   * Retries each read and write through passing unavailability ({@linkcode retryTransient});
   * false: not at all.
   * @default {}
   */
  retry?: RetryOptions | false;
  /** What is updated, for the messages of errors. @default key */
  what?: string;
}

/** What {@linkcode casUpdate} did. */
export type CasUpdateResult<T> =
  /** `mutate`'s value was stored at `revision`; `previous` is what it replaced. */
  | { written: true; value: T; revision: number; previous: Stored<T> | null }
  /** `mutate` returned null for `current`, the record as it is. */
  | { written: false; current: Stored<T> | null };

/**
 * Reads `key` (value and revision, or null when absent), asks `mutate` for its new value,
 * and writes it by compare-and-set: an update of the revision read, or a create when the
 * key was absent. When another writer got there first it reads again and asks `mutate`
 * again, up to `attempts` writes; then throws {@linkcode CasContentionError}. `mutate`
 * returning null leaves the record as it is; an error it throws is thrown as is.
 *
 * @example
 * ```ts
 * const kv = await nats.kv(Buckets.configs);
 * await casUpdate(kv, "web", ConfigRecord, (current) =>
 *   current && current.latestVersion < 7 ? { ...current, latestVersion: 7 } : null);
 * ```
 */
export async function casUpdate<S extends z.ZodType>(
  kv: CasKv,
  key: string,
  schema: S,
  mutate: (
    current: z.infer<S> | null,
    stored: Stored<z.infer<S>> | null,
  ) => z.infer<S> | null | Promise<z.infer<S> | null>,
  options: CasUpdateOptions<z.infer<S>> = {},
): Promise<CasUpdateResult<z.infer<S>>> {
  const attempts = options.attempts ?? CAS_ATTEMPTS;
  if (!(attempts >= 1) || (!Number.isInteger(attempts) && attempts !== Infinity)) {
    throw new RangeError(
      `Cannot update ${key} as 'attempts' must be a positive integer or Infinity: current ` +
        `value is ${attempts}`,
    );
  }
  const retry = options.retry ?? {};
  const what = options.what ?? key;
  const run = <R>(fn: () => Promise<R>, doing: string) =>
    retry === false ? fn() : retryTransient(fn, { what: doing, ...retry });
  let current = options.known !== undefined
    ? options.known
    : await run(() => readKv(kv, key, schema), `Reading ${what}`);
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) current = await run(() => readKv(kv, key, schema), `Reading ${what}`);
    const next = await mutate(current?.value ?? null, current);
    if (next === null) return { written: false, current };
    const data = JSON.stringify(next);
    const stored = current;
    try {
      const revision = await run(
        () =>
          stored === null
            ? kv.create(key, data)
            : options.write
            ? options.write(data, stored.revision)
            : kv.update(key, data, stored.revision),
        `Writing ${what}`,
      );
      return { written: true, value: next, revision, previous: stored };
    } catch (e) {
      if (!isCasConflict(e)) throw e;
      lastConflict = e;
    }
  }
  throw new CasContentionError(key, attempts, {
    cause: lastConflict,
    ...(options.what === undefined ? {} : { what: options.what }),
  });
}
