/**
 * The agent's alive pings: a core-NATS message with no body on
 * `atlas.alive.<region>.<agent>` every `aliveSeconds` (jittered ±20 %), which the region's
 * coordinators hear and nothing stores. They tell that the host is up; the record in the
 * agents bucket (heartbeat.ts) tells what it runs, and is kept alive far less often. A
 * host whose pings stop is judged gone after three missed ones plus 5 s (core/liveness.ts).
 *
 * Invariants: a ping is sent as soon as the agent connects, then on the timer; after
 * `stop()` none is sent and no timer is left. A ping costs nats-server one core publish
 * (a KV keep-alive cost it a JetStream write, ~0.3–0.5 ms).
 *
 * @module
 */
import { Subjects } from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import type { AgentConfig } from "./config.ts";
import { type Every, every } from "./every.ts";

/**
 * Sends the agent's alive pings while started.
 *
 * @example
 * ```ts
 * const pings = new AlivePings(config, () => nats);
 * pings.start();
 * pings.stop();
 * ```
 */
export class AlivePings {
  readonly #subject: string;
  readonly #everyMs: number;
  readonly #nats: () => AtlasNats | undefined;
  #timer: Every | undefined;
  #stopped = false;
  /** Pings sent (for tests and stats). */
  sent = 0;

  constructor(
    config: Pick<AgentConfig, "region" | "id" | "aliveSeconds">,
    nats: () => AtlasNats | undefined,
  ) {
    this.#subject = Subjects.alive(config.region, config.id);
    this.#everyMs = config.aliveSeconds * 1000;
    this.#nats = nats;
  }

  /** Pings now, then every `aliveSeconds` (jittered) until {@linkcode stop}. */
  start(): void {
    if (this.#stopped || this.#timer) return;
    this.ping();
    this.#timer = every(this.#everyMs, () => Promise.resolve(this.ping()));
  }

  /** One ping, if connected (a publish while reconnecting is buffered by the client). */
  ping(): void {
    const nats = this.#nats();
    if (!nats || this.#stopped || nats.nc.isClosed()) return;
    try {
      nats.nc.publish(this.#subject);
      this.sent++;
    } catch {
      // closing meanwhile: the goodbye, or the silence, says the rest
    }
  }

  /** Stops the pings; the timer is cleared. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.close();
  }
}
