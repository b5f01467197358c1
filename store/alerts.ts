/**
 * Closing alerts. `rolled_back` and `stalled` alerts stay open until their cause is gone:
 * a later rollout of the same config succeeds in that region
 * ({@linkcode resolveRolloutAlerts}, called by the coordinator), or an operator resolves
 * one ({@linkcode resolveAlert}). Nothing else closes them; the fleet scan closes only the
 * drift and failure-cluster alerts it raises.
 *
 * @module
 */
import type { AtlasNats } from "./connect.ts";
import { AlertKind, AlertRecord, AtlasError, AtlasErrorCode, Buckets } from "@atlas/core";
import { listKeys } from "./compat/list_keys.ts";
import { retryTransient } from "./retry.ts";
import { casUpdate } from "./kv_cas.ts";

/** Raised by {@linkcode resolveAlert} when there is no alert of that id. */
export class AlertNotFoundError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.notFound });
    this.name = "AlertNotFoundError";
  }
}

/** Raised by {@linkcode resolveAlert} when the alert is resolved already. */
export class AlertResolvedError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.conflict });
    this.name = "AlertResolvedError";
  }
}

/** Options of {@linkcode resolveAlert} and {@linkcode resolveRolloutAlerts}. */
export interface ResolveOptions {
  /** Who resolves it (an operator's name, `coordinator/<region>`). @default "atlas" */
  by?: string;
  /** When. @default new Date() */
  at?: Date;
}

const ATTEMPTS = 8;

/** Sets resolvedAt/resolvedBy/resolution on one alert by compare-and-set; null if already closed. */
async function _resolve(
  nats: AtlasNats,
  id: string,
  reason: string,
  options: ResolveOptions,
  accept: (alert: AlertRecord) => boolean = () => true,
): Promise<AlertRecord | null | undefined> {
  const kv = await nats.kv(Buckets.alerts);
  const result = await casUpdate(kv, id, AlertRecord, (current) => {
    if (current === null || current.resolvedAt !== undefined || !accept(current)) return null;
    return AlertRecord.parse({
      ...current,
      resolvedAt: (options.at ?? new Date()).toISOString(),
      resolvedBy: options.by ?? "atlas",
      resolution: reason,
    });
  }, { attempts: ATTEMPTS, what: `alert ${id}` });
  if (result.written) return result.value;
  return result.current === null ? undefined : null; // absent, or closed already
}

/**
 * Resolves one alert (an operator's `atlas alerts resolve <id>`), recording when, by whom
 * and why. Throws {@linkcode AlertNotFoundError} when there is no such alert and
 * {@linkcode AlertResolvedError} when it is closed already.
 *
 * @example
 * ```ts
 * await resolveAlert(nats, "rollback-r-20260102030405-k3x9qa", "fixed the template", {
 *   by: "alice",
 * });
 * ```
 */
export async function resolveAlert(
  nats: AtlasNats,
  id: string,
  reason: string,
  options: ResolveOptions = {},
): Promise<AlertRecord> {
  const resolved = await _resolve(nats, id, reason, options);
  if (resolved) return resolved;
  if (resolved === undefined) {
    throw new AlertNotFoundError(
      `Alert ${JSON.stringify(id)} does not exist: list alerts with GET /v1/alerts?all=true ` +
        "(`deno task atlas alerts --all`)",
    );
  }
  const kv = await nats.kv(Buckets.alerts);
  const current = AlertRecord.parse((await kv.get(id))!.json());
  throw new AlertResolvedError(
    `Alert ${id} was resolved already, at ${current.resolvedAt}` +
      `${current.resolvedBy ? ` by ${current.resolvedBy}` : ""}: nothing to do`,
  );
}

/**
 * Resolves the open `rolled_back` and `stalled` alerts of `config` in `region`: their
 * cause is gone because a later rollout of the config succeeded there. The coordinator
 * calls it when a rollout ends `succeeded` in its region. Returns the ids resolved.
 *
 * @example
 * ```ts
 * await resolveRolloutAlerts(nats, "us-east", "web", `rollout ${id} succeeded in us-east`, {
 *   by: "coordinator/us-east",
 * });
 * ```
 */
export async function resolveRolloutAlerts(
  nats: AtlasNats,
  region: string,
  config: string,
  reason: string,
  options: ResolveOptions = {},
): Promise<string[]> {
  const kinds: string[] = [AlertKind.rolledBack, AlertKind.stalled];
  const kv = await nats.kv(Buckets.alerts);
  const resolved: string[] = [];
  for (const id of await listKeys(nats, Buckets.alerts)) {
    const entry = await retryTransient(() => kv.get(id), { what: `Reading alert ${id}` });
    if (!entry || entry.operation !== "PUT") continue;
    const alert = AlertRecord.safeParse(entry.json());
    if (!alert.success || !_matches(alert.data, region, config, kinds)) continue;
    const done = await _resolve(
      nats,
      id,
      reason,
      options,
      (a) => _matches(a, region, config, kinds),
    );
    if (done) resolved.push(id);
  }
  return resolved;
}

function _matches(alert: AlertRecord, region: string, config: string, kinds: string[]): boolean {
  return alert.resolvedAt === undefined && alert.region === region && alert.config === config &&
    kinds.includes(alert.kind);
}
