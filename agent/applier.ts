/**
 * Processing one pointer of one managed config: verify, refuse replays, preflight a
 * candidate, find a no-op or drift, fetch the bytes, replace the file, record the outcome.
 *
 * Invariants: no byte reaches a managed file before the pointer's signature and the
 * version's digest are verified, with the keys trusted now (a key set that revoked a key
 * is taken before anything is checked with it: trusted_keys.ts); a pointer older than the highest seq taken is refused;
 * each outcome is recorded once, the ack and the state in one atomic write (then sent);
 * a passing failure (content not reachable yet, NATS busy) throws, for the caller to
 * retry. Callers process at most one pointer per config at a time (see config_worker.ts).
 *
 * @module
 */
import {
  type PointerRecord,
  preflightOf,
  targetOf,
  type Verifier,
  verifyPointer,
  verifyTarget,
  type VersionRecord,
} from "@atlas/core";
import {
  annotate,
  type AtlasNats,
  type Logger,
  readBlob,
  traced,
  tracedSync,
  tracingOn,
} from "@atlas/store";
import {
  ApplyOutcome,
  type BlobSource,
  preflightCandidate,
  replaceFile,
  verifiedBytes,
} from "./apply.ts";
import type { BlobCache } from "./cache.ts";
import type { AgentConfig } from "./config.ts";
import type { DiskDigests } from "./disk_digests.ts";
import { type Outcome, type OutcomeDeps, recordOutcome } from "./outcome.ts";
import type { AgentStats } from "./stats.ts";

/** The counter each source of blob bytes adds to. */
const STAT_OF_SOURCE = {
  inline: "inlineHits",
  cache: "cacheHits",
  "region copy": "regionCopyHits",
  "object store": "fetches",
} as const satisfies Record<BlobSource, keyof AgentStats>;

/** What an {@linkcode Applier} works with. */
export interface ApplierDeps extends OutcomeDeps {
  /** The keys trusted now (they follow the key set). */
  keys: { readonly verifier: Verifier };
  /** Reads the newest key set: called when a record names a key the verifier does not know. */
  refreshKeys: (keyId: string) => Promise<void>;
  cache: BlobCache;
  digests: DiskDigests;
  /** The digests applied to any config: the cache keeps them. */
  appliedDigests: () => string[];
  /** The connection to fetch blobs through, when there is one. */
  nats: () => AtlasNats | undefined;
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
  readonly #ctx: OutcomeDeps & { config: AgentConfig };
  /** The verifier the memo below was made with: a new key set empties it. */
  #memoVerifier: Verifier | undefined;
  readonly #cache: BlobCache;
  readonly #stats: AgentStats;
  readonly #log: Logger;
  readonly #digests: DiskDigests;
  /** The pointer last verified, by config: the same pointer again needs no second check. */
  readonly #verified = new Map<string, PointerRecord>();

  constructor(config: AgentConfig, deps: ApplierDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#ctx = { ...deps, config };
    this.#cache = deps.cache;
    this.#stats = deps.stats;
    this.#log = deps.log;
    this.#digests = deps.digests;
  }

