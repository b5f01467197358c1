/**
 * The agent's heartbeat: its record in the agents bucket, written at start, soon after a
 * change only the record carries (a healed drift), on leaving, and otherwise as a keep-alive
 * every `heartbeatSeconds` (600 s by default: each write costs nats-server ~0.3-0.5 ms).
 * Not after an apply or a refusal: its signed ack says that, and every view takes the newer
 * of record and verified ack (core/agent_state.ts); a record write per apply was the
 * largest server cost per apply. Liveness comes from the alive pings (alive.ts, every
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
import type { DiskDigests } from "./drift_watcher.ts";
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
  /** Per config, the heal event the last record written carried. */
  readonly #healsSent = new Map<string, string>();
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
   * After an apply or refusal: one heartbeat 0.5–1.5 s from now when a config healed a
   * drift since the last record (the heal is an event only the record carries), else none.
   */
  soonIfHealed(): void {
    for (const name of Object.keys(this.#config.configs)) {
      const heal = this.#options.stateOf(name).lastDriftHealed?.at;
      if (heal !== undefined && heal !== this.#healsSent.get(name)) return this.soon();
    }
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
    const heals = new Map<string, string>();
    for (const name of Object.keys(config.configs)) {
      const st = this.#options.stateOf(name);
      // Right after an apply the digest on disk is the one just written.
      if (options.rehash ?? true) st.diskDigest = await this.#options.digests.of(name);
      configs[name] = {
        applied: st.applied,
        diskDigest: st.diskDigest,
        lastAck: st.lastAck,
        ...(st.lastDriftHealed ? { lastDriftHealed: st.lastDriftHealed } : {}),
      };
      if (st.lastDriftHealed) heals.set(name, st.lastDriftHealed.at);
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
    for (const [name, at] of heals) this.#healsSent.set(name, at);
  }

  /** Cancels the timers; only a `leaving` heartbeat is sent after this. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.close();
    clearTimeout(this.#soon);
  }
}
