/**
 * Which of a region's agents are gone ({@linkcode agentIsStale}), kept between steps: at
 * 10 000 members a step judged each one three to five times (its stages, the fleet scan,
 * the liveness summary), 10–25 ms a step whether or not anything had changed.
 *
 * Invariant: {@linkcode GoneAgents.at} answers exactly what `agentIsStale` would for every
 * record at that moment. An agent is judged again when its record changed or went, or when
 * it was gone and is heard from; every agent is judged again when the listener's start
 * moved (a reconnect), the clock went back, the records were not kept or were dropped
 * ({@linkcode GoneAgents.forget}), or the clock reached
 * the earliest moment a live agent could fall silent ({@linkcode staleFrom}; a ping only
 * moves that later).
 *
 * @module
 */
import { agentIsStale, type AgentRecord, type AliveSignal, staleFrom } from "@atlas/core";

/** Agents waiting to be judged again before the kept answer is dropped instead. */
const DIRTY_MAX = 100_000;

/** One answer of {@linkcode GoneAgents.at}: valid until the next call (it is updated in place). */
export interface Gone {
  /** Ids of the agents that are gone, goodbyes included. */
  ids: ReadonlySet<string>;
  /** The records of those gone without a goodbye (the liveness summary lists them). */
  silent: ReadonlyMap<string, AgentRecord>;
  /** Changes whenever `ids` or `silent` do. */
  revision: number;
}

/** The region's gone agents, judged again only where the answer could have changed. */
export class GoneAgents {
  readonly #aliveOf: (agent: string) => AliveSignal;
  readonly #ids = new Set<string>();
  readonly #silent = new Map<string, AgentRecord>();
  /** Agents to judge again at the next answer. */
  readonly #dirty = new Set<string>();
  #revision = 0;
  /** What the kept answer holds for; undefined: judge every agent again. */
  #basis:
    | {
      records: ReadonlyMap<string, AgentRecord>;
      listeningSinceMs: number;
      at: number;
      until: number;
    }
    | undefined;

  /** `aliveOf`: what the region's alive pings said of an agent. */
  constructor(aliveOf: (agent: string) => AliveSignal) {
    this.#aliveOf = aliveOf;
  }

  /** `agent`'s record was written or removed. */
  changed(agent: string): void {
    if (!this.#basis) return; // the next answer judges every agent anyway
    this.#dirty.add(agent);
    // A replica that is not asked (a standby) holds no more than this: then it forgets.
    if (this.#dirty.size > DIRTY_MAX) this.forget();
  }

  /** The records were dropped (a follow starting again): the next answer judges them all. */
  forget(): void {
    this.#basis = undefined;
    this.#dirty.clear();
  }

  /** A ping from `agent`: if it was gone, it is judged again. */
  heard(agent: string): void {
    if (this.#basis && this.#ids.has(agent)) this.#dirty.add(agent);
  }

  /**
   * The gone agents at `now` among `records` (every record of the region, by id). `kept`:
   * the same map as at the last call, told of each change ({@linkcode changed}); false
   * judges every agent again.
   */
  at(
    now: number,
    listeningSinceMs: number,
    records: ReadonlyMap<string, AgentRecord>,
    kept: boolean,
  ): Gone {
    const b = this.#basis;
    if (
      !kept || !b || b.records !== records || b.listeningSinceMs !== listeningSinceMs ||
      now < b.at || now >= b.until
    ) {
      this.#ids.clear();
      this.#silent.clear();
      this.#dirty.clear();
      let until = Infinity;
      for (const a of records.values()) until = Math.min(until, this.#judge(a, now));
      this.#basis = { records, listeningSinceMs, at: now, until };
      this.#revision++;
    } else if (this.#dirty.size > 0) {
      for (const id of this.#dirty) {
        const wasGone = this.#ids.delete(id);
        const wasSilent = this.#silent.delete(id);
        const a = records.get(id);
        const until = a ? this.#judge(a, now) : Infinity;
        b.until = Math.min(b.until, until);
        if (wasGone !== this.#ids.has(id) || wasSilent !== this.#silent.has(id)) {
          this.#revision++;
        }
      }
      this.#dirty.clear();
    }
    return { ids: this.#ids, silent: this.#silent, revision: this.#revision };
  }

  /** Judges `a` at `now` into the sets; returns until when a live agent stays so. */
  #judge(a: AgentRecord, now: number): number {
    const alive = this.#aliveOf(a.id);
    if (!agentIsStale(a, now, alive)) return staleFrom(a, now, alive);
    this.#ids.add(a.id);
    if (a.leftAt === undefined) this.#silent.set(a.id, a);
    return Infinity;
  }
}
