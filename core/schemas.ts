/**
 * Zod schemas of every record Atlas stores in NATS or sends over it. These are the
 * contract between the control plane, coordinators and agents: every reader parses
 * with these schemas, every writer builds values of these types.
 *
 * @module
 */
import { z } from "zod";
import { isConfigName, isSimpleName } from "./names.ts";
import { TrustedKey } from "./crypto.ts";

/** A config name (`payments.limits`). */
export const ConfigName = z.string().refine(isConfigName, {
  message: "must be dot-separated segments of [a-z0-9][a-z0-9_-]*",
});
/** A region or agent name (`us-east`). */
export const SimpleName = z.string().refine(isSimpleName, {
  message: "must match [a-z0-9][a-z0-9_-]*",
});
/** A SHA-256 digest as 64 lowercase hex characters. */
export const Digest = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters");
/** An ISO-8601 timestamp. */
export const Timestamp = z.string().datetime({ offset: true });
/** Content types a config can have. */
export const ContentType = z.enum(["application/json", "application/yaml", "text/plain"]);
export type ContentType = z.infer<typeof ContentType>;

/** A config: what operators register before publishing versions of it. */
export const ConfigRecord = z.object({
  name: ConfigName,
  description: z.string().max(1000).default(""),
  contentType: ContentType,
  /** JSON Schema every version must satisfy (JSON and YAML configs only). */
  schema: z.record(z.string(), z.unknown()).optional(),
  /** Highest version number allocated so far (0 = none). */
  latestVersion: z.number().int().nonnegative(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ConfigRecord = z.infer<typeof ConfigRecord>;

/** Fields common to every signed record. */
const Signed = {
  keyId: z.string().min(1),
  signature: z.string().min(1),
};

/** An immutable, numbered, signed version of a config. */
export const VersionRecord = z.object({
  config: ConfigName,
  version: z.number().int().positive(),
  digest: Digest,
  size: z.number().int().nonnegative(),
  contentType: ContentType,
  author: z.string(),
  message: z.string(),
  createdAt: Timestamp,
  ...Signed,
});
export type VersionRecord = z.infer<typeof VersionRecord>;

/** Which agents take a rollout's candidate version. */
export const CandidateSelector = z.object({
  /** Share of agents, chosen by a stable hash of agent id and rollout id. */
  percent: z.number().min(0).max(100).default(0),
  /** Agents that take the candidate whatever the share. */
  agents: z.array(SimpleName).default([]),
  /** Agents that never take the candidate (quarantined). */
  exclude: z.array(SimpleName).default([]),
  /**
   * Agents carrying all these labels take the candidate. Optional without a default, so
   * the signed form of pointers written before it existed is unchanged.
   */
  labels: z.record(z.string(), z.string()).optional(),
  /**
   * Exact shares: agents whose stable hash ({@linkcode shareHash}) is at most this take the
   * candidate, in place of the `percent` coin flip. The coordinator sets it so that
   * `ceil(percent × n)` of the n agents that manage the config fall under it. Optional
   * without a default, so the signed form of older pointers is unchanged.
   */
  hashCutoff: z.number().int().min(0).max(0xffff_ffff).optional(),
});
export type CandidateSelector = z.infer<typeof CandidateSelector>;

/**
 * The active-version pointer of one config in one region. Signed, and `seq` only grows,
 * so an agent can refuse a replayed or forged pointer. It embeds the signed version
 * record(s), so an agent needs nothing else to verify what it applies.
 */
export const PointerRecord = z.object({
  config: ConfigName,
  region: SimpleName,
  seq: z.number().int().positive(),
  active: VersionRecord,
  /** Versions active before `active`, most recent first (for rollback). */
  history: z.array(z.number().int().positive()).max(32),
  candidate: z.object({
    version: VersionRecord,
    rolloutId: z.string().min(1),
    selector: CandidateSelector,
    /**
     * A preflight: the selected agents fetch, verify and run their `verify` command on
     * the candidate, and ack `verified` without installing it; every agent stays on
     * `active`. Optional without a default (signed form of older pointers unchanged).
     */
    preflight: z.literal(true).optional(),
  }).optional(),
  reason: z.string(),
  issuedAt: Timestamp,
  issuedBy: z.string(),
  ...Signed,
});
export type PointerRecord = z.infer<typeof PointerRecord>;

/** What is published on `atlas.notify.<region>.<config>` after a pointer is stored. */
export const PointerNotice = z.object({
  pointer: PointerRecord,
  /** Base64 content of the target version(s) by digest, when small enough to inline. */
  blobs: z.record(Digest, z.string()).default({}),
});
export type PointerNotice = z.infer<typeof PointerNotice>;

/**
 * Outcome of an agent's attempt to apply a version; `verified` answers a preflight (the
 * candidate was fetched and checked, and its `verify` command passed, nothing installed).
 */
export const AckStatus = z.enum(["applied", "rejected", "failed", "verified"]);
export type AckStatus = z.infer<typeof AckStatus>;

/** An agent's report on one pointer it acted on. */
export const AckRecord = z.object({
  agent: SimpleName,
  region: SimpleName,
  config: ConfigName,
  version: z.number().int().positive(),
  digest: Digest,
  seq: z.number().int().positive(),
  status: AckStatus,
  reason: z.string().optional(),
  /**
   * Why, as a class a gate can act on: `untrusted` when the pointer's own signature did
   * not verify (the agent does not trust its signer: the writer's fault, not the host's).
   */
  refusal: z.enum(["untrusted"]).optional(),
  rolloutId: z.string().optional(),
  /** Milliseconds from the pointer's `issuedAt` to this ack. */
  latencyMs: z.number().nonnegative(),
  at: Timestamp,
  /**
   * The agent's ed25519 signature (nkey, base64url) over the other fields; an ack without
   * a valid one does not count (core/ack_signature.ts).
   */
  signature: z.string().optional(),
});
export type AckRecord = z.infer<typeof AckRecord>;

/** What an agent holds for one config, and how its last attempt went. */
export const AgentConfigState = z.object({
  /** The version applied and on disk, or null if none has been applied yet. */
  applied: z.object({
    version: z.number().int().positive(),
    digest: Digest,
    seq: z.number().int().positive(),
    appliedAt: Timestamp,
    /** The version's content type (state written before it was kept has none). */
    contentType: ContentType.optional(),
  }).nullable(),
  /** SHA-256 of the file as last found on disk (differs from `applied.digest` on drift). */
  diskDigest: Digest.nullable(),
  /** The agent's last ack for this config. */
  lastAck: z.object({
    version: z.number().int().positive(),
    seq: z.number().int().positive(),
    status: AckStatus,
    reason: z.string().optional(),
    refusal: z.enum(["untrusted"]).optional(),
    at: Timestamp,
  }).nullable(),
  /** The last drift the agent healed (a hand edit it restored), for the drift alert. */
  lastDriftHealed: z.object({
    at: Timestamp,
    /** SHA-256 of what it found on disk instead of the applied version. */
    found: Digest.nullable(),
    version: z.number().int().positive(),
  }).optional(),
});
export type AgentConfigState = z.infer<typeof AgentConfigState>;

/** An agent's heartbeat, in the agents bucket under `<region>.<agent>`. */
export const AgentRecord = z.object({
  id: SimpleName,
  region: SimpleName,
  labels: z.record(z.string(), z.string()).default({}),
  hostname: z.string(),
  pid: z.number().int(),
  startedAt: Timestamp,
  heartbeatAt: Timestamp,
  /**
   * Seconds between this agent's heartbeats: it counts as gone after three missed ones
   * (`agentIsStale`, core/liveness.ts). Older agents did not say: 15.
   */
  heartbeatSeconds: z.number().positive().default(15),
  /**
   * Seconds between this agent's alive pings (`atlas.alive.<region>.<agent>`, core NATS):
   * with them it counts as gone after three missed ones (core/liveness.ts). Absent: it
   * sends none (older agents), and only its record's age counts.
   */
  aliveSeconds: z.number().positive().optional(),
  /** Set in the goodbye an agent writes when it stops cleanly: it is gone, not failing. */
  leftAt: Timestamp.optional(),
  /**
   * The configs this agent manages (every key of agent.json `configs`), from its first
   * heartbeat on, applied or not: membership, which shares and gates count.
   */
  configs: z.record(ConfigName, AgentConfigState),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

/** True when `agent` manages `config` (states it in its heartbeat). */
export function managesConfig(agent: AgentRecord, config: string): boolean {
  return Object.hasOwn(agent.configs, config);
}

/**
 * An agent's enrolment, in the enrolments bucket under `<region>.<agent>`: the public key
 * its acks must be signed with (core/ack_signature.ts). A revoked agent's acks stored from
 * `revokedAt` on do not count; enrolling again replaces the record.
 */
export const EnrolmentRecord = z.object({
  region: SimpleName,
  agent: SimpleName,
  /** The agent's nkey user public key (`U...`). */
  publicKey: z.string().regex(/^U[A-Z2-7]{55}$/, "must be an nkey user public key (U...)"),
  enrolledAt: Timestamp,
  revokedAt: Timestamp.optional(),
  /**
   * Keys the agent held before it was enrolled again, newest first (at most 8), each with
   * when it stopped counting: acks stored before then still prove what they say.
   */
  previousKeys: z.array(z.object({
    publicKey: z.string().regex(/^U[A-Z2-7]{55}$/),
    retiredAt: Timestamp,
  })).max(8).optional(),
});
export type EnrolmentRecord = z.infer<typeof EnrolmentRecord>;

/** A region known to the control plane. */
export const RegionRecord = z.object({
  name: SimpleName,
  /** NATS cluster the region's pointer bucket is placed in, if any. */
  cluster: z.string().optional(),
  createdAt: Timestamp,
});
export type RegionRecord = z.infer<typeof RegionRecord>;

/** One entry of the append-only audit log. */
export const AuditEvent = z.object({
  id: z.string(),
  at: Timestamp,
  /** Who acted: an API token's name, or a component (`coordinator:us-east`). */
  actor: z.string(),
  /** The id of the API token that acted (`tok_…`, `file:<name>`), when one did. */
  actorId: z.string().optional(),
  action: z.string(),
  config: ConfigName.optional(),
  region: SimpleName.optional(),
  version: z.number().int().positive().optional(),
  details: z.record(z.string(), z.unknown()).default({}),
  /**
   * Written by the start-up recovery (store/journal.ts), not by the change itself: the
   * process that made the change died before it could append the event.
   */
  recovered: z.literal(true).optional(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;

/**
 * An audit event written down before its change (KV `atlas_intents`, key = `id`): the
 * change's audit event will carry the same `id`, and an intent left behind by a crash is
 * resolved at start-up into that event (marked `recovered`) or an `audit.abandoned` one.
 */
export const AuditIntent = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]+$/),
  at: Timestamp,
  event: AuditEvent.omit({ id: true, at: true, recovered: true }),
});
export type AuditIntent = z.infer<typeof AuditIntent>;
/** Where a key of the key set stands: signs and verifies, or neither any more. */
export const KeyStatus = {
  /** Trusted: what it signed verifies, and it may sign. */
  active: "active",
  /** Planned end: trusted no more; what it signed was re-signed with the current key first. */
  retired: "retired",
  /** Emergency end (compromised): trusted no more, nothing re-signed; never trusted again. */
  revoked: "revoked",
} as const;
/** A value of {@linkcode KeyStatus}. */
export type KeyStatus = typeof KeyStatus[keyof typeof KeyStatus];

/** One key of a key set: its public half, where it stands, since when. */
export const KeySetEntry = TrustedKey.extend({
  status: z.enum([KeyStatus.active, KeyStatus.retired, KeyStatus.revoked]),
  since: Timestamp,
});
export type KeySetEntry = z.infer<typeof KeySetEntry>;

/**
 * The signed, numbered set of signing keys (KV `atlas_keys`, key `set`). Each set is
 * signed by a key active in the set before it (or, for the first an agent sees, by a key
 * of its trusted keys file), and `seq` only grows: see `core/key_set.ts`.
 */
export const KeySetRecord = z.object({
  seq: z.number().int().positive(),
  /** The key new versions and pointers are signed with (active in `keys`). */
  signing: z.string().min(1),
  keys: z.array(KeySetEntry).min(1),
  issuedAt: Timestamp,
  issuedBy: z.string(),
  ...Signed,
});
export type KeySetRecord = z.infer<typeof KeySetRecord>;

/** What is published on `atlas.notify.<region>._keys` after a key set is stored. */
export const KeySetNotice = z.object({ keySet: KeySetRecord });
export type KeySetNotice = z.infer<typeof KeySetNotice>;
