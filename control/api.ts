/**
 * Zod schemas of every HTTP request and response body of the control plane API. The
 * handlers parse requests with these, the OpenAPI document is generated from them, and
 * the CLI reads responses with them.
 *
 * @module
 */
import { z } from "zod";
import {
  AgentConfigState,
  AgentRecord,
  AlertRecord,
  AuditEvent,
  CONFIG_NAME_PATTERN,
  ConfigName,
  ConfigRecord,
  ContentType,
  Gates,
  MetricGate,
  QuarantineRecord,
  RegionRecord,
  RolloutRecord,
  RolloutStage,
  RolloutState,
  SIMPLE_NAME_PATTERN,
  SimpleName,
  Strategy,
  VersionRecord,
} from "@atlas/core";

/** A JSON value (what a JSON config's `content` may be instead of a string). */
export type JsonValue = string | number | boolean | null | JsonValue[] | {
  [key: string]: JsonValue;
};

/** A config name in a path: `payments.limits`. */
export const ConfigNameParam = z.string().regex(new RegExp(CONFIG_NAME_PATTERN), {
  error: (issue) =>
    `Invalid config name ${JSON.stringify(issue.input)}: use dot-separated segments of ` +
    `lowercase letters, digits, '_' and '-', each starting with a letter or digit ` +
    `(e.g. "payments.limits")`,
}).describe("config name: up to 8 dot-separated segments of [a-z0-9][a-z0-9_-]{0,62}");

function _simpleNameParam(what: string, example: string) {
  return z.string().regex(new RegExp(SIMPLE_NAME_PATTERN), {
    error: (issue) =>
      `Invalid ${what} name ${JSON.stringify(issue.input)}: use lowercase letters, digits, ` +
      `'_' and '-', starting with a letter or digit (e.g. "${example}")`,
  }).describe(`${what} name: [a-z0-9][a-z0-9_-]{0,62}`);
}
/** A region name in a path: `us-east`. */
export const RegionNameParam = _simpleNameParam("region", "us-east");
/** An agent id in a path: `web-17`. */
export const AgentIdParam = _simpleNameParam("agent", "web-17");

/** A version number in a path: a positive integer. */
export const VersionParam = z.string().regex(/^[1-9][0-9]{0,14}$/, {
  error: (issue) =>
    `Invalid version ${JSON.stringify(issue.input)}: use a positive integer such as 1`,
}).transform(Number).describe("version number, a positive integer");

/** A rollout id in a path: `r-20260102030405-k3x9qa`. */
export const RolloutIdParam = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
  error: (issue) =>
    `Invalid rollout id ${JSON.stringify(issue.input)}: ids look like ` +
    `r-20260102030405-k3x9qa (list them with GET /v1/rollouts)`,
}).describe("rollout id");

/** An alert id in a path (a KV key: letters, digits, `_`, `-`, `=`, `.`). */
export const AlertIdParam = z.string().regex(/^[A-Za-z0-9_=-][A-Za-z0-9_.=-]{0,254}$/, {
  error: (issue) =>
    `Invalid alert id ${JSON.stringify(issue.input)}: ids are letters, digits, '_', '-', ` +
    `'=' and '.' (list them with GET /v1/alerts?all=true)`,
}).describe("alert id");

/** Body of `PUT /v1/configs/{name}`; omitted fields keep their current value. */
export const ConfigPutBody = z.strictObject({
  description: z.string().max(1000).optional(),
  contentType: ContentType.optional().describe("default application/json"),
  schema: z.record(z.string(), z.unknown()).nullable().optional().describe(
    "JSON Schema every new version must satisfy (JSON and YAML configs); null removes it",
  ),
});
export type ConfigPutBody = z.infer<typeof ConfigPutBody>;

/** Body of `POST /v1/configs/{name}/versions`. */
export const PublishBody = z.strictObject({
  content: z.unknown().refine((v) => v !== undefined, { message: "content is required" })
    .describe(
      "the content as a string (bytes preserved), or for JSON configs any JSON value " +
        "(stored pretty-printed with a final newline)",
    ),
  message: z.string().max(4000).optional(),
});
export type PublishBody = z.infer<typeof PublishBody>;

