/**
 * `@atlas/core`: the rules of Atlas, free of I/O (no NATS, no files, no timers): names,
 * record schemas, canonical JSON and signatures, verification of what agents apply, who is in a
 * rollout's share, the rollout state machine and how a region's stage is judged. Every other
 * package decides these things by calling here, never by restating them.
 *
 * @example
 * ```ts
 * import { planStages, Strategy } from "@atlas/core";
 * planStages(Strategy.parse({ name: "canary" }), ["us-east", "eu-west"]);
 * ```
 *
 * @module
 */
export {
  AckIdentity,
  ackPrecheck,
  AckRejection,
  type AckSignatureCheck,
  ackSignedBytes,
  type AckStorage,
  type AckVerdict,
  ackVerdict,
  ackVerdictSignedBy,
  isAgentPublicKey,
  signedBy,
  verifyAck,
} from "./ack_signature.ts";
export { concatBytes } from "./bytes.ts";
export {
  canonicalJson,
  generateSigningKey,
  type RecordSigner,
  sha256Hex,
  SignatureError,
  Signer,
  SigningKeyFile,
  TrustedKey,
  TrustedKeysFile,
  Verifier,
  type VerifierOptions,
} from "./crypto.ts";
export {
  ATLAS_ACCOUNT,
  AuthFiles,
  type AuthSetup,
  ControlAuthKeys,
  controlAuthKeys,
  createAuthSetup,
  CredentialsError,
  type CredsSigner,
  credsSigner,
  describeCreds,
  issueCreds,
  issuedAtOf,
  type IssuedCreds,
  issuerOf,
  leafJetStreamConfig,
  parseCredsText,
  revokeUser,
  serverAuthConfig,
  type ServerAuthOptions,
  SYSTEM_ACCOUNT,
  type UserIssuer,
} from "./credentials.ts";
export {
  decodeNatsJwt,
  NativeKeyPair,
  type NatsJwtClaims,
  NkeyError,
  rawNkeyPublicKey,
  verifyNkeySignature,
} from "./nkeys.ts";
export { type EvidenceEntry, type JudgedAck, ranVersionAt } from "./evidence.ts";
export {
  acceptKeySet,
  activeKeysOf,
  checkKeySetShape,
  endedKeySet,
  firstKeySet,
  type KeySetContext,
  KeySetError,
  rotatedKeySet,
  type UnsignedKeySet,
  verifierOfKeySet,
} from "./key_set.ts";
export { AtlasError, AtlasErrorCode, type AtlasErrorOptions, hasAtlasCode } from "./errors.ts";
export {
  judgeMetricGate,
  MetricGate,
  metricQuery,
  type MetricReading,
  type MetricSample,
  type MetricVerdict,
} from "./metric_gate.ts";
export { configsBehind, RegionBeacon } from "./beacon.ts";
export {
  MAX_RECONNECT_SPREAD_MS,
  reconcileSplayAfterReconnectMs,
  RECONNECT_RATE_PER_SECOND,
  reconnectDelayMs,
  reconnectSpreadMs,
} from "./reconnect.ts";
export {
  judgeStage,
  type Outcome,
  outcomeOf,
  type StageCounts,
  type StageInput,
  type StageJudgement,
  StageTally,
  type TallyRecords,
} from "./judge.ts";
export {
  type AtlasRole,
  atlasRole,
  type ConnectionType,
  connectionTypesOf,
  inboxPrefixOf,
  LEAF_CONNECTION_TYPES,
  LEAF_SYSTEM_PERMISSIONS,
  permissionsOf,
  RoleKind,
  roleLabel,
  type RolePermissions,
} from "./permissions.ts";
export {
  agentKey,
  assertConfigName,
  assertSimpleName,
  blobMirrorStream,
  blobName,
  Buckets,
  CONFIG_NAME_PATTERN,
  isConfigName,
  isSimpleName,
  parseAckSubject,
  parseQuarantineKey,
  pointerBucket,
  quarantineKey,
  SIMPLE_NAME_PATTERN,
  Streams,
  Subjects,
  versionKey,
} from "./names.ts";
export {
  ActiveRollout,
  activeRolloutKey,
  AlertKind,
  AlertRecord,
  canTransition,
  Gates,
  isFinal,
  type PlanOptions,
  planStages,
  preflightStage,
  QuarantineRecord,
  RegionProgress,
  RolloutRecord,
  RolloutStage,
  RolloutState,
  Strategy,
} from "./rollout.ts";
export {
  allowsEvent,
  isCompleting,
  type RegionUpdate,
  type RolloutEvent,
  RolloutEventType,
  RolloutTransitionError,
  transition,
  type TransitionContext,
} from "./rollout_state.ts";
export {
  AckRecord,
  AckStatus,
  AgentConfigState,
  AgentRecord,
  AuditEvent,
  AuditIntent,
  CandidateSelector,
  ConfigName,
  ConfigRecord,
  ContentType,
  Digest,
  EnrolmentRecord,
  KeySetEntry,
  KeySetNotice,
  KeySetRecord,
  KeyStatus,
  managesConfig,
  PointerNotice,
  PointerRecord,
  RegionRecord,
  SimpleName,
  Timestamp,
  VersionRecord,
} from "./schemas.ts";
export {
  agentIsStale,
  aliveFromSummary,
  type AliveSignal,
  aliveWindowMs,
  lastSignMs,
  LivenessRecord,
  MISSED_HEARTBEATS,
  recordKeepAliveSeconds,
  recordWindowMs,
  staleFrom,
  summaryKeepAliveSeconds,
} from "./liveness.ts";
export { withAck, withAcks } from "./agent_state.ts";
export {
  assertStrongSecret,
  estimateSecretBits,
  generateTokenId,
  generateTokenSecret,
  MIN_SECRET_BITS,
  MIN_SECRET_CHARS,
  parseTokensFile,
  Role,
  TOKEN_PREFIX,
  tokenDigest,
  TokenFileEntry,
  tokenFileEntry,
  TokenId,
  TokenInfo,
  tokenIsLive,
  TokenName,
  TokenRecord,
} from "./tokens.ts";
export {
  cutoffOfRanked,
  inCandidateShare,
  preflightOf,
  rankShareHashes,
  shareCutoff,
  shareHash,
  shareTest,
  targetOf,
} from "./share.ts";
export {
  ContentMismatchError,
  inlineBytes,
  verifyContent,
  verifyPointer,
  verifyTarget,
} from "./verify.ts";
export { summarize, type Summary } from "./percentiles.ts";
