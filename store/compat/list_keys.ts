/**
 * Listing the keys of a KV bucket without a consumer.
 *
 * `kv.keys()` of the v3 client iterates an ordered consumer and, against nats-server
 * 2.9.10, can wait forever when the bucket is written while it runs (measured: 3 hangs
 * in 24 listings of a bucket under steady puts). Agent heartbeats write the agents bucket
 * all the time, so Atlas lists keys from the stream's subject index instead
 * (`stream info` with `subjects_filter`): one request, no consumer, nothing to hang.
 *
 * Can go when: the oldest supported nats-server lists keys under writes without hanging
 * (re-run `list_keys_test.ts`'s steady-puts case against `kv.keys()` on it).
 *
 * @module
 */
import type { KvEntry } from "@nats-io/kv";
import type { AtlasNats } from "../connect.ts";
import { Subjects } from "@atlas/core";

/**
 * Keys of `bucket` matching `filter` (a NATS subject filter over keys, e.g. `us-east.*`),
 * sorted. A deleted key may still be listed until its marker is gone: a get tells.
 *
 * @example
 * ```ts
 * const agents = await listKeys(nats, "atlas_agents", "us-east.*");
 * ```
 */
export async function listKeys(nats: AtlasNats, bucket: string, filter = ">"): Promise<string[]> {
  const prefix = Subjects.kvKey(bucket, "");
  const info = await nats.jsm.streams.info(`KV_${bucket}`, {
    subjects_filter: `${prefix}${filter}`,
  });
  return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length)).sort();
}

/** Gets {@linkcode listEntries} has in flight at once. */
const READS_AT_ONCE = 64;

/**
 * The entries (puts and delete markers) of the keys of `bucket` matching `filter`, in key
 * order, read {@linkcode READS_AT_ONCE} at a time: one by one, 10 000 keys took 2.5 s of
 * round trips (a new region leader reading its enrolments and agent records).
 *
 * @example
 * ```ts
 * for (const e of await listEntries(nats, "atlas_agents", "us-east.*")) console.log(e.key);
 * ```
 */
export async function listEntries(
  nats: AtlasNats,
  bucket: string,
  filter = ">",
): Promise<KvEntry[]> {
  const kv = await nats.kv(bucket);
  const keys = await listKeys(nats, bucket, filter);
  const out: (KvEntry | null)[] = [];
  for (let i = 0; i < keys.length; i += READS_AT_ONCE) {
    out.push(...await Promise.all(keys.slice(i, i + READS_AT_ONCE).map((k) => kv.get(k))));
  }
  return out.filter((e): e is KvEntry => e !== null);
}
