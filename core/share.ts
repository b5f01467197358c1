/**
 * Who takes a rollout's candidate: the rule agents, coordinators and the SDK share. An
 * agent is in a share when named, when it carries every label of the selector, or when
 * its stable hash falls at or under the selector's exact cutoff (or, on older pointers,
 * under the percent as a probability); a quarantined agent never is.
 *
 * @module
 */
import { sha256Hex } from "./crypto.ts";
import type { CandidateSelector, PointerRecord, VersionRecord } from "./schemas.ts";

/**
 * An agent's place in a rollout's share: a stable hash of rollout id and agent id, from 0
 * to 2^32 - 1. The same agents stay chosen as the share grows.
 */
export function shareHash(rolloutId: string, agent: string): number {
  let byAgent = _hashes.get(rolloutId);
  if (!byAgent) {
    if (_hashes.size >= _ROLLOUTS_KEPT) _hashes.delete(_hashes.keys().next().value!);
    _hashes.set(rolloutId, byAgent = new Map());
  }
  let hash = byAgent.get(agent);
  if (hash === undefined) {
    hash = parseInt(sha256Hex(`${rolloutId}/${agent}`).slice(0, 8), 16);
    if (byAgent.size < _AGENTS_KEPT) byAgent.set(agent, hash);
  }
  return hash;
}

/**
 * Hashes already computed, by rollout then agent: a coordinator asks for every member of
 * its region at every step (the cutoff, then the judgement), and SHA-256 of 10 000 ids was
 * ~20 ms each time. The value never changes, so keeping it changes no answer; bounded to a
 * few rollouts (the newest ones asked about) and a million agents each.
 */
const _hashes = new Map<string, Map<string, number>>();
const _ROLLOUTS_KEPT = 4;
const _AGENTS_KEPT = 1_000_000;

/**
 * The {@linkcode CandidateSelector.hashCutoff} that puts exactly `ceil(percent × n / 100)`
 * of `agents` (n of them, at least one when `percent` > 0) in the share: the agents ranked
 * by {@linkcode shareHash}, the cutoff at the last one taken. Undefined when every agent or
 * none is taken (the percent alone says so).
 *
 * @example
 * ```ts
 * shareCutoff("r-1", ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"], 30); // 4 of 11
 * ```
 */
export function shareCutoff(
  rolloutId: string,
  agents: readonly string[],
  percent: number,
): number | undefined {
  if (percent <= 0 || percent >= 100 || agents.length === 0) return undefined;
  return cutoffOfRanked(rankShareHashes(rolloutId, agents), percent);
}

/**
 * The {@linkcode shareHash} of each of `agents`, ascending: what {@linkcode cutoffOfRanked}
 * takes the cutoff of, for any percent (a coordinator keeps it while its members stay).
 */
export function rankShareHashes(rolloutId: string, agents: readonly string[]): Float64Array {
  const ranked = new Float64Array(agents.length);
  for (let i = 0; i < agents.length; i++) ranked[i] = shareHash(rolloutId, agents[i]!);
  return ranked.sort(); // a typed array sorts by value
}

/**
 * {@linkcode shareCutoff} of the agents whose hashes `ranked` holds (from
 * {@linkcode rankShareHashes}).
 *
 * @example
 * ```ts
 * cutoffOfRanked(rankShareHashes("r-1", agents), 10) === shareCutoff("r-1", agents, 10);
 * ```
 */
export function cutoffOfRanked(ranked: Float64Array, percent: number): number | undefined {
  if (percent <= 0 || percent >= 100 || ranked.length === 0) return undefined;
  const take = Math.max(1, Math.ceil((percent * ranked.length) / 100));
  if (take >= ranked.length) return 0xffff_ffff;
  return ranked[take - 1]!;
}

/**
 * True when `agent` falls in the candidate share: named, or carrying every label of the
 * selector, or chosen by its {@linkcode shareHash}: at or under the selector's exact
 * `hashCutoff` when it has one, else by the percent as a probability (older pointers).
 * Excluded (quarantined) agents never are.
 */
export function inCandidateShare(
  agent: string,
  rolloutId: string,
  selector: CandidateSelector,
  labels: Record<string, string> = {},
): boolean {
  return shareTest(rolloutId, selector)(agent, labels);
}

/**
 * {@linkcode inCandidateShare} for one rollout and selector, to ask of many agents: the
 * selector's lists and labels are read once (a coordinator asks for every member of its
 * region at every step).
 *
 * @example
 * ```ts
 * const inShare = shareTest(rollout.id, selector);
 * const chosen = agents.filter((a) => inShare(a.id, a.labels));
 * ```
 */
export function shareTest(
  rolloutId: string,
  selector: CandidateSelector,
): (agent: string, labels?: Record<string, string>) => boolean {
  const exclude = new Set(selector.exclude);
  const named = new Set(selector.agents);
  const wanted = Object.entries(selector.labels ?? {});
  const { percent, hashCutoff } = selector;
  return (agent, labels = {}) => {
    if (exclude.has(agent)) return false;
    if (named.has(agent)) return true;
    if (wanted.length > 0 && wanted.every(([k, v]) => labels[k] === v)) return true;
    if (percent <= 0) return false;
    if (percent >= 100) return true;
    const hash = shareHash(rolloutId, agent);
    if (hashCutoff !== undefined) return hash <= hashCutoff;
    return (hash / 0x1_0000_0000) * 100 < percent;
  };
}

/**
 * The version `agent` (with `labels`) must run under `pointer`: the candidate if chosen,
 * else active. A preflight candidate is never installed: its agents stay on active (see
 * {@linkcode preflightOf}).
 */
export function targetOf(
  pointer: PointerRecord,
  agent: string,
  labels: Record<string, string> = {},
): VersionRecord {
  const c = pointer.candidate;
  if (c && !c.preflight && inCandidateShare(agent, c.rolloutId, c.selector, labels)) {
    return c.version;
  }
  return pointer.active;
}

/**
 * The version `agent` must check without installing (a preflight candidate whose share
 * it is in), or undefined.
 */
export function preflightOf(
  pointer: PointerRecord,
  agent: string,
  labels: Record<string, string> = {},
): VersionRecord | undefined {
  const c = pointer.candidate;
  if (c?.preflight && inCandidateShare(agent, c.rolloutId, c.selector, labels)) return c.version;
  return undefined;
}
