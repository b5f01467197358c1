/**
 * Rollout records in NATS beyond their compare-and-set updates (rollout_update.ts): the
 * config's active-rollout key.
 *
 * @module
 */
import { ActiveRollout, activeRolloutKey, Buckets } from "@atlas/core";
import type { AtlasNats } from "./connect.ts";
import { isCasConflict, retryTransient } from "./retry.ts";

/**
 * Deletes the config's active key if it still names `rolloutId` (compare-and-set on its
 * revision): a rollout that ended must not release the key a newer rollout already took.
 */
export async function releaseActiveRollout(
  nats: AtlasNats,
  config: string,
  rolloutId: string,
): Promise<void> {
  const kv = await nats.kv(Buckets.rollouts);
  const key = activeRolloutKey(config);
  const entry = await retryTransient(() => kv.get(key), { what: `Reading ${key}` });
  if (!entry || entry.operation !== "PUT") return;
  const held = ActiveRollout.safeParse(entry.json());
  if (!held.success || held.data.rolloutId !== rolloutId) return;
  await retryTransient(() => kv.delete(key, { previousSeq: entry.revision }), {
    what: `Releasing ${key}`,
  }).catch((e) => {
    if (!isCasConflict(e)) throw e;
  });
}
