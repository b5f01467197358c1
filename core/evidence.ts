/**
 * The ack ledger as evidence: which hosts ran version v of a config at time T.
 *
 * A host ran v at T when its newest counting `applied` ack for the config (signed by its
 * enrolled key, core/ack_signature.ts) stored at or before T is for v. The stream's store
 * time decides "before T", never the agent's own clock. Evidence says what the host signed
 * it applied and that it signed no other apply since; a host that stopped at T without a
 * goodbye still counts (the ledger cannot see a host die). Rejected, failed and preflight
 * (`verified`) acks leave the running version as it was.
 *
 * @module
 */
import type { AckRecord } from "./schemas.ts";

/** One host's proof of running a version. */
export interface EvidenceEntry {
  region: string;
  agent: string;
  version: number;
  digest: string;
  seq: number;
  /** When the agent says it applied it (`ack.at`). */
  appliedAt: string;
  /** When the acks stream stored that ack (server time), ISO-8601. */
  storedAt: string;
  /** The ack's signature, base64url, checkable against `publicKey`. */
  signature: string;
  publicKey: string;
}

/** One stored ack with its verdict and the key it was checked against. */
export interface JudgedAck {
  ack: AckRecord;
  storedAt: number;
  counts: boolean;
  /** The enrolled key the signature verified with (when it counts). */
  publicKey?: string;
}

/**
 * Hosts that ran `version` at `at` (ms), from acks in stored order, sorted by region and
 * agent.
 *
 * @example
 * ```ts
 * ranVersionAt(judged, { config: "web", version: 7, at: Date.parse("2026-01-01T12:00:00Z") });
 * ```
 */
export function ranVersionAt(
  acks: Iterable<JudgedAck>,
  query: { config: string; version: number; at: number },
): EvidenceEntry[] {
  const last = new Map<string, JudgedAck>();
  for (const j of acks) {
    const { ack } = j;
    if (!j.counts || ack.config !== query.config || ack.status !== "applied") continue;
    if (j.storedAt > query.at) continue;
    const key = `${ack.region}.${ack.agent}`;
    const known = last.get(key);
    if (!known || known.storedAt <= j.storedAt) last.set(key, j);
  }
  const out: EvidenceEntry[] = [];
  for (const { ack, storedAt, publicKey } of last.values()) {
    if (ack.version !== query.version) continue;
    out.push({
      region: ack.region,
      agent: ack.agent,
      version: ack.version,
      digest: ack.digest,
      seq: ack.seq,
      appliedAt: ack.at,
      storedAt: new Date(storedAt).toISOString(),
      signature: ack.signature ?? "",
      publicKey: publicKey ?? "",
    });
  }
  return out.sort((a, b) => a.region.localeCompare(b.region) || a.agent.localeCompare(b.agent));
}
