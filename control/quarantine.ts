/**
 * Quarantined agents: the coordinator quarantines an agent that keeps failing a
 * rollout (a record under `<region>.<agent>` in the quarantine bucket); an operator
 * releases it here once the cause is fixed.
 *
 * @module
 */
import {
  agentKey,
  appendAudit,
  Buckets,
  isSimpleName,
  QuarantineRecord,
  retryTransient,
} from "@atlas/nats";
import { checkRegionName, type ControlContext, readAll, readKv } from "./context.ts";
import { InvalidRequestError, NotFoundError } from "./errors.ts";

/**
 * Quarantine records of `region` (or of every region), by `<region>.<agent>` key.
 *
 * @example
 * ```ts
 * const quarantined = await readQuarantine(ctx, "us-east");
 * quarantined.get("us-east.a1")?.reason;
 * ```
 */
export async function readQuarantine(
  ctx: ControlContext,
  region?: string,
): Promise<Map<string, QuarantineRecord>> {
  const records = await readAll(
    ctx,
    Buckets.quarantine,
    QuarantineRecord,
    region ? `${region}.*` : ">",
  );
  return new Map(records.map((r) => [r.key, r.value]));
}

/**
 * Releases a quarantined agent (deletes its quarantine record) and audits it as
 * `agent.release`; throws {@linkcode NotFoundError} when the agent is not quarantined.
 *
 * @example
 * ```ts
 * const released = await releaseAgent(ctx, "us-east", "a1", "alice");
 * ```
 */
export async function releaseAgent(
  ctx: ControlContext,
  region: string,
  agent: string,
  actor: string,
): Promise<QuarantineRecord> {
  checkRegionName(region);
  if (!isSimpleName(agent)) {
    throw new InvalidRequestError(
      `Invalid agent id ${JSON.stringify(agent)}: use lowercase letters, digits, '_' and '-', ` +
        `starting with a letter or digit`,
    );
  }
  const key = agentKey(region, agent);
  const kv = await ctx.nats.kv(Buckets.quarantine);
  const found = await retryTransient(() => readKv(kv, key, QuarantineRecord), {
    what: `Reading quarantine ${key}`,
  });
  if (!found) {
    throw new NotFoundError(
      `Agent ${agent} in ${region} is not quarantined: GET /v1/agents shows which agents are`,
    );
  }
  await retryTransient(() => kv.delete(key), { what: `Releasing ${key}` });
  await appendAudit(ctx.nats, {
    actor,
    action: "agent.release",
    region,
    details: {
      agent,
      reason: found.value.reason,
      ...(found.value.rolloutId ? { rolloutId: found.value.rolloutId } : {}),
    },
  });
  return found.value;
}