const Regions = z.array(SimpleName).min(1).optional().describe(
  "default: every provisioned region",
);

/** Optional body of `PUT /v1/regions/{name}`. */
export const RegionBody = z.strictObject({
  cluster: z.string().min(1).max(64).optional().describe(
    "the NATS cluster to place the region's pointers and blob copy in (a supercluster " +
      "member named like the region, usually); default: wherever the server puts them",
  ),
  replicas: z.number().int().min(1).max(5).optional().describe(
    "replicas of the region's streams (3 where the region's cluster has 3 nodes); " +
      "default: the control plane's",
  ),
});
export type RegionBody = z.infer<typeof RegionBody>;

/** Body of `POST /v1/configs/{name}/activate`. */
export const ActivateBody = z.strictObject({
  version: z.number().int().positive(),
  regions: Regions,
});
export type ActivateBody = z.infer<typeof ActivateBody>;

/** Body of `POST /v1/configs/{name}/rollback`. */
export const RollbackBody = z.strictObject({
  regions: Regions,
  toVersion: z.number().int().positive().optional().describe(
    "default: the version active before the current one",
  ),
});
export type RollbackBody = z.infer<typeof RollbackBody>;

const PositiveInt = z.string().regex(/^[1-9][0-9]{0,14}$/, {
  message: "must be a positive integer",
}).transform(Number);

/** Query of `GET /v1/configs/{name}/diff`. */
export const DiffQuery = z.strictObject({
  from: PositiveInt.describe("version to diff from"),
  to: PositiveInt.describe("version to diff to"),
});

/**
 * Pagination of every list: without `limit`, the whole list and no `next` (the shape of
 * before pagination); with it, at most `limit` items, `next` (null on the last page) and a
 * `Link: <…>; rel="next"` header while there is more.
 */
export const PageQuery = z.strictObject({
  limit: PositiveInt.pipe(z.number().max(1000)).optional().describe(
    "page size, 1 to 1000; with it the response carries `next`",
  ),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,1000}$/, {
    message: "must be the `next` of the previous page",
  }).optional().describe("the `next` of the previous page"),
});

const Next = z.string().nullable().optional().describe(
  "with `limit`: the cursor of the next page, null on the last one",
);

/** Query of `GET /v1/audit`. */
export const AuditQuery = PageQuery.extend({
  config: ConfigName.optional(),
  limit: PositiveInt.pipe(z.number().max(1000)).optional().describe(
    "page size, 1 to 1000 (default 100: the newest 100 events)",
  ),
});

/** Query of `GET /v1/agents`. */
export const AgentsQuery = PageQuery.extend({ region: SimpleName.optional() });

/** `GET /v1/configs`. */
export const ConfigList = z.object({ configs: z.array(ConfigRecord), next: Next });
/** `GET /v1/configs/{name}/versions`, ascending by version. */
export const VersionList = z.object({ versions: z.array(VersionRecord), next: Next });

/** What an activation or rollback did in one region. */
export const RegionMove = z.object({
  region: SimpleName,
  /** Sequence number of the pointer now stored. */
  seq: z.number().int().positive(),
  /** The version active in the region now. */
  version: z.number().int().positive(),
  previousVersion: z.number().int().positive().nullable(),
  /** False when the region already had this version active (nothing written). */
  changed: z.boolean(),
});
export type RegionMove = z.infer<typeof RegionMove>;

/** A region an activation could not reach, handed to its coordinator as a rollout. */
export const DeferredMove = z.object({
  region: SimpleName,
  /** The immediate rollout the region's coordinator runs once it reads the primary again. */
  rolloutId: z.string(),
  /** Why the pointer could not be written now. */
  reason: z.string(),
});
export type DeferredMove = z.infer<typeof DeferredMove>;

