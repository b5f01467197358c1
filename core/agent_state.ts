/**
 * What an agent holds now, from its record and its newest verified ack. An agent writes its
 * record (core/schemas.ts `AgentRecord`) at start, on a healed drift, on leaving and as a
 * slow keep-alive, not after each apply: its signed ack says what it applied, and a record
 * write per apply was nats-server's largest cost per apply (bench, 10 000 agents). So every
 * view of "what runs where" takes the newer of the two, by pointer seq, with this rule.
 *
 * Invariant: only an ack the caller has verified may be passed in (an unverified one would
 * let anybody who can publish an ack rewrite the fleet view); an older ack never overrides
 * a newer record (one whose own last ack is at that seq or later), and only an `applied`
 * ack moves `applied`.
 *
 * @module
 */
import type { AckRecord, AgentConfigState, AgentRecord } from "./schemas.ts";

/**
 * `state` brought up to `ack` (verified by the caller) when the ack is newer: its last ack,
 * and for an `applied` ack the applied version and the digest on disk.
 *
 * @example
 * ```ts
 * withAck(record.configs.web, lastVerifiedAck).applied?.version;
 * ```
 */
export function withAck(
  state: AgentConfigState,
  ack: AckRecord | undefined | null,
): AgentConfigState {
  if (!ackIsNewer(state, ack)) return state;
  const next: AgentConfigState = {
    ...state,
    lastAck: {
      version: ack.version,
      seq: ack.seq,
      status: ack.status,
      at: ack.at,
      ...(ack.reason !== undefined ? { reason: ack.reason } : {}),
      ...(ack.refusal !== undefined ? { refusal: ack.refusal } : {}),
    },
  };
  if (!ackMovesApplied(state, ack)) return next;
  return {
    ...next,
    applied: {
      version: ack.version,
      digest: ack.digest,
      seq: ack.seq,
      appliedAt: ack.at,
      ...(state.applied?.digest === ack.digest && state.applied.contentType
        ? { contentType: state.applied.contentType }
        : {}),
    },
    // The bytes the agent had just written; a later hand edit comes as a heal event.
    diskDigest: ack.digest,
  };
}

/**
 * Whether `ack` is newer than `state`: the record is as new as the ack when it already
 * carries an ack at that seq or later.
 */
export function ackIsNewer(
  state: AgentConfigState,
  ack: AckRecord | undefined | null,
): ack is AckRecord {
  return !!ack && !(state.lastAck && state.lastAck.seq >= ack.seq);
}

/**
 * Whether `ack` changes what `state` says is applied: a newer `applied` ack past the
 * applied seq. Judges that need only the version use this and allocate nothing.
 *
 * @example
 * ```ts
 * const version = ackMovesApplied(st, ack) ? ack.version : st.applied?.version;
 * ```
 */
export function ackMovesApplied(
  state: AgentConfigState,
  ack: AckRecord | undefined | null,
): ack is AckRecord {
  return ackIsNewer(state, ack) && ack.status === "applied" &&
    ack.seq > (state.applied?.seq ?? 0);
}

/**
 * `agent` with each managed config brought up to its newest verified ack (`ackOf`).
 *
 * @example
 * ```ts
 * withAcks(record, (config) => acks.get(`${config}/${record.id}`));
 * ```
 */
export function withAcks(
  agent: AgentRecord,
  ackOf: (config: string) => AckRecord | undefined | null,
): AgentRecord {
  let changed = false;
  const configs: AgentRecord["configs"] = {};
  for (const [name, state] of Object.entries(agent.configs)) {
    const next = withAck(state, ackOf(name));
    if (next !== state) changed = true;
    configs[name] = next;
  }
  return changed ? { ...agent, configs } : agent;
}
