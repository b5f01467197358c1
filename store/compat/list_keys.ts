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
