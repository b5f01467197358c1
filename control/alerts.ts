/**
 * Alerts the coordinators raise (stalled or rolled-back rollouts, failure clusters,
 * drift), read from the alerts bucket, and resolved by an operator. Rollback and stall
 * alerts stay open until then, or until a later rollout of the config succeeds in the
 * region.
 *
 * @module
 */
import { AlertRecord, Buckets } from "@atlas/core";
import { appendAudit, resolveAlert } from "@atlas/store";
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

/**
 * Resolves an open alert as `actor` (sets `resolvedAt`, `resolvedBy`, `resolution`) and
 * audits `alert.resolve`. Unknown: `AlertNotFoundError` (404); closed already:
 * `AlertResolvedError` (409).
 *
 * @example
 * ```ts
 * await resolveAlertAs(ctx, "rollback-r-20260102030405-k3x9qa", "alice", "template fixed");
 * ```
 */
export async function resolveAlertAs(
  ctx: ControlContext,
  id: string,
  actor: string,
  reason?: string,
): Promise<AlertRecord> {
  const resolution = reason ?? `resolved by ${actor}`;
  const alert = await resolveAlert(ctx.nats, id, resolution, { by: actor });
  await appendAudit(ctx.nats, {
    actor,
    action: "alert.resolve",
    region: alert.region,
    ...(alert.config !== undefined ? { config: alert.config } : {}),
    details: {
      alertId: id,
      kind: alert.kind,
      reason: resolution,
      ...(alert.rolloutId ? { rolloutId: alert.rolloutId } : {}),
    },
  });
  return alert;
}
