/**
 * What the agent has applied, persisted atomically under its state dir so a restart
 * applies nothing twice and nothing older.
 *
 * @module
 */
import { z } from "zod";
import { AckRecord, AgentConfigState, ConfigName } from "@atlas/nats";
import { readFileOrNull, writeFileAtomic } from "./atomic.ts";

/** Persisted state of one config. */
export const ConfigState = AgentConfigState.extend({
  /** Highest pointer `seq` accepted so far; lower ones are replays and are refused. */
  maxSeq: z.number().int().nonnegative(),
});
export type ConfigState = z.infer<typeof ConfigState>;

/** The whole persisted state. */
export const AgentState = z.object({
  configs: z.record(ConfigName, ConfigState),
  /** Acks not known to be in the acks stream yet, in order (see outbox.ts). */
  outbox: z.array(AckRecord).default([]),
});
export type AgentState = z.infer<typeof AgentState>;

/** An empty config state. */
export function emptyConfigState(): ConfigState {
  return { applied: null, diskDigest: null, lastAck: null, maxSeq: 0 };
}

/** Reads the state file (an empty state when there is none). */
export async function loadState(stateDir: string): Promise<AgentState> {
  const bytes = await readFileOrNull(`${stateDir}/state.json`);
  if (!bytes) return { configs: {}, outbox: [] };
  try {
    return AgentState.parse(JSON.parse(new TextDecoder().decode(bytes)));
  } catch (cause) {
    throw new Error(
      `Agent state ${stateDir}/state.json is unreadable; move it aside to start fresh ` +
        `(the agent then re-applies the active versions)`,
      { cause },
    );
  }
}

/** Writes the state file atomically. */
export async function saveState(stateDir: string, state: AgentState): Promise<void> {
  await writeFileAtomic(
    `${stateDir}/state.json`,
    new TextEncoder().encode(JSON.stringify(state, null, 2)),
    { mode: 0o600 },
  );
}
