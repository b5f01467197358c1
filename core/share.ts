/**
 * Who takes a rollout's candidate: the rule agents, coordinators and the SDK share. An
 * agent is in a share when named, when it carries every label of the selector, or when
 * its stable hash falls at or under the selector's exact cutoff (or, on older pointers,
 * under the percent as a probability); a quarantined agent never is.
 *
 * @module
 */
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
    hash = sha256Head(`${rolloutId}/${agent}`);
    if (byAgent.size < _AGENTS_KEPT) byAgent.set(agent, hash);
  }
  return hash;
}

/**
 * The first 32 bits of SHA-256 of `text` (UTF-8), as an unsigned number: what
 * {@linkcode shareHash} ranks by, the same value as `parseInt(sha256Hex(text).slice(0, 8),
 * 16)`. Computed here in plain code because a coordinator hashes every member of its region
 * at a rollout's first step, and one `createHash` per id cost ~2.5 µs in Deno's node:crypto
 * (~25 ms at 10 000 agents), this ~0.5 µs. share_test.ts checks it against `sha256Hex`.
 *
 * @example
 * ```ts
 * sha256Head("abc"); // 0xba7816bf
 * ```
 */
export function sha256Head(text: string): number {
  const size = text.length * 3 + 72; // UTF-8 takes at most 3 bytes per UTF-16 unit
  if (_block.length < size) _block = new Uint8Array(size * 2);
  const buf = _block;
  const len = _utf8.encodeInto(text, buf).written;
  const total = ((len + 9 + 63) >>> 6) << 6; // the message, 0x80, its bit length, padded
  buf[len] = 0x80;
  buf.fill(0, len + 1, total);
  const bits = len * 8; // at most 2^53: the high word from a division
  const high = Math.floor(bits / 0x1_0000_0000);
  buf[total - 8] = high >>> 24;
  buf[total - 7] = high >>> 16;
  buf[total - 6] = high >>> 8;
  buf[total - 5] = high;
  buf[total - 4] = bits >>> 24;
  buf[total - 3] = bits >>> 16;
  buf[total - 2] = bits >>> 8;
  buf[total - 1] = bits;
  const w = _schedule;
  let h0 = 0x6a09e667 | 0, h1 = 0xbb67ae85 | 0, h2 = 0x3c6ef372 | 0, h3 = 0xa54ff53a | 0;
  let h4 = 0x510e527f | 0, h5 = 0x9b05688c | 0, h6 = 0x1f83d9ab | 0, h7 = 0x5be0cd19 | 0;
  for (let at = 0; at < total; at += 64) {
    for (let i = 0; i < 16; i++) {
      const o = at + i * 4;
      w[i] = (buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!, y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + s1 + ((e & f) ^ (~e & g)) + _K[i]! + w[i]!) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  return h0 >>> 0;
}

const _utf8 = new TextEncoder();
let _block = new Uint8Array(256);
const _schedule = new Int32Array(64);
/** SHA-256's round constants (FIPS 180-4, 4.2.2). */
const _K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

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
  if (selector.exclude.includes(agent)) return false;
  if (selector.agents.includes(agent)) return true;
  const wanted = Object.entries(selector.labels ?? {});
  if (wanted.length > 0 && wanted.every(([k, v]) => labels[k] === v)) return true;
  if (selector.percent <= 0) return false;
  if (selector.percent >= 100) return true;
  const hash = shareHash(rolloutId, agent);
  if (selector.hashCutoff !== undefined) return hash <= selector.hashCutoff;
  return (hash / 0x1_0000_0000) * 100 < selector.percent;
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