/** Response of activate and rollback. */
export const MoveResult = z.object({
  config: ConfigName,
  /** The version activated (a rollback without toVersion: the first region's target). */
  version: z.number().int().positive(),
  /** The regions moved now. */
  regions: z.array(RegionMove),
  /** Regions not reachable now (activate only; the response is then 202). */
  deferred: z.array(DeferredMove).default([]),
});
export type MoveResult = z.infer<typeof MoveResult>;

/** Rollout state of one config in one region. */
export const RegionStatus = z.object({
  region: SimpleName,
  pointer: z.object({
    version: z.number().int().positive(),
    seq: z.number().int().positive(),
    issuedAt: z.string(),
    history: z.array(z.number().int().positive()),
  }).nullable(),
  agents: z.object({
    /** Live agents that manage the config (gone ones are left out: see `gone`). */
    total: z.number().int().nonnegative(),
    onActive: z.array(SimpleName),
    onOther: z.array(z.object({ agent: SimpleName, version: z.number().int().nullable() })),
    rejects: z.array(z.object({
      agent: SimpleName,
      version: z.number().int(),
      status: z.string(),
      reason: z.string(),
    })),
    /**
     * Agents that manage the config but are gone (said goodbye, or fell silent; see
     * `AgentView.stale`): not counted above. `atlas agents remove` forgets one for good.
     */
    gone: z.array(SimpleName).default([]),
    /**
     * Live agents that manage the config but are not counted above: not enrolled, or
     * revoked (only acks signed by an enrolled key count, core/ack_signature.ts).
     */
    unverified: z.array(z.object({ agent: SimpleName, reason: z.string() })).default([]),
  }),
  /**
   * How the active version reached the live agents: their newest verified acks, when they
   * applied it, with pointer `issuedAt` → ack as each agent measured it (what
   * `atlas_propagation_seconds` counts) and first-to-last ack skew. Null before any ack.
   */
  propagation: z.object({
    acked: z.number().int().nonnegative(),
    p50Ms: z.number().nonnegative(),
    p95Ms: z.number().nonnegative(),
    p99Ms: z.number().nonnegative(),
    maxMs: z.number().nonnegative(),
    skewMs: z.number().nonnegative(),
  }).nullable().default(null),
});
export type RegionStatus = z.infer<typeof RegionStatus>;

/** Query of `GET /v1/configs/{name}/versions/{version}/evidence`. */
export const EvidenceQuery = z.strictObject({
  at: z.string().datetime({
    offset: true,
    message: "must be an ISO-8601 time such as 2026-01-02T03:04:05Z",
  }).optional().describe("the time asked about (default: now)"),
  region: SimpleName.optional().describe("only this region"),
});

/** `GET /v1/configs/{name}/versions/{version}/evidence`. */
export const Evidence = z.object({
  config: ConfigName,
  version: z.number().int().positive(),
  digest: z.string(),
  at: z.string(),
  region: SimpleName.nullable(),
  hosts: z.array(z.object({
    region: SimpleName,
    agent: SimpleName,
    version: z.number().int().positive(),
    digest: z.string(),
    seq: z.number().int().positive(),
    appliedAt: z.string(),
    storedAt: z.string(),
    signature: z.string(),
    publicKey: z.string(),
  })),
  /** Acks read from the ledger up to `at`. */
  scanned: z.number().int().nonnegative(),
  /** Of those, acks that did not count (unsigned, forged, unenrolled or revoked signer). */
  unverified: z.number().int().nonnegative(),
  /** True when the read stopped at its limit: `hosts` may miss some. */
  truncated: z.boolean(),
});
export type Evidence = z.infer<typeof Evidence>;

/** `GET /v1/configs/{name}/status`. */
export const ConfigStatus = z.object({ config: ConfigName, regions: z.array(RegionStatus) });
export type ConfigStatus = z.infer<typeof ConfigStatus>;

/**
 * One quarantine of an agent: the config it is fenced off (no candidate of it), or null
 * for a record of before quarantine was per config, which fences every config.
 */
