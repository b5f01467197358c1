/**
 * Idempotent provisioning of every bucket and stream Atlas uses. Safe to run at every
 * start of the control plane: what exists is left alone, what is missing is created.
 *
 * @module
 */
import {
  DiscardPolicy,
  type Placement,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { KvOptions } from "@nats-io/kv";
import type { AtlasNats } from "./connect.ts";
import {
  blobMirrorStream,
  Buckets,
  pointerBucket,
  RegionRecord,
  Streams,
  Subjects,
} from "@atlas/core";
import { listKeys } from "./compat/list_keys.ts";
import { isCasConflict, retryTransient } from "./retry.ts";
import { readKv } from "./kv_cas.ts";

/** Options of {@linkcode provision}. */
export interface ProvisionOptions {
  /** Replicas of every stream (1 for a single node, 3 for a cluster). @default 1 */
  replicas?: number;
  /** Cluster to place the primary-region state in (supercluster). */
  cluster?: string;
}

const DAY_NS = 24 * 60 * 60 * 1e9;

/** The `placement` of a stream or bucket in `cluster` (none: wherever the server puts it). */
function placedIn(cluster: string | undefined): { placement?: Placement } {
  return cluster ? { placement: { cluster, tags: [] } } : {};
}

async function ensureKv(nats: AtlasNats, bucket: string, opts: Partial<KvOptions>): Promise<void> {
  if (await nats.streamInfo(`KV_${bucket}`)) return;
  await nats.kvm.create(bucket, { allow_direct: true, ...opts });
}

/** Limits that provisioning brings up to date on a stream that already exists. */
const LIMITS = ["max_msgs_per_subject", "max_age", "max_bytes", "discard"] as const;

/**
 * Creates stream `config.name`, or, when it exists, updates those of its {@linkcode LIMITS}
 * that `config` sets to other values (a stream made by an older Atlas: the acks stream
 * had a limit of 16 messages per subject, see provision()).
 */
export async function ensureStream(
  nats: AtlasNats,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  const current = (await nats.streamInfo(config.name))?.config;
  if (!current) {
    await nats.jsm.streams.add(config);
    return;
  }
  const changed = LIMITS.filter((k) => config[k] !== undefined && config[k] !== current[k]);
  if (changed.length === 0) return;
  await nats.jsm.streams.update(config.name, {
    ...current,
    ...Object.fromEntries(changed.map((k) => [k, config[k]])),
  });
}

/**
 * Creates whatever is missing of the primary-region state: configs, versions, regions
 * agents, tokens and enrolments buckets, the blobs object store, and the acks, audit and
 * intents streams.
 *
 * @example
 * ```ts
 * await provision(nats, { replicas: 3 });
 * ```
 */
export async function provision(nats: AtlasNats, options: ProvisionOptions = {}): Promise<void> {
  const replicas = options.replicas ?? 1;
  const placement = placedIn(options.cluster);
  await retryTransient(async () => {
    await ensureKv(nats, Buckets.configs, { history: 16, replicas, ...placement });
    await ensureKv(nats, Buckets.versions, { history: 1, replicas, ...placement });
    await ensureKv(nats, Buckets.regions, { history: 1, replicas, ...placement });
    await ensureKv(nats, Buckets.agents, { history: 1, replicas, ...placement });
    await ensureKv(nats, Buckets.rollouts, { history: 16, replicas, ...placement });
    await ensureKv(nats, Buckets.leases, { history: 1, replicas, ...placement });
    await ensureKv(nats, Buckets.liveness, { history: 1, replicas, ...placement });
    await ensureKv(nats, Buckets.alerts, { history: 1, replicas, ...placement });
    await ensureKv(nats, Buckets.quarantine, { history: 1, replicas, ...placement });
    await ensureKv(nats, Buckets.keys, { history: 1, replicas, ...placement });
    await ensureKv(nats, Buckets.tokens, { history: 4, replicas, ...placement });
    await ensureKv(nats, Buckets.enrolments, { history: 1, replicas, ...placement });
    if (!(await nats.streamInfo(`OBJ_${Buckets.blobs}`))) {
      await nats.objm.create(Buckets.blobs, {
        replicas,
        storage: StorageType.File,
        ...placement,
      });
    }
    await ensureStream(nats, {
      name: Streams.acks,
      subjects: ["atlas.ack.>"],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      // Bounded by age and size, not per subject: on nats-server 2.9 every message a
      // per-subject limit removes costs the server a scan (measured, 1 000 agents: 13 µs
      // per ack under the limit, 114–200 µs once each agent's subject was full), and that
      // cost lands on every apply. The coordinators read the last ack per subject.
      max_msgs_per_subject: -1,
      max_age: 30 * DAY_NS,
      max_bytes: 1024 * 1024 * 1024,
      discard: DiscardPolicy.Old,
      duplicate_window: 10 * 60 * 1e9,
      num_replicas: replicas,
      allow_direct: true,
      ...placement,
    });
    await ensureStream(nats, {
      name: Streams.audit,
      subjects: ["atlas.audit.>"],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      storage: StorageType.File,
      deny_delete: true,
      deny_purge: true,
      duplicate_window: 10 * 60 * 1e9,
      num_replicas: replicas,
      allow_direct: true,
      ...placement,
    });
    // Audit intents (store/journal.ts): each deleted by sequence once its event is written.
    await ensureStream(nats, {
      name: Streams.intents,
      subjects: [Subjects.allIntents],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: replicas,
      allow_direct: true,
      ...placement,
    });
  }, { what: "Provisioning JetStream", deadlineMs: 30_000 });
}

/** Options of {@linkcode provisionRegion}. */
export interface RegionOptions {
  /** Replicas of the region's pointer bucket. @default 1 */
  replicas?: number;
  /** Cluster to place the region's pointers in (its own cluster in a supercluster). */
  cluster?: string;
}

/** The stream config of a region's copy of the blobs object store. */
export function blobCopyConfig(
  region: string,
  replicas: number,
  cluster: string | undefined,
): Partial<StreamConfig> & { name: string } {
  // A mirror keeps the origin's subjects ($O.atlas_blobs.…; nats-server 2.9 has no
  // subject transforms), so the object store client cannot open it: blob_mirror.ts reads
  // it with direct gets (allow_direct), which also work without the JetStream meta leader.
  return {
    name: blobMirrorStream(region),
    description: `Copy of the ${Buckets.blobs} object store for region ${region}`,
    mirror: { name: `OBJ_${Buckets.blobs}` },
    storage: StorageType.File,
    num_replicas: replicas,
    // Object metadata is written with a rollup header. nats-server 2.9 refuses such a
    // message in a stream that does not allow rollups, and the mirror then stalls on the
    // first one (measured on 2.9.10); newer servers accept it either way.
    allow_rollup_hdrs: true,
    allow_direct: true,
    ...placedIn(cluster),
  };
}

/**
 * Creates what is missing of a region's state: its pointer bucket, its copy of the blobs
 * object store (a mirror stream, see {@linkcode blobMirrorStream}), both placed like
 * `options` say, and its record in the regions bucket. Run {@linkcode provision} first.
 *
 * @example
 * ```ts
 * await provisionRegion(nats, "us-east");
 * ```
 */
export async function provisionRegion(
  nats: AtlasNats,
  region: string,
  options: RegionOptions = {},
): Promise<RegionRecord> {
  const bucket = pointerBucket(region);
  const record = RegionRecord.parse({
    name: region,
    ...(options.cluster ? { cluster: options.cluster } : {}),
    createdAt: new Date().toISOString(),
  });
  const replicas = options.replicas ?? 1;
  const placement = placedIn(options.cluster);
  await retryTransient(async () => {
    await ensureKv(nats, bucket, { history: 64, replicas, ...placement });
    await ensureStream(nats, blobCopyConfig(region, replicas, options.cluster));
    const regions = await nats.kv(Buckets.regions);
    const existing = await regions.get(region);
    if (!existing || existing.operation !== "PUT") {
      await regions.create(region, JSON.stringify(record)).catch((e: Error) => {
        if (!isCasConflict(e)) throw e;
      });
    }
  }, { what: `Provisioning region ${region}`, deadlineMs: 30_000 });
  return record;
}

/** Lists the regions provisioned so far, sorted by name. */
export async function listRegions(nats: AtlasNats): Promise<RegionRecord[]> {
  const regions = await nats.kv(Buckets.regions);
  const out: RegionRecord[] = [];
  for (const key of await listKeys(nats, Buckets.regions)) {
    const found = await readKv(regions, key, RegionRecord);
    if (found) out.push(found.value);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
