/**
 * Quarantined agents: the coordinator fences an agent that keeps failing a rollout off
 * that config (a record under `<region>.<agent>.<config>` in the quarantine bucket); an
 * operator releases it here, from one config or from all, once the cause is fixed. A
 * record of before quarantine was per config (`<region>.<agent>`) fences every config.
 *
 * @module
 */
import { audited, type IntentResolver, readKv, retryTransient } from "@atlas/store";
import {
  Buckets,
  isSimpleName,
  parseQuarantineKey,
  quarantineKey,
  QuarantineRecord,
} from "@atlas/core";
import type { QuarantineView, ReleaseResult } from "./api.ts";
import { checkConfigName, checkRegionName, type ControlContext, readAll } from "./context.ts";
import { InvalidRequestError, NotFoundError } from "./errors.ts";

/** One quarantine record with its key. */
export interface Quarantine {
  key: string;
  region: string;
  agent: string;
  /** The config it fences the agent off, or undefined for every config (legacy key). */
  config: string | undefined;
  record: QuarantineRecord;
}

/** Throws {@linkcode InvalidRequestError} unless `id` is a valid agent id. */
export function checkAgentId(id: string): string {
  if (!isSimpleName(id)) {
    throw new InvalidRequestError(
      `Invalid agent id ${JSON.stringify(id)}: use lowercase letters, digits, '_' and '-', ` +
        `starting with a letter or digit`,
    );
  }
  return id;
}

/**
 * Quarantine records of `region` (or of every region), optionally of one agent; keys that
 * are not quarantine keys are left out.
 *
 * @example
 * ```ts
 * const quarantined = await readQuarantine(ctx, "us-east");
 * quarantined.filter((q) => q.agent === "a1").map((q) => q.config);
 * ```
 */
export async function readQuarantine(
  ctx: ControlContext,
  region?: string,
  agent?: string,
): Promise<Quarantine[]> {
  // `<region>.>` matches both the per-config keys and the two-token keys of before.
  const filter = region ? (agent ? `${region}.${agent}.>` : `${region}.>`) : ">";
  const records = await readAll(ctx, Buckets.quarantine, QuarantineRecord, filter);
  if (region && agent) {
    records.push(...await readAll(ctx, Buckets.quarantine, QuarantineRecord, `${region}.${agent}`));
  }
  return records.flatMap(({ key, value }) => {
    const parsed = parseQuarantineKey(key);
    if (!parsed) return [];
    return [{ key, ...parsed, record: value }];
  }).sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * A quarantine as the API shows it (`config` null: every config).
 *
 * @example
 * ```ts
 * (await readQuarantine(ctx, "us-east")).map(quarantineView);
 * ```
 */
export function quarantineView(q: Quarantine): QuarantineView {
  return {
    config: q.config ?? null,
    reason: q.record.reason,
    ...(q.record.rolloutId !== undefined ? { rolloutId: q.record.rolloutId } : {}),
    at: q.record.at,
  };
}

/**
 * Releases a quarantined agent from `options.config`, or from every config when it is
 * absent: deletes the matching quarantine records and audits `agent.release` with the
 * configs. A record of before quarantine was per config fences every config, so it is
 * released either way. Throws {@linkcode NotFoundError} when nothing matches.
 *
 * @example
 * ```ts
 * const { released } = await releaseAgent(ctx, "us-east", "a1", "alice", { config: "web" });
 * ```
 */
export async function releaseAgent(
  ctx: ControlContext,
  region: string,
  agent: string,
  actor: string,
  options: { config?: string | undefined } = {},
): Promise<ReleaseResult> {
  checkRegionName(region);
  checkAgentId(agent);
  const config = options.config === undefined ? undefined : checkConfigName(options.config);
  const all = await readQuarantine(ctx, region, agent);
  const matching = all.filter((q) =>
    config === undefined || q.config === undefined || q.config === config
  );
  if (matching.length === 0) {
    throw new NotFoundError(
      all.length === 0
        ? `Agent ${agent} in ${region} is not quarantined: GET /v1/agents shows which agents are`
        : `Agent ${agent} in ${region} is not quarantined for ${config} (it is for ` +
          `${all.map((q) => q.config ?? "every config").join(", ")}): name one of those, or ` +
          `leave the config out to release it from all`,
    );
  }
  const kv = await ctx.nats.kv(Buckets.quarantine);
  const released = matching.map(quarantineView);
  const event = {
    actor,
    action: "agent.release",
    region,
    ...(config !== undefined ? { config } : {}),
    details: {
      agent,
      // "*": a record of before quarantine was per config, which fenced every config.
      configs: released.map((q) => q.config ?? "*"),
      reasons: released.map((q) => q.reason),
      rolloutIds: [...new Set(released.flatMap((q) => q.rolloutId ? [q.rolloutId] : []))],
      keys: matching.map((q) => q.key),
    },
  };
  await audited(ctx.nats, event, async () => {
    for (const q of matching) {
      await retryTransient(() => kv.delete(q.key), { what: `Releasing ${q.key}` });
    }
  });
  return { region, agent, released };
}

/**
 * Resolves an `agent.release` intent left by a crash: it happened when a quarantine key
 * it names is gone (deleted by the release).
 */
export function resolveReleaseIntent(ctx: ControlContext): IntentResolver {
  return async (intent) => {
    const keys = intent.event.details["keys"];
    if (!Array.isArray(keys)) return { happened: false, reason: "the intent names no keys" };
    const kv = await ctx.nats.kv(Buckets.quarantine);
    const left = [];
    for (const key of keys.map(String)) {
      const entry = await retryTransient(() => kv.get(key), { what: `Reading ${key}` });
      if (entry?.operation === "PUT") left.push(key);
    }
    if (left.length === keys.length) {
      return { happened: false, reason: "every quarantine record it names is still there" };
    }
    // Partly done: recorded with the keys still there (nothing is deleted on a dead
    // writer's behalf; a coordinator may have quarantined the agent again since).
    const details = left.length ? { ...intent.event.details, notReleased: left } : {};
    return {
      happened: true,
      event: { ...intent.event, details: { ...intent.event.details, ...details } },
    };
  };
}

/**
 * Resolves an `agent.quarantine` intent a coordinator left by dying: it happened when the
 * agent's quarantine record for the config names the intent's rollout.
 */
export function resolveQuarantineIntent(ctx: ControlContext): IntentResolver {
  return async (intent) => {
    const { region, config } = intent.event;
    const agent = intent.event.details["agent"];
    if (region === undefined || config === undefined || typeof agent !== "string") {
      return { happened: false, reason: "the intent does not name a region, agent and config" };
    }
    const kv = await ctx.nats.kv(Buckets.quarantine);
    const key = quarantineKey(region, agent, config);
    const found = await retryTransient(() => readKv(kv, key, QuarantineRecord), {
      what: `Reading ${key}`,
    });
    return found && found.value.rolloutId === intent.event.details["rolloutId"]
      ? { happened: true, event: intent.event }
      : { happened: false, reason: `${key} does not hold this quarantine` };
  };
}