export const QuarantineView = QuarantineRecord.pick({ reason: true, rolloutId: true, at: true })
  .extend({ config: ConfigName.nullable() });
export type QuarantineView = z.infer<typeof QuarantineView>;

/** An agent as `GET /v1/agents` shows it. */
export const AgentView = AgentRecord.extend({
  /**
   * Gone: said goodbye, or fell silent (no alive ping nor record for three ping intervals
   * plus 5 s; `agentIsStale`, core/liveness.ts). Status and gates leave it out.
   */
  stale: z.boolean(),
  /** The configs the coordinator quarantined the agent for, by config; empty when none. */
  quarantined: z.array(QuarantineView),
  configs: z.record(
    ConfigName,
    AgentConfigState.extend({
      /** The file on disk does not hash to the applied digest. */
      drift: z.boolean(),
    }),
  ),
});
export type AgentView = z.infer<typeof AgentView>;

/** `GET /v1/agents`. */
export const AgentList = z.object({ agents: z.array(AgentView), next: Next });

/** Optional body (or query) of `POST /v1/agents/{region}/{id}/release`. */
export const ReleaseBody = z.strictObject({
  config: ConfigName.optional().describe(
    "release the agent from this config's quarantine only; default: every config",
  ),
});

/** Response of `POST /v1/agents/{region}/{id}/release`: the quarantines lifted. */
export const ReleaseResult = z.object({
  region: SimpleName,
  agent: SimpleName,
  released: z.array(QuarantineView),
});
export type ReleaseResult = z.infer<typeof ReleaseResult>;

/** Query of `DELETE /v1/agents/{region}/{id}`. */
export const RemoveAgentQuery = z.strictObject({
  force: z.enum(["true", "false"]).optional().transform((v) => v === "true").describe(
    "remove it even though its heartbeat is fresh (it writes it back at its next beat)",
  ),
});

/** Response of `DELETE /v1/agents/{region}/{id}`: what was forgotten. */
export const RemoveResult = z.object({
  region: SimpleName,
  agent: SimpleName,
  /** Whether a heartbeat record was deleted. */
  heartbeat: z.boolean(),
  /** Its last heartbeat, if there was one. */
  heartbeatAt: z.string().nullable(),
  /** The quarantines deleted with it. */
  quarantine: z.array(QuarantineView),
});
export type RemoveResult = z.infer<typeof RemoveResult>;
/** `GET /v1/audit`, newest first. */
export const AuditList = z.object({ events: z.array(AuditEvent), next: Next });
/** `GET /v1/regions`. */
export const RegionList = z.object({ regions: z.array(RegionRecord), next: Next });

/** Names of the built-in strategies (a bare name means the strategy with its defaults). */
export const StrategyName = z.enum(Strategy.options.map((o) => o.shape.name.value));

/** A strategy as the API takes it: unknown fields are refused, not dropped. */
export const StrategyBody = z.discriminatedUnion("name", [
  z.strictObject(Strategy.options[0].shape),
  z.strictObject(Strategy.options[1].shape),
  z.strictObject(Strategy.options[2].shape),
  z.strictObject(Strategy.options[3].shape),
]);

/** A stage as the API takes it: unknown fields (in it and its gates) are refused. */
export const StageBody = z.strictObject({
  ...RolloutStage.shape,
  gates: z.strictObject(Gates.shape).default(Gates.parse({})),
});

/** Gate fields to set on every planned stage; the others keep their defaults. */
export const GatesPatch = z.strictObject({
  maxFailureRatio: z.number().min(0).max(1).exactOptional(),
  minAckedRatio: z.number().min(0).max(1).exactOptional(),
  ackTimeoutSeconds: z.number().positive().exactOptional(),
  metrics: z.array(MetricGate).max(10).exactOptional(),
});

