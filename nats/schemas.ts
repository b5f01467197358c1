/**
 * Zod schemas of every record Atlas stores in NATS or sends over it. These are the
 * contract between the control plane, coordinators and agents: every reader parses
 * with these schemas, every writer builds values of these types.
 *
 * @module
 */
import { z } from "zod";
import { isConfigName, isSimpleName } from "./names.ts";

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

/** Outcome of an agent's attempt to apply a version. */
export const AckStatus = z.enum(["applied", "rejected", "failed"]);
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
  rolloutId: z.string().optional(),
  /** Milliseconds from the pointer's `issuedAt` to this ack. */
  latencyMs: z.number().nonnegative(),
  at: Timestamp,
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
  }).nullable(),
  /** SHA-256 of the file as last found on disk (differs from `applied.digest` on drift). */
  diskDigest: Digest.nullable(),
  /** The agent's last ack for this config. */
  lastAck: z.object({
    version: z.number().int().positive(),
    seq: z.number().int().positive(),
    status: AckStatus,
    reason: z.string().optional(),
    at: Timestamp,
  }).nullable(),
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
  configs: z.record(ConfigName, AgentConfigState),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

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
  actor: z.string(),
  action: z.string(),
  config: ConfigName.optional(),
  region: SimpleName.optional(),
  version: z.number().int().positive().optional(),
  details: z.record(z.string(), z.unknown()).default({}),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
