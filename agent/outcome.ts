/**
 * Recording the outcome of processing a pointer: the ack it earns and the state it leaves.
 *
 * Invariants: the ack and the state change are persisted in one atomic write, before the
 * ack is sent; a refusal already recorded for the same seq, version and status is not
 * recorded twice; a refusal of an unverified pointer does not advance `maxSeq`, so a
 * genuine pointer of that seq is still taken.
 *
 * @module
 */
import type { AckRecord, PointerRecord, VersionRecord } from "@atlas/core";
import { type Logger, logInfo } from "@atlas/store";
import type { ApplyOutcome } from "./apply.ts";
import type { AgentConfig } from "./config.ts";
import type { AckOutbox } from "./outbox.ts";
import type { ConfigState } from "./state.ts";
import type { AgentStats } from "./stats.ts";

/** What recording an outcome touches. */
export interface OutcomeDeps {
  outbox: AckOutbox;
  stats: AgentStats;
  log: Logger;
  /** The (mutable) persisted state of a config. */
  stateOf: (config: string) => ConfigState;
  /** Persists the state, with the acks still waiting. */
  save: () => void;
  /** After an outcome was recorded: send the ack (and a record, for a healed drift). */
  acked: () => void;
  /** Sees every ack recorded and how long the apply took (the metrics). */
  observe?: ((ack: AckRecord, elapsedMs: number) => void) | undefined;
}

/** One outcome of processing a pointer. */
export interface Outcome {
  pointer: PointerRecord;
  /** The version the pointer meant for this agent (the candidate, for a preflight). */
  target: VersionRecord;
  /** Why it was not applied (or verified); undefined on success. */
  outcome: ApplyOutcome | undefined;
  elapsedMs: number;
  /** A preflight: verified, not installed. */
  preflight: boolean;
}

/**
 * Records `o`: the ack and the state in one atomic write, then sends the ack.
 *
 * @example
 * ```ts
 * recordOutcome({ ...deps, config }, {
 *   pointer, target, outcome: undefined, elapsedMs: 12, preflight: false,
 * });
 * ```
 */
export function recordOutcome(ctx: OutcomeDeps & { config: AgentConfig }, o: Outcome): void {
  const { pointer, target, outcome } = o;
  const config = pointer.config;
  const st = ctx.stateOf(config);
  const status = outcome?.status ?? (o.preflight ? "verified" : "applied");
  const at = new Date().toISOString();
  const ack: AckRecord = {
    agent: ctx.config.id,
    region: ctx.config.region,
    config,
    version: target.version,
    digest: target.digest,
    seq: pointer.seq,
    status,
    ...(outcome ? { reason: outcome.message } : {}),
    ...(outcome && !outcome.pointerVerified ? { refusal: "untrusted" as const } : {}),
    ...(pointer.candidate && target === pointer.candidate.version
      ? { rolloutId: pointer.candidate.rolloutId }
      : {}),
    latencyMs: Math.max(0, Date.now() - Date.parse(pointer.issuedAt)),
    at,
  };
  if (
    st.lastAck && st.lastAck.seq === ack.seq && st.lastAck.version === ack.version &&
    st.lastAck.status === status && status !== "applied"
  ) return;
  ctx.outbox.add(ack);
  ctx.observe?.(ack, o.elapsedMs);
  if (outcome?.pointerVerified ?? true) st.maxSeq = Math.max(st.maxSeq, pointer.seq);
  st.lastAck = {
    version: ack.version,
    seq: ack.seq,
    status,
    ...(outcome ? { reason: outcome.message } : {}),
    ...(ack.refusal ? { refusal: ack.refusal } : {}),
    at,
  };
  if (o.preflight && !outcome) {
    ctx.log.info("verified a preflight candidate (not installed)", {
      config,
      version: target.version,
      seq: pointer.seq,
      ms: o.elapsedMs.toFixed(1),
    });
  } else if (!outcome) {
    st.applied = {
      version: target.version,
      digest: target.digest,
      seq: pointer.seq,
      appliedAt: at,
      contentType: target.contentType,
    };
    st.diskDigest = target.digest;
    ctx.stats.applies++;
    // One line per apply, written past LogTape's record machinery (store/log.ts, logInfo:
    // a fifth of logger.info's time, measured); below the level it costs a comparison.
    logInfo(ctx.log, "applied", {
      config,
      version: target.version,
      seq: pointer.seq,
      ms: o.elapsedMs.toFixed(1),
    });
  } else {
    if (status === "rejected") ctx.stats.rejects++;
    else ctx.stats.failures++;
    ctx.log.warn(`${status}; keeping the last good file`, {
      config,
      version: target.version,
      reason: outcome.message,
    });
  }
  ctx.save();
  ctx.acked();
}