/** Body of `POST /v1/configs/{name}/rollouts`: a strategy or explicit stages, not both. */
export const StartRolloutBody = z.strictObject({
  version: z.number().int().positive(),
  strategy: z.union([
    StrategyBody,
    StrategyName.transform((name) => Strategy.parse({ name })),
  ]).optional().describe('a strategy object, or just its name ("canary") for its defaults'),
  stages: z.array(StageBody).min(1).optional().describe(
    "explicit stages instead of a strategy (each names its regions and gates)",
  ),
  regions: Regions.describe(
    "with a strategy: the regions in rollout order, the first one taking the canary " +
      "(default: every region, in the order they were added)",
  ),
  gates: GatesPatch.optional().describe("with a strategy: gates of every stage"),
  preflight: z.boolean().optional().describe(
    "first a preflight stage: every agent of every region of the rollout fetches and " +
      "verifies the version without installing it (gates: the rollout's, or with stages " +
      "the first stage's)",
  ),
  allowNoCoordinator: z.boolean().optional().describe(
    "start even when a region of the rollout has no live coordinator (it waits there " +
      "until one starts)",
  ),
}).superRefine((body, ctx) => {
  if ((body.strategy === undefined) === (body.stages === undefined)) {
    ctx.addIssue({ code: "custom", message: "give exactly one of strategy or stages" });
  }
  if (body.stages !== undefined) {
    for (const field of ["regions", "gates"] as const) {
      if (body[field] === undefined) continue;
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: `${field} only applies to a strategy: with stages, set it in each stage`,
      });
    }
  }
});
export type StartRolloutBody = z.infer<typeof StartRolloutBody>;

/** Optional body of the rollout actions (pause, resume, abort, promote). */
export const RolloutActionBody = z.strictObject({
  reason: z.string().max(1000).optional().describe("recorded in the transition and audit"),
});

/** Query of `GET /v1/rollouts`. */
export const RolloutsQuery = PageQuery.extend({
  config: ConfigName.optional(),
  state: z.enum(Object.values(RolloutState) as [RolloutState, ...RolloutState[]]).optional(),
});

/** What a region of a running rollout's current stage is waiting for. */
export const RegionWait = z.object({
  region: SimpleName,
  /**
   * coordinator: no live coordinator (or it has not started the stage yet, or, every stage
   * done, has not yet made the version active in the region); acks: targeted
   * agents still to apply (or verify); bake: the gates hold and the bake runs; nothing:
   * nothing to wait for (no agent targeted), it completes at the coordinator's next step.
   */
  for: z.enum(["coordinator", "acks", "bake", "nothing"]),
  /** In words, for `rollout watch`. */
  detail: z.string(),
  /** When it started waiting for this, when known. */
  since: z.string().optional(),
  /** The bake's end. */
  until: z.string().optional(),
});
export type RegionWait = z.infer<typeof RegionWait>;

/** A rollout as the API shows it: the record, and what each unfinished region waits for. */
export const RolloutView = RolloutRecord.extend({
  /** Per region of the current stage not done yet (running rollouts only). */
  waiting: z.array(RegionWait).default([]),
});
export type RolloutView = z.infer<typeof RolloutView>;

/** `GET /v1/rollouts`, newest first. */
export const RolloutList = z.object({ rollouts: z.array(RolloutView), next: Next });

/** Query of `GET /v1/alerts`. */
export const AlertsQuery = PageQuery.extend({
  all: z.enum(["true", "false"]).optional().transform((v) => v === "true").describe(
    "include resolved alerts",
  ),
});

/** `GET /v1/alerts`, newest first. */
export const AlertList = z.object({ alerts: z.array(AlertRecord), next: Next });

/** Optional body of `POST /v1/alerts/{id}/resolve`. */
export const ResolveAlertBody = z.strictObject({
  reason: z.string().max(1000).optional().describe("recorded in the alert and the audit"),
});

/** `GET /healthz`. */
export const Health = z.object({
  ok: z.boolean(),
  nats: z.object({ connected: z.boolean(), server: z.string().optional() }),
});

/** Body of every error response. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
