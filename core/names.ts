/**
 * Names of everything Atlas keeps in NATS, and validation of the user-supplied names
 * (configs, regions, agents) that end up inside subjects and keys.
 *
 * Nothing user-supplied becomes part of a subject, key or bucket name without passing
 * one of the `assert…Name` functions here first.
 *
 * @module
 */

const SEGMENT = "[a-z0-9][a-z0-9_-]{0,62}";
const CONFIG_NAME = new RegExp(`^${SEGMENT}(\\.${SEGMENT}){0,7}$`);
const SIMPLE_NAME = new RegExp(`^${SEGMENT}$`);
/** The pattern of {@linkcode isConfigName}, for documents (OpenAPI `pattern`). */
export const CONFIG_NAME_PATTERN: string = CONFIG_NAME.source;
/** The pattern of {@linkcode isSimpleName}, for documents (OpenAPI `pattern`). */
export const SIMPLE_NAME_PATTERN: string = SIMPLE_NAME.source;

/** Buckets, streams and object stores Atlas provisions. */
export const Buckets = {
  configs: "atlas_configs",
  versions: "atlas_versions",
  regions: "atlas_regions",
  agents: "atlas_agents",
  blobs: "atlas_blobs",
  rollouts: "atlas_rollouts",
  /** Coordinator leader leases, one key per region. */
  leases: "atlas_leases",
  /** Open and resolved alerts, by id. */
  alerts: "atlas_alerts",
  /**
   * Quarantined agents, one key per agent and config: `<region>.<agent>.<config>`
   * ({@linkcode quarantineKey}). A key of two tokens (`<region>.<agent>`, written before
   * quarantine was per config) fences the agent off every config.
   */
  quarantine: "atlas_quarantine",
  /** The signed key set (key `set`, and each set by number as `set.<seq>`; see key_set.ts). */
  keys: "atlas_keys",
  /**
   * API tokens created through the API, by token id: names, roles and SHA-256 digests,
   * never secrets (core/tokens.ts).
   */
  tokens: "atlas_tokens",
  /** Agent enrolments (the public key each agent signs its acks with): `<region>.<agent>`. */
  enrolments: "atlas_enrolments",
  /**
   * Each region leader's liveness summary, one key per region (core/liveness.ts): which
   * agents fell silent, for the control plane, which hears no alive pings.
   */
  liveness: "atlas_liveness",
} as const;

/** Streams Atlas provisions. */
export const Streams = {
  acks: "atlas_acks",
  audit: "atlas_audit",
  /** Audit events written before their change, until it is recorded (store/journal.ts). */
  intents: "atlas_intents",
} as const;

/**
 * Returns true when `name` is a valid config name: dot-separated segments of
 * `[a-z0-9][a-z0-9_-]*`, at most 8 segments of at most 63 characters.
 *
 * @example
 * ```ts
 * isConfigName("payments.limits"); // true
 * isConfigName("../x"); // false
 * ```
 */
export function isConfigName(name: string): boolean {
  return CONFIG_NAME.test(name);
}

/** Returns true when `name` is a valid region or agent name (`[a-z0-9][a-z0-9_-]*`). */
export function isSimpleName(name: string): boolean {
  return SIMPLE_NAME.test(name);
}

/**
 * Throws a `TypeError` unless `name` is a valid config name.
 *
 * @example
 * ```ts
 * assertConfigName("web.frontend"); // ok
 * ```
 */
export function assertConfigName(name: string): void {
  if (!isConfigName(name)) {
    throw new TypeError(
      `Invalid config name ${JSON.stringify(name)}: use dot-separated segments of ` +
        `lowercase letters, digits, '_' and '-', each starting with a letter or digit ` +
        `(e.g. "payments.limits")`,
    );
  }
}

/** Throws a `TypeError` unless `name` is a valid region or agent name. */
export function assertSimpleName(kind: "region" | "agent", name: string): void {
  if (!isSimpleName(name)) {
    throw new TypeError(
      `Invalid ${kind} name ${JSON.stringify(name)}: use lowercase letters, digits, '_' ` +
        `and '-', starting with a letter or digit (e.g. "us-east")`,
    );
  }
}

/** KV bucket holding the pointers of one region, keyed by config name. */
export function pointerBucket(region: string): string {
  assertSimpleName("region", region);
  return `atlas_pointers_${region}`;
}

/**
 * Stream holding a region's copy of the blobs object store: a mirror of
 * `OBJ_atlas_blobs` placed in the region's cluster, so agents read blobs without
 * crossing a gateway.
 *
 * @example
 * ```ts
 * blobMirrorStream("us-east"); // "atlas_blobs_us-east"
 * ```
 */
export function blobMirrorStream(region: string): string {
  assertSimpleName("region", region);
  return `${Buckets.blobs}_${region}`;
}

/** Key of a version record in the versions bucket. */
export function versionKey(config: string, version: number): string {
  assertConfigName(config);
  return `${config}.${version}`;
}

/** Key of an agent's heartbeat record in the agents bucket. */
export function agentKey(region: string, agent: string): string {
  assertSimpleName("region", region);
  assertSimpleName("agent", agent);
  return `${region}.${agent}`;
}

