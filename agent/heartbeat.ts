/**
 * The agent's heartbeat: its record in the agents bucket, written at start, soon after a
 * change its acks cannot stand for (a healed drift; a refusal after an apply the record
 * does not state; any change when its acks are unsigned), on leaving, and as a keep-alive
 * every `heartbeatSeconds` (600 s by default: each write costs nats-server ~0.3-0.5 ms).
 * Not after an apply, nor after a refusal that record and ack together describe: the signed
 * ack says it, and every view takes the newer of record and verified ack
 * (core/agent_state.ts); a record write per apply was the largest server cost per apply. Liveness comes from the alive pings (alive.ts, every
 * `aliveSeconds`); the record says how often they come.
 *
 * Invariants: a heartbeat states every managed config (applied version, digest on disk,
 * last ack), so membership is known before any apply; at most one change heartbeat is
 * pending at a time; after `stop()` only the goodbye is sent, and no timer is left.
 *
 * @module
 */
import { agentKey, type AgentRecord, Buckets } from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import { hostname } from "node:os";
import type { AgentConfig } from "./config.ts";
import type { DiskDigests } from "./disk_digests.ts";
import { type Every, every } from "./every.ts";
import type { ConfigState } from "./state.ts";

/** Options of {@linkcode Heartbeat}. */
export interface HeartbeatOptions {
  /** The connection to write through; nothing is sent while there is none. */
  nats: () => AtlasNats | undefined;
  /** The state of a managed config. */
  stateOf: (config: string) => ConfigState;
  /** The digests of the managed files. */
  digests: DiskDigests;
  /**
   * Whether this agent's acks are signed: unsigned ones count nowhere, so every ack is
   * followed by a record, as before acks stood for it. @default true
   */
  signedAcks?: boolean;
}

/** What one heartbeat does. */
export interface HeartbeatSendOptions {
  /** Hash the files again first (not needed right after an apply). @default true */
  rehash?: boolean;
  /** The goodbye of a clean stop. @default false */
  leaving?: boolean;
}

/**
 * Publishes the agent's record on a timer, soon after each change, and once on leaving.
 *
 * @example
 * ```ts
 * const heartbeat = new Heartbeat(config, { nats: () => nats, stateOf, digests });
 * heartbeat.start();
 * heartbeat.stop();
 * await heartbeat.send({ rehash: false, leaving: true });
 * ```
 */
export class Heartbeat {
  readonly #config: AgentConfig;
  readonly #options: HeartbeatOptions;
  readonly #startedAt = new Date().toISOString();
  #timer: Every | undefined;
  #soon: ReturnType<typeof setTimeout> | undefined;
  /** Per config, what the record last written says: see {@linkcode #misleading}. */
  readonly #written = new Map<string, { applied: string | null; healedAt: string | null }>();
  #stopped = false;

  constructor(config: AgentConfig, options: HeartbeatOptions) {
    this.#config = config;
    this.#options = options;
  }

  /** Starts the heartbeat timer (every `heartbeatSeconds`, jittered). */
  start(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = every(this.#config.heartbeatSeconds * 1000, () => this.send());
  }

  /**
   * After an ack: one heartbeat 0.5–1.5 s from now only when the ack cannot stand for the
   * record (see {@linkcode #misleading}), else none.
   */
  afterAck(): void {
    if ((this.#options.signedAcks ?? true) && !this.#misleading()) return;
    this.soon();
  }

  /**
   * True when the record last written, brought up to the newest ack of each config
   * (core/agent_state.ts), would mislead: a drift healed since (an event only the record
   * carries), or a newest ack that is not `applied` (a refusal, a preflight) while the
   * applied version differs from the record's, as after an apply then a refusal.
   */
  #misleading(): boolean {
    for (const name of Object.keys(this.#config.configs)) {
      const st = this.#options.stateOf(name);
      const written = this.#written.get(name);
      if ((st.lastDriftHealed?.at ?? null) !== (written?.healedAt ?? null)) return true;
      const applied = st.applied ? `${st.applied.version}/${st.applied.digest}` : null;
      if (st.lastAck?.status !== "applied" && applied !== (written?.applied ?? null)) return true;
    }
    return false;
  }

  /** After a change: one heartbeat 0.5–1.5 s from now, unless one is pending already. */
  soon(): void {
    if (this.#soon !== undefined || this.#stopped) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.send({ rehash: false }).catch(() => {});
      // Spread over 0.5–1.5 s: right after a change every agent of a region heartbeats at
      // once, and those KV writes slowed the acks of the same wave (N = 1 000: fan-out
      // p50 387 → 285 ms when moved out of it).
    }, 500 + Math.random() * 1_000);
  }

  /**
   * Publishes this agent's record (the configs it manages, applied versions, digests found
   * on disk); with `leaving`, the goodbye of a clean stop.
   */
  async send(options: HeartbeatSendOptions = {}): Promise<void> {
    const nats = this.#options.nats();
    if (!nats || (this.#stopped && !options.leaving)) return;
    const config = this.#config;
    const configs: AgentRecord["configs"] = {};
    const written = new Map<string, { applied: string | null; healedAt: string | null }>();
    for (const name of Object.keys(config.configs)) {
      const st = this.#options.stateOf(name);
      // Right after an apply the digest on disk is the one just written.
      if (options.rehash ?? true) st.diskDigest = this.#options.digests.of(name);
      configs[name] = {
        applied: st.applied,
        diskDigest: st.diskDigest,
        lastAck: st.lastAck,
        ...(st.lastDriftHealed ? { lastDriftHealed: st.lastDriftHealed } : {}),
      };
      written.set(name, {
        applied: st.applied ? `${st.applied.version}/${st.applied.digest}` : null,
        healedAt: st.lastDriftHealed?.at ?? null,
      });
    }
    const record: AgentRecord = {
      id: config.id,
      region: config.region,
      labels: config.labels,
      hostname: hostname(),
      pid: Deno.pid,
      startedAt: this.#startedAt,
      heartbeatAt: new Date().toISOString(),
      heartbeatSeconds: config.heartbeatSeconds,
      aliveSeconds: config.aliveSeconds,
      ...(options.leaving ? { leftAt: new Date().toISOString() } : {}),
      configs,
    };
    await nats.kvWrite(Buckets.agents, agentKey(config.region, config.id), JSON.stringify(record));
    for (const [name, w] of written) this.#written.set(name, w);
  }

  /** Cancels the timers; only a `leaving` heartbeat is sent after this. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.close();
    clearTimeout(this.#soon);
  }
}