  /**
   * Processes one pointer of a managed config: verifies, then applies, preflights or skips
   * it. With tracing on, inside a span whose parent is `trace` (the notice's context); a
   * pointer from the reconcile gets a trace of its own only when it is news (a newer seq),
   * so the reconcile of an agent in step makes no traces.
   */
  process(pointer: PointerRecord, blobs: Record<string, string>, trace?: string): Promise<void> {
    if (!tracingOn) return this.#process(pointer, blobs);
    if (trace === undefined && pointer.seq <= this.#deps.stateOf(pointer.config).maxSeq) {
      return this.#process(pointer, blobs);
    }
    return traced("atlas.agent.apply", () => this.#process(pointer, blobs), {
      parent: trace ?? null,
      kind: "consumer",
      attributes: {
        "atlas.agent": this.#config.id,
        "atlas.region": pointer.region,
        "atlas.config": pointer.config,
        "atlas.seq": pointer.seq,
        // No context: a reconcile, or a notice from a writer that does not trace.
        "atlas.via": trace === undefined ? "no context" : "notice",
      },
    });
  }

  async #process(pointer: PointerRecord, blobs: Record<string, string>): Promise<void> {
    const config = pointer.config;
    const st = this.#deps.stateOf(config);
    // Synchronous unless a key must be read first: no microtask hop on every apply.
    const known = this.#knownVerifier(pointer);
    const verifier = known ?? await this.#verifierFor(pointer);
    try {
      // Every reconcile reads the pointer already applied: identical content under an
      // identical signature verifies as it did before (the check was a sixth of idle CPU).
      const last = this.#verified.get(config);
      if (
        !last || last.signature !== pointer.signature ||
        JSON.stringify(last) !== JSON.stringify(pointer)
      ) {
        tracedSync("atlas.agent.verify", () => verifyPointer(verifier, pointer));
        this.#verified.set(config, pointer);
      }
    } catch (e) {
      // Reported against the version it would have meant for this agent, so a rollout's
      // gate sees the refusal (as untrusted: the signer's fault, not this host's).
      const meant = preflightOf(pointer, this.#config.id, this.#config.labels) ??
        targetOf(pointer, this.#config.id, this.#config.labels);
      return this.#finish({
        pointer,
        target: meant,
        outcome: new ApplyOutcome("rejected", (e as Error).message, false),
        elapsedMs: 0,
        preflight: false,
      });
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
    if (check) await this.#preflight(pointer, check, blobs, verifier);
    const target = targetOf(pointer, this.#config.id, this.#config.labels);
    const last = st.lastAck;
    if (
      pointer.seq === st.maxSeq && last && last.seq === pointer.seq &&
      last.version === target.version &&
      last.status !== "applied"
    ) return; // this exact pointer was already judged; a new seq is needed to try again
    try {
      tracedSync("atlas.agent.verify", () => verifyTarget(verifier, pointer, target));
    } catch (e) {
      return this.#finish({
        pointer,
        target,
        outcome: new ApplyOutcome("rejected", (e as Error).message),
        elapsedMs: 0,
        preflight: false,
      });
    }
    const path = this.#config.configs[config]!.path;
    if (st.applied?.version === target.version && st.applied.digest === target.digest) {
      const advanced = pointer.seq > st.maxSeq;
      st.maxSeq = Math.max(st.maxSeq, pointer.seq);
      st.applied.seq = st.maxSeq;
      st.diskDigest = this.#digests.of(config);
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
      const { bytes, source } = await this.#bytes(target, blobs, nats);
      this.#stats[STAT_OF_SOURCE[source]]++;
      if (source !== "cache") toCache = bytes;
      await replaceFile(this.#config.configs[config]!, bytes, {
        env: this.#commandEnv(config, target),
        timeoutMs: this.#config.commandTimeoutSeconds * 1000,
        chunkDelayMs: this.#deps.writeChunkDelayMs ?? 0,
      });
      // The looks at the file that follow need not read back what was just written.
      this.#digests.wrote(config, target.digest);
    } catch (e) {
      if (!(e instanceof ApplyOutcome)) throw e;
      outcome = e;
    }
    const elapsedMs = performance.now() - started;
    this.#finish({ pointer, target, outcome, elapsedMs, preflight: false });
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
    verifier: Verifier,
  ): Promise<void> {
    const config = pointer.config;
    const last = this.#deps.stateOf(config).lastAck;
    if (last && last.seq === pointer.seq && last.version === version.version) return;
    const started = performance.now();
    let outcome: ApplyOutcome | undefined;
    let toCache: Uint8Array | undefined;
    try {
      try {
        verifyTarget(verifier, pointer, version);
      } catch (e) {
        throw new ApplyOutcome("rejected", (e as Error).message);
      }
      const nats = this.#deps.nats();
      const { bytes, source } = await this.#bytes(version, blobs, nats);
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
    const elapsedMs = performance.now() - started;
    this.#finish({ pointer, target: version, outcome, elapsedMs, preflight: true });
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

  /**
   * The verifier for `pointer`: when it or a version it embeds names a key the keys
   * trusted now do not know (a rotation whose notice has not arrived), the newest key set
   * is read first. A new key set forgets the pointers verified with the old one.
   */
  async #verifierFor(pointer: PointerRecord): Promise<Verifier> {
    const ids = [pointer.keyId, pointer.active.keyId, pointer.candidate?.version.keyId];
    for (const id of ids) {
      if (id === undefined || this.#deps.keys.verifier.knows(id)) continue;
      await this.#deps.refreshKeys(id).catch((e) =>
        this.#log.warn("cannot read the key set", { error: (e as Error).message })
      );
    }
    return this.#current();
  }

  /** The verifier when it knows every key `pointer` names (else undefined: read first). */
  #knownVerifier(pointer: PointerRecord): Verifier | undefined {
    const verifier = this.#deps.keys.verifier;
    if (
      !verifier.knows(pointer.keyId) || !verifier.knows(pointer.active.keyId) ||
      (pointer.candidate !== undefined && !verifier.knows(pointer.candidate.version.keyId))
    ) return undefined;
    return this.#current();
  }

  /** The verifier trusted now; a new one forgets the pointers verified with the old. */
  #current(): Verifier {
    const verifier = this.#deps.keys.verifier;
    if (verifier !== this.#memoVerifier) {
      this.#verified.clear();
      this.#memoVerifier = verifier;
    }
    return verifier;
  }

  /** The verified bytes of `version` (inline, cache, region copy, primary), as a span. */
  #bytes(version: VersionRecord, blobs: Record<string, string>, nats: AtlasNats | undefined) {
    const get = () =>
      verifiedBytes(version, {
        inline: blobs,
        cache: this.#cache,
        fetch: nats ? (digest) => readBlob(nats, this.#config.region, digest) : undefined,
      });
    if (!tracingOn) return get();
    return traced("atlas.agent.fetch", async () => {
      const got = await get();
      annotate(() => ({ "atlas.source": got.source, "atlas.bytes": got.bytes.length }));
      return got;
    }, { attributes: { "atlas.version": version.version } });
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

  #finish(o: Outcome): void {
    if (!tracingOn) return recordOutcome(this.#ctx, o);
    tracedSync("atlas.agent.ack", () => recordOutcome(this.#ctx, o), {
      attributes: {
        "atlas.version": o.target.version,
        "atlas.status": o.outcome?.status ?? (o.preflight ? "verified" : "applied"),
      },
    });
  }
}
