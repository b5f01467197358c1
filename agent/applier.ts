/**
 * Processing one pointer of one managed config: verify, refuse replays, preflight a
 * candidate, find a no-op or drift, fetch the bytes, replace the file, record the outcome.
 *
 * Invariants: no byte reaches a managed file before the pointer's signature and the
 * version's digest are verified; a pointer older than the highest seq taken is refused;
 * each outcome is recorded once, the ack and the state in one atomic write (then sent);
 * a passing failure (content not reachable yet, NATS busy) throws, for the caller to
 * retry. Callers process at most one pointer per config at a time (see config_worker.ts).
 *
 * @module
 */
import {
  type AckRecord,
  type PointerRecord,
  preflightOf,
  targetOf,
  type Verifier,
  verifyPointer,
  verifyTarget,
  type VersionRecord,
} from "@atlas/core";
import { type AtlasNats, type Logger, readBlob } from "@atlas/store";
import {
  ApplyOutcome,
  type BlobSource,
  preflightCandidate,
  replaceFile,
  verifiedBytes,
} from "./apply.ts";
import type { BlobCache } from "./cache.ts";
import type { AgentConfig } from "./config.ts";
import type { DiskDigests } from "./drift_watcher.ts";
import type { AckOutbox } from "./outbox.ts";
import type { ConfigState } from "./state.ts";
import type { AgentStats } from "./stats.ts";

/** The counter each source of blob bytes adds to. */
const STAT_OF_SOURCE = {
  inline: "inlineHits",
  cache: "cacheHits",
  "region copy": "regionCopyHits",
  "object store": "fetches",
} as const satisfies Record<BlobSource, keyof AgentStats>;

/** What an {@linkcode Applier} works with. */
export interface ApplierDeps {
  verifier: Verifier;
  cache: BlobCache;
  outbox: AckOutbox;
  stats: AgentStats;
  log: Logger;
  digests: DiskDigests;
  /** The (mutable) persisted state of a config. */
  stateOf: (config: string) => ConfigState;
  /** The digests applied to any config: the cache keeps them. */
  appliedDigests: () => string[];
  /** The connection to fetch blobs through, when there is one. */
  nats: () => AtlasNats | undefined;
  /** Persists the state, with the acks still waiting. */
  save: () => void;
  /** After an outcome was recorded: send the ack, heartbeat soon. */
  acked: () => void;
  /** Test hook: pause between chunks of a file write. @default 0 */
  writeChunkDelayMs?: number | undefined;
}

/**
 * Applies pointers to the managed files of one agent.
 *
 * @example
 * ```ts
 * const applier = new Applier(config, deps);
 * await applier.process(pointer, {}); // throws on a passing failure: retry later
 * ```
 */
export class Applier {
  readonly #config: AgentConfig;
  readonly #deps: ApplierDeps;
  readonly #verifier: Verifier;
  readonly #cache: BlobCache;
  readonly #outbox: AckOutbox;
  readonly #stats: AgentStats;
  readonly #log: Logger;
  readonly #digests: DiskDigests;
  /** The pointer last verified, by config: the same pointer again needs no second check. */
  readonly #verified = new Map<string, PointerRecord>();

  constructor(config: AgentConfig, deps: ApplierDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#verifier = deps.verifier;
    this.#cache = deps.cache;
    this.#outbox = deps.outbox;
    this.#stats = deps.stats;
    this.#log = deps.log;
    this.#digests = deps.digests;
  }

