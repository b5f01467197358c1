/**
 * `@atlas/store`: everything that talks to NATS (connections, the shared stream publisher,
 * KV and object store helpers, pointers, rollout updates, audit, provisioning, leases, alerts,
 * trusted keys, the pointer follower) and the local files the agent and SDK keep (atomic
 * writes, key files). Rules come from `@atlas/core`.
 *
 * @example
 * ```ts
 * import { connectAtlas, readPointer } from "@atlas/store";
 * await using nats = await connectAtlas("nats://127.0.0.1:4222");
 * const stored = await readPointer(nats, "us-east", "web");
 * ```
 *
 * @module
 */
export { type AckLog, readAckLog, type ReadAckLogOptions } from "./ack_log.ts";
export {
  AlertNotFoundError,
  AlertResolvedError,
  resolveAlert,
  type ResolveOptions,
  resolveRolloutAlerts,
} from "./alerts.ts";
export {
  type AtomicWriteOptions,
  commitStaged,
  discardStaged,
  readFileOrNull,
  readFileSyncOrNull,
  removeStaleTemps,
  type StagedFile,
  stageFile,
  syncDir,
  writeFileAtomic,
} from "./atomic.ts";
export { AccountResolver, ResolverError } from "./account_claims.ts";
export {
  audited,
  type AuditedOptions,
  eventsAppended,
  findAuditEvent,
  type FindAuditOptions,
  type IntentOutcome,
  type IntentResolver,
  recoverIntents,
  type RecoverOptions,
  type RecoveryReport,
} from "./journal.ts";
export {
  appendAudit,
  appendAuditOnce,
  type AuditActor,
  type AuditInput,
  currentAuditActor,
  withAuditActor,
} from "./audit.ts";
export {
  BlobCopyError,
  type BlobOrigin,
  readBlob,
  readMirroredBlob,
  readPrimaryBlob,
} from "./blob_mirror.ts";
export {
  type BlobCopyCheck,
  type BlobStreamState,
  checkBlobCopy,
  judgeBlobCopy,
  rebuildBlobCopy,
} from "./compat/mirror_start.ts";
export {
  blobChunkSubject,
  blobMetaSubject,
  BLOBS_STREAM,
  objectDigestHex,
  ObjectMeta,
  parseObjectMeta,
  storeBlob,
} from "./blobs.ts";
export {
  AtlasNats,
  checkClientTls,
  type ClientTls,
  connectAtlas,
  type ConnectOptions,
  natsCredsAuthenticator,
  natsServers,
  readCredentials,
} from "./connect.ts";
export {
  type DeliveryContext,
  type FollowErrorContext,
  FollowStage,
  FollowStatus,
  PointerFollower,
  type PointerFollowerOptions,
  PointerVia,
} from "./follow.ts";
export {
  EnrolmentBook,
  type EnrolmentBookOptions,
  type EnrolmentInput,
  EnrolmentNotFoundError,
  readEnrolment,
  recordEnrolment,
  revokeEnrolment,
  type StoredAck,
  storedAck,
} from "./enrolments.ts";
export {
  KeyRing,
  type KeyRingOptions,
  loadSigner,
  loadTrustedKeys,
  loadVerifier,
} from "./key_files.ts";
export { KeyRingSigner, type KeyRingSignerOptions, UnusableSigningKeyError } from "./key_ring.ts";
export { listEntries, listKeys } from "./compat/list_keys.ts";
export {
  guardNodeTransport,
  keepAliveOnTransportErrors,
  transportErrors,
} from "./compat/node_transport.ts";
export {
  announceKeySet,
  fetchKeySet,
  KEY_SET_KEY,
  KeySetConflictError,
  publishTrustedKeys,
  readKeySet,
  readTrustedKeys,
  requireTrustedSigner,
  type RequireTrustedSignerOptions,
  storeKeySet,
  UntrustedSignerError,
} from "./keys_trust.ts";
export {
  CAS_ATTEMPTS,
  CasContentionError,
  type CasKv,
  casUpdate,
  type CasUpdateOptions,
  type CasUpdateResult,
  readKv,
  readKvDirect,
  type Stored,
} from "./kv_cas.ts";
export {
  LEASE_LIVE_MS,
  LEASE_TTL_MS,
  type LeaseHolder,
  leaseHolder,
  type LeaseHolderOptions,
  LeaseRecord,
} from "./leases.ts";
export {
  type ComponentLogger,
  componentLogger,
  type ComponentLoggerOptions,
  configureLogging,
  formatJson,
  formatText,
  type LineSink,
  LogFormat,
  type Logger,
  type LoggingOptions,
  loggingOptions,
  logInfo,
  type LogLevel,
} from "./log.ts";
export {
  type PointerChange,
  PointerConflictError,
  publishNotice,
  readPointer,
  type StoredPointer,
  writePointer,
  type WritePointerOptions,
} from "./pointers.ts";
export {
  type AckChecksView,
  type AgentCounters,
  type AgentMetrics,
  agentMetrics,
  type ControlMetrics,
  controlMetrics,
  type ControlView,
  type CoordinatorMetrics,
  coordinatorMetrics,
  type FleetView,
  METRICS_FLAGS,
  metricsListen,
  metricsResponse,
  Registry,
  serveMetrics,
} from "./metrics.ts";
export { runMain, STOP_DEADLINE_MS, stopWithin, untilStopSignal } from "./process.ts";
export {
  NATS_FLAGS,
  NATS_FLAGS_HELP,
  natsFlagOptions,
  type NatsFlagValues,
  tlsFromFlags,
} from "./nats_flags.ts";
export {
  listRegions,
  provision,
  type ProvisionOptions,
  provisionRegion,
  type RegionOptions,
} from "./provision.ts";
export {
  isCasConflict,
  isTransient,
  jetStreamErrorCode,
  type RetryOptions,
  retryTransient,
  UnavailableError,
} from "./retry.ts";
export {
  RolloutContentionError,
  type StoredRollout,
  updateRollout,
  type UpdateRolloutOptions,
  type UpdateRolloutResult,
} from "./rollout_update.ts";
export { releaseActiveRollout } from "./rollouts.ts";
export {
  JetStreamPublishError,
  type JetStreamPublishErrorOptions,
  type PubAck,
  StreamPublisher,
  type StreamPublishOptions,
} from "./stream_publish.ts";
export { revokeToken, storeToken } from "./tokens.ts";
export {
  annotate,
  currentTraceParent,
  nameRequestSpan,
  traced,
  type TracedOptions,
  tracedSync,
  traceHeaders,
  TraceKind,
  traceParentOf,
  tracingOn,
} from "./tracing.ts";
