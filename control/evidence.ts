/**
 * The ack ledger as evidence: which hosts ran version v of a config at time T, proven by
 * acks signed with each host's enrolled key (core/evidence.ts decides, core/ack_signature.ts
 * says which acks count). Unverified acks are counted, never used.
 *
 * @module
 */
import { type JudgedAck, ranVersionAt } from "@atlas/core";
import { readAckLog } from "@atlas/store";
import type { Evidence } from "./api.ts";
import type { ControlContext } from "./context.ts";
import { requireConfig } from "./configs.ts";
import { getVersion } from "./versions.ts";

/**
 * Hosts that ran `version` of `name` at `at` (default now), from verified acks only.
 *
 * @example
 * ```ts
 * const e = await versionEvidence(ctx, "web", 7, { at: "2026-01-01T12:00:00Z" });
 * e.hosts.map((h) => `${h.region}/${h.agent}`);
 * ```
 */
export async function versionEvidence(
  ctx: ControlContext,
  name: string,
  version: number,
  options: { at?: string; region?: string } = {},
): Promise<Evidence> {
  await requireConfig(ctx, name, { cached: true });
  const record = await getVersion(ctx, name, version);
  const at = options.at === undefined ? Date.now() : Date.parse(options.at);
  const [log] = await Promise.all([
    readAckLog(ctx.nats, name, {
      until: at,
      ...(options.region === undefined ? {} : { region: options.region }),
    }),
    ctx.enrolments.ready(),
  ]);
  let unverified = 0;
  const judged: JudgedAck[] = log.acks.map(({ ack, storage }) => {
    const verdict = ctx.enrolments.verdict(ack, storage);
    if (!verdict.counts) unverified++;
    return {
      ack,
      storedAt: storage.storedAt,
      counts: verdict.counts,
      ...(verdict.counts ? { publicKey: verdict.publicKey } : {}),
    };
  });
  return {
    config: name,
    version,
    digest: record.digest,
    at: new Date(at).toISOString(),
    region: options.region ?? null,
    hosts: ranVersionAt(judged, { config: name, version, at }),
    scanned: log.acks.length + log.malformed,
    unverified: unverified + log.malformed,
    truncated: log.truncated,
  };
}