  /** Processes one pointer of a managed config: verifies, then applies, preflights or skips it. */
  async process(pointer: PointerRecord, blobs: Record<string, string>): Promise<void> {
    const config = pointer.config;
    const st = this.#deps.stateOf(config);
    try {
      // Every reconcile reads the pointer already applied: identical content under an
      // identical signature verifies as it did before (the check was a sixth of idle CPU).
      const last = this.#verified.get(config);
      if (
        !last || last.signature !== pointer.signature ||
        JSON.stringify(last) !== JSON.stringify(pointer)
      ) {
        verifyPointer(this.#verifier, pointer);
        this.#verified.set(config, pointer);
      }
    } catch (e) {
      // Reported against the version it would have meant for this agent, so a rollout's
      // gate sees the refusal (as untrusted: the signer's fault, not this host's).
      const meant = preflightOf(pointer, this.#config.id, this.#config.labels) ??
        targetOf(pointer, this.#config.id, this.#config.labels);
      return this.#finish(
        pointer,
        meant,
        new ApplyOutcome("rejected", (e as Error).message, false),
      );
    }
    if (pointer.seq < st.maxSeq) {
      this.#stats.refusedReplays++;
      this.#log.warn("refused a replayed pointer", {
        config,
        seq: pointer.seq,
        seen: st.maxSeq,
      });
      return;
    }
    const check = preflightOf(pointer, this.#config.id, this.#config.labels);
    if (check) await this.#preflight(pointer, check, blobs);
    const target = targetOf(pointer, this.#config.id, this.#config.labels);
    const last = st.lastAck;
    if (
      pointer.seq === st.maxSeq && last && last.seq === pointer.seq &&
      last.version === target.version &&
      last.status !== "applied"
    ) return; // this exact pointer was already judged; a new seq is needed to try again
    try {
      verifyTarget(this.#verifier, pointer, target);
    } catch (e) {
      return this.#finish(
        pointer,
        target,
        new ApplyOutcome("rejected", (e as Error).message),
      );
    }
    const path = this.#config.configs[config]!.path;
    if (st.applied?.version === target.version && st.applied.digest === target.digest) {
      const advanced = pointer.seq > st.maxSeq;
      st.maxSeq = Math.max(st.maxSeq, pointer.seq);
      st.applied.seq = st.maxSeq;
      st.diskDigest = await this.#digests.of(config);
      if (st.diskDigest === target.digest) {
        this.#stats.noops++;
        // Reconcile lands here every 30 s per config: write the state only on news.
        if (advanced) this.#deps.save();
        return;
      }
      this.#log.warn("file differs from the applied version (drift); restoring it", {
        config,
        path,
        found: st.diskDigest,
      });
      this.#stats.driftHealed++;
      // An event, not a state: the heal takes milliseconds, so no heartbeat would ever
      // carry the drift itself. The coordinator raises the drift alert from this.
      st.lastDriftHealed = {
        at: new Date().toISOString(),
        found: st.diskDigest,
        version: target.version,
      };
    }
    const started = performance.now();
    let outcome: ApplyOutcome | undefined;
    let toCache: Uint8Array | undefined;
    try {
      const nats = this.#deps.nats();
      const { bytes, source } = await verifiedBytes(target, {
        inline: blobs,
        cache: this.#cache,
        fetch: nats ? (digest) => readBlob(nats, this.#config.region, digest) : undefined,
      });
      this.#stats[STAT_OF_SOURCE[source]]++;
      if (source !== "cache") toCache = bytes;
      await replaceFile(this.#config.configs[config]!, bytes, {
        env: this.#commandEnv(config, target),
        timeoutMs: this.#config.commandTimeoutSeconds * 1000,
        chunkDelayMs: this.#deps.writeChunkDelayMs ?? 0,
      });
    } catch (e) {
      if (!(e instanceof ApplyOutcome)) throw e;
      outcome = e;
    }
    this.#finish(pointer, target, outcome, performance.now() - started);
    // The cache only spares a later rollback a fetch: written 0.5–1.5 s after the ack, with
    // the heartbeat (served from memory until then), and failing to fill it fails nothing.
    if (toCache) {
      this.#cache.putSoon(
        target.digest,
        toCache,
        () => this.#deps.appliedDigests(),
        500 + Math.random() * 1_000,
        (e) => this.#log.warn("cannot cache the applied content", { error: e.message }),
      );
    }
  }

  /**
   * A preflight: fetches and verifies `version` and runs its `verify` command on a staged
   * copy, then acks `verified` (or why not) without installing it. Once per pointer.
   */
  async #preflight(
    pointer: PointerRecord,
    version: VersionRecord,
    blobs: Record<string, string>,
  ): Promise<void> {
    const config = pointer.config;
    const last = this.#deps.stateOf(config).lastAck;
    if (last && last.seq === pointer.seq && last.version === version.version) return;
    const started = performance.now();
    let outcome: ApplyOutcome | undefined;
    let toCache: Uint8Array | undefined;
    try {
      try {
        verifyTarget(this.#verifier, pointer, version);
      } catch (e) {
        throw new ApplyOutcome("rejected", (e as Error).message);
      }
      const nats = this.#deps.nats();
      const { bytes, source } = await verifiedBytes(version, {
        inline: blobs,
        cache: this.#cache,
        fetch: nats ? (digest) => readBlob(nats, this.#config.region, digest) : undefined,
      });
      this.#stats[STAT_OF_SOURCE[source]]++;
      if (source !== "cache") toCache = bytes;
      await preflightCandidate(this.#config.configs[config]!, bytes, {
        env: this.#commandEnv(config, version),
        timeoutMs: this.#config.commandTimeoutSeconds * 1000,
      });
    } catch (e) {
      if (!(e instanceof ApplyOutcome)) throw e;
      outcome = e;
    }
    this.#stats.preflights++;
    this.#finish(pointer, version, outcome, performance.now() - started, { preflight: true });
    // The installing stage that follows takes these bytes from the cache.
    if (toCache && !outcome) {
      this.#cache.putSoon(
        version.digest,
        toCache,
        () => [...this.#deps.appliedDigests(), version.digest],
        500 + Math.random() * 1_000,
        (e) => this.#log.warn("cannot cache the verified content", { error: e.message }),
      );
    }
  }

  /** Environment of the commands run for `version` of `config`. */
  #commandEnv(config: string, version: VersionRecord): Record<string, string> {
    return {
      ATLAS_CONFIG: config,
      ATLAS_VERSION: String(version.version),
      ATLAS_FILE: this.#config.configs[config]!.path,
      ATLAS_AGENT: this.#config.id,
      ATLAS_REGION: this.#config.region,
    };
  }

  /** Records the outcome: the ack and the state in one atomic write, then sends the ack. */
  #finish(
    pointer: PointerRecord,
    target: VersionRecord,
    outcome: ApplyOutcome | undefined,
    elapsedMs = 0,
    options: { preflight?: boolean } = {},
  ): void {
    const config = pointer.config;
    const st = this.#deps.stateOf(config);
    const status = outcome?.status ?? (options.preflight ? "verified" : "applied");
    const at = new Date().toISOString();
    const ack: AckRecord = {
      agent: this.#config.id,
      region: this.#config.region,
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
    this.#outbox.add(ack);
    if (outcome?.pointerVerified ?? true) st.maxSeq = Math.max(st.maxSeq, pointer.seq);
    st.lastAck = {
      version: ack.version,
      seq: ack.seq,
      status,
      ...(outcome ? { reason: outcome.message } : {}),
      ...(ack.refusal ? { refusal: ack.refusal } : {}),
      at,
    };
    if (options.preflight && !outcome) {
      this.#log.info("verified a preflight candidate (not installed)", {
        config,
        version: target.version,
        seq: pointer.seq,
        ms: elapsedMs.toFixed(1),
      });
    } else if (!outcome) {
      st.applied = {
        version: target.version,
        digest: target.digest,
        seq: pointer.seq,
        appliedAt: at,
      };
      st.diskDigest = target.digest;
      this.#stats.applies++;
      // One line per apply: thousands of agents in a bench worker, so the fields are only
      // built for a record that is written.
      this.#log.info("applied", () => ({
        config,
        version: target.version,
        seq: pointer.seq,
        ms: elapsedMs.toFixed(1),
      }));
    } else {
      if (status === "rejected") this.#stats.rejects++;
      else this.#stats.failures++;
      this.#log.warn(`${status}; keeping the last good file`, {
        config,
        version: target.version,
        reason: outcome.message,
      });
    }
    this.#deps.save();
    this.#deps.acked();
  }
}
