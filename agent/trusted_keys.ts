/**
 * The keys an agent trusts: its trusted keys file until it takes a key set, then the
 * newest key set it took (core/key_set.ts decides which sets it may take).
 *
 * Invariants: a key set is taken only through `acceptKeySet` (newer, signed by a key
 * trusted now, retired and revoked final); it is persisted (`<stateDir>/keyset.json`,
 * atomic) before it is used, so a restart never trusts a key the agent had seen revoked;
 * sets are taken one at a time, in the order offered. A refused set changes nothing.
 *
 * @module
 */
import {
  acceptKeySet,
  KeySetError,
  KeySetRecord,
  type TrustedKey,
  type Verifier,
  verifierOfKeySet,
} from "@atlas/core";
import {
  type AtlasNats,
  fetchKeySet,
  type Logger,
  readFileOrNull,
  writeFileAtomic,
} from "@atlas/store";

/** Options of {@linkcode TrustedKeys.load}. */
export interface TrustedKeysOptions {
  /** The root of trust for the first key set (the trusted keys file's keys). */
  bootstrap: readonly TrustedKey[];
  /** Verifier before any key set is taken. @default one of `bootstrap` */
  verifier: Verifier;
  /** Where the key set taken is kept. */
  stateDir: string;
  log: Logger;
}

/** Where the key set an agent took is persisted. */
export function keySetPath(stateDir: string): string {
  return `${stateDir}/keyset.json`;
}

/**
 * The verifier an agent checks pointers and versions with, following the key set.
 *
 * @example
 * ```ts
 * const keys = new TrustedKeys({ bootstrap, verifier, stateDir, log }, await TrustedKeys.readSet(dir));
 * await keys.offer(notice.keySet); // false when refused (logged)
 * keys.verifier.verify("pointer", pointer);
 * ```
 */
export class TrustedKeys {
  readonly #bootstrap: readonly TrustedKey[];
  readonly #path: string;
  readonly #log: Logger;
  #set: KeySetRecord | null;
  #verifier: Verifier;
  /** The offers and fetches in turn: one set is taken at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Unknown key ids looked for, and when (the newest 64). */
  readonly #lookedFor = new Map<string, number>();

  /** Starts from `set`, the key set taken before ({@linkcode TrustedKeys.readSet}). */
  constructor(options: TrustedKeysOptions, set: KeySetRecord | null) {
    this.#bootstrap = options.bootstrap;
    this.#path = keySetPath(options.stateDir);
    this.#log = options.log;
    this.#set = set;
    this.#verifier = set ? verifierOfKeySet(set) : options.verifier;
  }

  /** The key set taken before, kept in `stateDir`, or null. */
  static async readSet(stateDir: string): Promise<KeySetRecord | null> {
    const bytes = await readFileOrNull(keySetPath(stateDir));
    let set: KeySetRecord | null = null;
    if (bytes) {
      try {
        set = KeySetRecord.parse(JSON.parse(new TextDecoder().decode(bytes)));
      } catch (cause) {
        throw new Error(
          `Key set ${keySetPath(stateDir)} is unreadable: move it aside (the agent ` +
            "then takes the newest key set again, from its trusted keys file on)",
          { cause },
        );
      }
    }
    return set;
  }

  /** The verifier of the keys trusted now. */
  get verifier(): Verifier {
    return this.#verifier;
  }

  /** The key set taken, if any. */
  get keySet(): KeySetRecord | null {
    return this.#set;
  }

  /** Takes `set` if the key-set rule allows it; false (logged) when refused or not newer. */
  offer(set: KeySetRecord): Promise<boolean> {
    return this.#serial(async () => {
      try {
        const next = acceptKeySet(set, { current: this.#set, bootstrap: this.#bootstrap });
        if (next === "unchanged") return false;
        await this.#take(next);
        return true;
      } catch (e) {
        if (!(e instanceof KeySetError)) throw e;
        this.#log.warn("refused a key set", { seq: set.seq, error: e.message });
        return false;
      }
    });
  }

  /** Reads the newest key set (and the sets between) from NATS and takes it. */
  fetch(nats: AtlasNats): Promise<void> {
    return this.#serial(() => this.#fetch(nats));
  }

  /**
   * Reads the newest key set because a record names `keyId`, which the keys trusted now
   * do not know (a rotation whose notice has not arrived). Skipped when the key is known
   * by the time it runs, or was looked for less than `minIntervalMs` ago: a stream of
   * records by a forged key id costs one read per second.
   */
  fetchFor(nats: AtlasNats, keyId: string, minIntervalMs = 1_000): Promise<void> {
    return this.#serial(async () => {
      if (this.#verifier.knows(keyId)) return;
      const last = this.#lookedFor.get(keyId);
      if (last !== undefined && performance.now() - last < minIntervalMs) return;
      this.#lookedFor.delete(keyId);
      this.#lookedFor.set(keyId, performance.now());
      for (const oldest of this.#lookedFor.keys()) {
        if (this.#lookedFor.size <= 64) break;
        this.#lookedFor.delete(oldest);
      }
      await this.#fetch(nats);
    });
  }

  async #fetch(nats: AtlasNats): Promise<void> {
    try {
      const next = await fetchKeySet(nats, { current: this.#set, bootstrap: this.#bootstrap });
      if (next && next !== "unchanged") await this.#take(next);
    } catch (e) {
      if (!(e instanceof KeySetError)) throw e;
      this.#log.warn("refused the stored key set", { error: e.message });
    }
  }

  async #take(set: KeySetRecord): Promise<void> {
    await writeFileAtomic(this.#path, new TextEncoder().encode(JSON.stringify(set)), {
      mode: 0o600,
    });
    this.#set = set;
    this.#verifier = verifierOfKeySet(set);
    this.#log.info("took a key set", {
      seq: set.seq,
      signing: set.signing,
      keys: set.keys.map((k) => `${k.keyId}:${k.status}`).join(","),
    });
  }

  /** Resolves once no key-set read or offer is running. */
  idle(): Promise<void> {
    return this.#queue.then(() => {});
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}
