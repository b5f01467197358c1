/**
 * Alerts the coordinators raise (stalled or rolled-back rollouts, failure clusters,
 * drift), read from the alerts bucket.
 *
 * @module
 */
import { AlertRecord, Buckets } from "@atlas/nats";
import { type ControlContext, readAll } from "./context.ts";

/**
 * Open alerts (no `resolvedAt`), or with `all` every alert, newest first.
 *
 * @example
 * ```ts
 * const open = await listAlerts(ctx);
 * ```
 */
export async function listAlerts(
  ctx: ControlContext,
  options: { all?: boolean } = {},
): Promise<AlertRecord[]> {
  const records = await readAll(ctx, Buckets.alerts, AlertRecord);
  return records.map((r) => r.value)
    .filter((a) => options.all || a.resolvedAt === undefined)
    .sort((a, b) => b.at.localeCompare(a.at) || b.id.localeCompare(a.id));
}
