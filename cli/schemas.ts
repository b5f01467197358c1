/**
 * The API responses as the CLI reads them: only the fields it shows or uses, each object
 * loose (unknown fields pass through, so `--json` prints everything the API said and a
 * newer control plane that adds fields does not break an older CLI). The CLI imports no
 * server code: these describe the wire, not the server's types.
 *
 * @module
 */
import { z } from "zod";
import { isFinal as isFinalState, RolloutState } from "@atlas/core";
import type { paths } from "./api.gen.ts";

/**
 * A rollout's states and which of them are final: the rule lives in `@atlas/core` (pure,
 * no server code), read here so the CLI cannot drift from it. `isFinal` takes any string,
 * as a newer control plane may answer a state this CLI does not know (not final).
 */
export { RolloutState } from "@atlas/core";
export function isFinal(state: string): boolean {
  return (Object.values(RolloutState) as string[]).includes(state) &&
    isFinalState(state as RolloutState);
}

/** A config (`GET /v1/configs`, `PUT /v1/configs/{name}`). */
export const ConfigRecord = z.looseObject({
  name: z.string(),
  description: z.string().default(""),
  contentType: z.string(),
  schema: z.record(z.string(), z.unknown()).optional(),
  latestVersion: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ConfigRecord = z.infer<typeof ConfigRecord>;

/** A version's metadata. */
export const VersionRecord = z.looseObject({
  config: z.string(),
  version: z.number().int().positive(),
  digest: z.string(),
  size: z.number().int().nonnegative(),
  contentType: z.string(),
  author: z.string(),
  message: z.string(),
  createdAt: z.string(),
});
export type VersionRecord = z.infer<typeof VersionRecord>;

/** A region (`GET /v1/regions`, `PUT /v1/regions/{name}`). */
export const RegionRecord = z.looseObject({
  name: z.string(),
  cluster: z.string().optional(),
  createdAt: z.string(),
});

/** The keys agents trust (`GET /v1/keys`). */
export const TrustedKeysFile = z.looseObject({
  keys: z.array(z.looseObject({ keyId: z.string() })),
});

/** One key of a key set. */
const KeySetEntry = z.looseObject({ keyId: z.string(), status: z.string(), since: z.string() });

/** The signed key set (`GET /v1/keys/set`). */
export const KeySet = z.looseObject({
  seq: z.number(),
  signing: z.string(),
  keys: z.array(KeySetEntry),
});
export type KeySet = z.infer<typeof KeySet>;

/** Answer of `POST /v1/keys/rotate`. */
export const RotateResult = z.looseObject({ keyId: z.string(), file: z.string(), keySet: KeySet });

/** Answer of `POST /v1/keys/{keyId}/retire` and `/revoke`. */
export const EndKeyResult = z.looseObject({
  keySet: KeySet,
  resigned: z.object({ versions: z.number(), pointers: z.number() }),
});

/** An audit event. */
export const AuditEvent = z.looseObject({
  at: z.string(),
  actor: z.string(),
  /** The id of the API token that acted, when one did. */
  actorId: z.string().optional(),
  action: z.string(),
  config: z.string().optional(),
  region: z.string().optional(),
  version: z.number().optional(),
});

/** An alert. */
export const AlertRecord = z.looseObject({
  id: z.string(),
  kind: z.string(),
  region: z.string(),
  config: z.string().optional(),
  rolloutId: z.string().optional(),
  message: z.string(),
  at: z.string(),
  resolvedAt: z.string().optional(),
});

/** One quarantine of an agent (config null: every config). */
export const QuarantineView = z.looseObject({
  config: z.string().nullable(),
  reason: z.string(),
  at: z.string(),
});
export type QuarantineView = z.infer<typeof QuarantineView>;

/** An agent as `GET /v1/agents` shows it. */
export const AgentView = z.looseObject({
  id: z.string(),
  region: z.string(),
  heartbeatAt: z.string(),
  leftAt: z.string().optional(),
  stale: z.boolean(),
  quarantined: z.array(QuarantineView),
  configs: z.record(
    z.string(),
    z.looseObject({
      applied: z.looseObject({ version: z.number() }).nullable(),
      drift: z.boolean(),
    }),
  ),
});

/** `GET /v1/configs`. */
export const ConfigList = z.looseObject({ configs: z.array(ConfigRecord) });
/** `GET /v1/configs/{name}/versions`. */
export const VersionList = z.looseObject({ versions: z.array(VersionRecord) });
/** `GET /v1/agents`. */
export const AgentList = z.looseObject({ agents: z.array(AgentView) });
/** `GET /v1/audit`. */
export const AuditList = z.looseObject({ events: z.array(AuditEvent) });
/** `GET /v1/regions`. */
export const RegionList = z.looseObject({ regions: z.array(RegionRecord) });
/** `GET /v1/alerts`. */
export const AlertList = z.looseObject({ alerts: z.array(AlertRecord) });

/** Response of activate and rollback. */
export const MoveResult = z.looseObject({
  config: z.string(),
  version: z.number(),
  regions: z.array(z.looseObject({
    region: z.string(),
    seq: z.number(),
    version: z.number(),
    previousVersion: z.number().nullable(),
    changed: z.boolean(),
  })),
  deferred: z.array(z.looseObject({
    region: z.string(),
    rolloutId: z.string(),
    reason: z.string(),
  })).default([]),
});
export type MoveResult = z.infer<typeof MoveResult>;

/** `GET /v1/configs/{name}/status`. */
export const ConfigStatus = z.looseObject({
  config: z.string(),
  regions: z.array(z.looseObject({
    region: z.string(),
    pointer: z.looseObject({
      version: z.number(),
      seq: z.number(),
      issuedAt: z.string().optional(),
      history: z.array(z.number()),
    }).nullable(),
    agents: z.looseObject({
      total: z.number(),
      onActive: z.array(z.string()),
      onOther: z.array(z.looseObject({ agent: z.string(), version: z.number().nullable() })),
      rejects: z.array(z.looseObject({
        agent: z.string(),
        version: z.number(),
        status: z.string(),
        reason: z.string(),
      })),
      gone: z.array(z.string()).default([]),
      unverified: z.array(z.looseObject({ agent: z.string(), reason: z.string() })).default([]),
    }),
    propagation: z.looseObject({
      acked: z.number(),
      p50Ms: z.number(),
      p95Ms: z.number(),
      p99Ms: z.number(),
      maxMs: z.number(),
      skewMs: z.number(),
    }).nullable().optional(),
  })),
});
export type ConfigStatus = z.infer<typeof ConfigStatus>;

/** Response of `POST /v1/agents/{region}/{id}/release`. */
export const ReleaseResult = z.looseObject({ released: z.array(QuarantineView) });

/** Response of `DELETE /v1/agents/{region}/{id}`. */
export const RemoveResult = z.looseObject({
  heartbeat: z.boolean(),
  heartbeatAt: z.string().nullable(),
  quarantine: z.array(QuarantineView),
});

/** Strategies of `rollout start`. */
export const StrategyName = z.enum(["canary", "linear", "exponential", "immediate"]);

/** What a region of a running rollout's current stage waits for. */
export const RegionWait = z.looseObject({
  region: z.string(),
  for: z.string(),
  detail: z.string(),
});
export type RegionWait = z.infer<typeof RegionWait>;

/** Per-region counts of a rollout's current stage. */
const RegionProgress = z.looseObject({
  targeted: z.number(),
  applied: z.number(),
  rejected: z.number(),
  failed: z.number(),
  pending: z.number(),
  verified: z.number().default(0),
  doneStage: z.number().default(-1),
});

/** A rollout as the API shows it. */
export const RolloutView = z.looseObject({
  id: z.string(),
  config: z.string(),
  version: z.number(),
  stages: z.array(z.looseObject({
    regions: z.array(z.string()),
    percent: z.number(),
    bakeSeconds: z.number(),
    preflight: z.boolean().optional(),
    gates: z.looseObject({
      maxFailureRatio: z.number(),
      minAckedRatio: z.number(),
      ackTimeoutSeconds: z.number(),
      metrics: z.array(z.looseObject({
        query: z.string(),
        max: z.number().optional(),
        min: z.number().optional(),
        forSeconds: z.number().optional(),
      })).optional(),
    }),
  })),
  state: z.string(),
  stage: z.number(),
  regions: z.record(z.string(), RegionProgress),
  skipBakeStage: z.number().optional(),
  transitions: z.array(z.looseObject({
    at: z.string(),
    from: z.string(),
    to: z.string(),
    stage: z.number(),
    reason: z.string(),
    by: z.string(),
  })),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  waiting: z.array(RegionWait).default([]),
});
export type RolloutView = z.infer<typeof RolloutView>;

/** `GET /v1/rollouts`. */
export const RolloutList = z.looseObject({ rollouts: z.array(RolloutView) });

/** Body of every API error. */
export const ErrorBody = z.object({
  error: z.looseObject({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** One issue of an error's details (a JSON pointer and what is wrong there). */
export interface Issue {
  path: string;
  message: string;
}

/** The JSON body of a response to `method path` with `status`, as the API document says. */
type Answer<P extends keyof paths, M extends string, S extends number> = NonNullable<
  paths[P][M & keyof paths[P]]
> extends { responses: { [K in S]: { content: { "application/json": infer B } } } } ? B
  : never;

/** True when every body the API may send satisfies what the CLI reads (never: false). */
type Reads<Wire, Cli> = [Wire] extends [never] ? false : [Wire] extends [Cli] ? true : false;

/**
 * Type-level agreement of the schemas above with the generated `api.gen.ts`: when a route
 * changes what it answers so that the CLI would misread it, `deno check` fails here.
 */
const _AGREES: [
  Reads<Answer<"/v1/configs", "get", 200>, z.input<typeof ConfigList>>,
  Reads<Answer<"/v1/configs/{name}", "get", 200>, z.input<typeof ConfigRecord>>,
  Reads<Answer<"/v1/configs/{name}/versions", "get", 200>, z.input<typeof VersionList>>,
  Reads<Answer<"/v1/configs/{name}/versions", "post", 201>, z.input<typeof VersionRecord>>,
  Reads<Answer<"/v1/configs/{name}/activate", "post", 200>, z.input<typeof MoveResult>>,
  Reads<Answer<"/v1/configs/{name}/rollback", "post", 200>, z.input<typeof MoveResult>>,
  Reads<Answer<"/v1/configs/{name}/status", "get", 200>, z.input<typeof ConfigStatus>>,
  Reads<Answer<"/v1/agents", "get", 200>, z.input<typeof AgentList>>,
  Reads<Answer<"/v1/agents/{region}/{id}/release", "post", 200>, z.input<typeof ReleaseResult>>,
  Reads<Answer<"/v1/agents/{region}/{id}", "delete", 200>, z.input<typeof RemoveResult>>,
  Reads<Answer<"/v1/audit", "get", 200>, z.input<typeof AuditList>>,
  Reads<Answer<"/v1/keys", "get", 200>, z.input<typeof TrustedKeysFile>>,
  Reads<Answer<"/v1/regions", "get", 200>, z.input<typeof RegionList>>,
  Reads<Answer<"/v1/regions/{name}", "put", 200>, z.input<typeof RegionRecord>>,
  Reads<Answer<"/v1/rollouts", "get", 200>, z.input<typeof RolloutList>>,
  Reads<Answer<"/v1/rollouts/{id}", "get", 200>, z.input<typeof RolloutView>>,
  Reads<Answer<"/v1/configs/{name}/rollouts", "post", 201>, z.input<typeof RolloutView>>,
  Reads<Answer<"/v1/alerts", "get", 200>, z.input<typeof AlertList>>,
  Reads<Answer<"/v1/alerts/{id}/resolve", "post", 200>, z.input<typeof AlertRecord>>,
] = [
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
];
void _AGREES;