/** Key of an agent's quarantine for one config in the quarantine bucket. */
export function quarantineKey(region: string, agent: string, config: string): string {
  assertConfigName(config);
  return `${agentKey(region, agent)}.${config}`;
}

/**
 * Splits a quarantine key back into its parts; `config` is undefined for a key of two
 * tokens (a quarantine of every config), and the result undefined for anything else.
 */
export function parseQuarantineKey(
  key: string,
): { region: string; agent: string; config: string | undefined } | undefined {
  const [region, agent, ...rest] = key.split(".");
  if (!region || !agent || !isSimpleName(region) || !isSimpleName(agent)) return undefined;
  const config = rest.length ? rest.join(".") : undefined;
  if (config !== undefined && !isConfigName(config)) return undefined;
  return { region, agent, config };
}

/** Object name of a blob in the blobs object store. */
export function blobName(digest: string): string {
  if (!/^[0-9a-f]{64}$/.test(digest)) {
    throw new TypeError(`Invalid digest ${JSON.stringify(digest)}: expected 64 hex characters`);
  }
  return `sha256-${digest}`;
}

/** Core-NATS subjects and their builders. */
export const Subjects = {
  /** Every pointer notice of a region: agents subscribe here. */
  notifyRegion(region: string): string {
    assertSimpleName("region", region);
    return `atlas.notify.${region}.>`;
  },
  /** Pointer notice for one config in one region, published after the pointer is stored. */
  notify(region: string, config: string): string {
    assertSimpleName("region", region);
    assertConfigName(config);
    return `atlas.notify.${region}.${config}`;
  },
  /**
   * Key-set notice of a region, published after a key set is stored. `_keys` is no
   * config name, so it never meets a pointer notice; agents get it on `notifyRegion`.
   */
  keysNotice(region: string): string {
    assertSimpleName("region", region);
    return `atlas.notify.${region}._keys`;
  },
  /**
   * The region's beacon (core/beacon.ts): the coordinator leader's periodic statement of the
   * newest pointer seq of each config. `_beacon` is no config name; agents get it on
   * `notifyRegion`, and only the region's coordinator (or the control plane) may publish it.
   */
  beacon(region: string): string {
    assertSimpleName("region", region);
    return `atlas.notify.${region}._beacon`;
  },
  /**
   * An agent's ack for one config (captured by the acks stream). The agent comes before
   * the config, so one pattern (`atlas.ack.<region>.<agent>.>`) grants an agent its acks:
   * with the config first it took one per config length, and each pattern costs the
   * server ~1.5 KiB per connection (docs/sizing.md).
   */
  ack(region: string, config: string, agent: string): string {
    assertSimpleName("region", region);
    assertConfigName(config);
    assertSimpleName("agent", agent);
    return `atlas.ack.${region}.${agent}.${config}`;
  },
  /** Every ack of one agent in a region, whatever the config. */
  acksBy(region: string, agent: string): string {
    assertSimpleName("region", region);
    assertSimpleName("agent", agent);
    return `atlas.ack.${region}.${agent}.>`;
  },
  /** Every ack in a region (what a leaf node's link carries). */
  acksIn(region: string): string {
    assertSimpleName("region", region);
    return `atlas.ack.${region}.>`;
  },
  /** Every ack for a config in a region. */
  acksOf(region: string, config: string): string {
    assertSimpleName("region", region);
    assertConfigName(config);
    return `atlas.ack.${region}.*.${config}`;
  },
  /**
   * An agent's alive ping (core NATS, nothing stored; core/liveness.ts): the agent may
   * publish only its own, the region's coordinators subscribe to `aliveOf(region)`.
   */
  alive(region: string, agent: string): string {
    assertSimpleName("region", region);
    assertSimpleName("agent", agent);
    return `atlas.alive.${region}.${agent}`;
  },
  /** Every alive ping of a region: the last token is the agent. */
  aliveOf(region: string): string {
    assertSimpleName("region", region);
    return `atlas.alive.${region}.*`;
  },
  /** Audit events about one config, or `_system` for events that are about none. */
  audit(config?: string): string {
    if (config === undefined) return "atlas.audit._system";
    assertConfigName(config);
    return `atlas.audit.${config}`;
  },
  /**
   * The subject a KV bucket keeps `key` under: a publish to it is a `kv.put` (for the
   * stream publisher, see stream_publish.ts). `key` may be a filter (`us-east.*`).
   */
  kvKey(bucket: string, key: string): string {
    return `$KV.${bucket}.${key}`;
  },
  /** An audit intent (store/journal.ts), by its id. */
  intent(id: string): string {
    return `atlas.intent.${id}`;
  },
  allAcks: "atlas.ack.>",
  allAudit: "atlas.audit.>",
  allIntents: "atlas.intent.>",
} as const;

/** Splits an ack subject back into its parts; returns undefined for any other subject. */
export function parseAckSubject(
  subject: string,
): { region: string; config: string; agent: string } | undefined {
  const parts = subject.split(".");
  if (parts.length < 5 || parts[0] !== "atlas" || parts[1] !== "ack") return undefined;
  const region = parts[2]!;
  const agent = parts[3]!;
  const config = parts.slice(4).join(".");
  return { region, config, agent };
}
