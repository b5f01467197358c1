/**
 * A signer that follows the key set: it signs with the set's signing key when it holds
 * it, else with another key it holds that is still active (the overlap of a rotation),
 * and refuses to sign with a retired or revoked key, or with none, saying what to do.
 *
 * Invariant: nothing is signed with a key the newest key set it took does not list as
 * active. It learns the set from the region's key-set notices and by reading `atlas_keys`
 * on a timer and on {@linkcode KeyRingSigner.refresh}.
 *
 * @module
 */
import {
  AtlasError,
  AtlasErrorCode,
  type KeySetRecord,
  KeyStatus,
  type RecordSigner,
  type Signer,
  Subjects,
  type TrustedKey,
  type Verifier,
} from "@atlas/core";
import type { Subscription } from "@nats-io/transport-node";
import type { AtlasNats } from "./connect.ts";
import type { KeyRing } from "./key_files.ts";
import { fetchKeySet } from "./keys_trust.ts";

/** Raised when a signer holds no key the key set lets it sign with. */
export class UnusableSigningKeyError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.signature });
    this.name = "UnusableSigningKeyError";
  }
}

/** Options of {@linkcode KeyRingSigner.start}. */
export interface KeyRingSignerOptions {
  /** Who signs, for messages. @default "this signer" */
  who?: string;
  /** Listen to this region's key-set notices. */
  region?: string;
  /** Read the key set this often. @default 5_000 */
  refreshMs?: number;
  /** Told when the key signed with changes, or a refresh fails. */
  onChange?: (event: { keyId?: string; error?: Error }) => void;
}

/**
 * Signs with the key the key set says, among the keys of a {@linkcode KeyRing}.
 *
 * @example
 * ```ts
 * await using signer = await KeyRingSigner.start(nats, ring, { region: "us-east" });
 * signer.sign({ n: 1 }); // throws UnusableSigningKeyError once its keys are retired
 * ```
 */
export class KeyRingSigner implements RecordSigner, AsyncDisposable {
  readonly #nats: AtlasNats;
  readonly #ring: KeyRing;
  readonly #who: string;
  readonly #onChange: KeyRingSignerOptions["onChange"];
  #set: KeySetRecord | null = null;
  #current: Signer | UnusableSigningKeyError;
  #sub: Subscription | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #refreshing: Promise<void> | undefined;

  private constructor(nats: AtlasNats, ring: KeyRing, options: KeyRingSignerOptions) {
    this.#nats = nats;
    this.#ring = ring;
    this.#who = options.who ?? "this signer";
    this.#onChange = options.onChange;
    this.#current = this.#choose();
  }

  /** Reads the key set once, then follows it until disposed. */
  static async start(
    nats: AtlasNats,
    ring: KeyRing,
    options: KeyRingSignerOptions = {},
  ): Promise<KeyRingSigner> {
    const signer = new KeyRingSigner(nats, ring, options);
    await signer.refresh();
    if (options.region !== undefined) {
      signer.#sub = nats.nc.subscribe(Subjects.keysNotice(options.region), {
        callback: () => {
          signer.refresh().catch(() => {});
        },
      });
    }
    signer.#timer = setInterval(
      () => signer.refresh().catch(() => {}),
      options.refreshMs ?? 5_000,
    );
    return signer;
  }

  /** The key set followed, once read. */
  get keySet(): KeySetRecord | null {
    return this.#set;
  }

  get keyId(): string {
    return this.#signer().keyId;
  }

  get trustedKey(): TrustedKey {
    return this.#signer().trustedKey;
  }

  get verifier(): Verifier {
    return this.#signer().verifier;
  }

  /** Throws {@linkcode UnusableSigningKeyError} when no held key may sign. */
  check(): Signer {
    return this.#signer();
  }

  sign<T extends Record<string, unknown>>(record: T): T & { keyId: string; signature: string } {
    return this.#signer().sign(record);
  }

  /** Reads the newest key set (and new key files) now. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    try {
      const bootstrap = this.#ring.keyIds.map((id) => this.#ring.get(id)!.trustedKey);
      const next = await fetchKeySet(this.#nats, { current: this.#set, bootstrap });
      if (next && next !== "unchanged") this.#set = next;
      // A rotation's new key may have been copied into the directory since.
      if (this.#set && !this.#ring.get(this.#set.signing)) await this.#ring.rescan();
      const before = this.#current;
      this.#current = this.#choose();
      const keyOf = (c: Signer | Error) => (c instanceof Error ? undefined : c.keyId);
      if (keyOf(before) !== keyOf(this.#current) || before instanceof Error) {
        this.#onChange?.(
          this.#current instanceof Error
            ? { error: this.#current }
            : { keyId: this.#current.keyId },
        );
      }
    } catch (e) {
      this.#onChange?.({ error: e as Error });
    }
  }

  #signer(): Signer {
    if (this.#current instanceof Error) throw this.#current;
    return this.#current;
  }

  #choose(): Signer | UnusableSigningKeyError {
    const set = this.#set;
    const held = this.#ring.keyIds;
    if (!set) {
      const first = held[0] && this.#ring.get(held[0]);
      return first || new UnusableSigningKeyError(`${this.#who} holds no signing key`);
    }
    const preferred = this.#ring.get(set.signing);
    if (preferred) return preferred;
    // The overlap of a rotation: a key still active signs until this one gets the new key.
    for (const k of [...set.keys].reverse()) {
      if (k.status !== KeyStatus.active) continue;
      const signer = this.#ring.get(k.keyId);
      if (signer) return signer;
    }
    const statuses = held.map((id) => {
      const entry = set.keys.find((k) => k.keyId === id);
      return `${id} (${entry ? entry.status : "not in the key set"})`;
    });
    return new UnusableSigningKeyError(
      `${this.#who} refuses to sign: it holds ${statuses.join(", ") || "no key"}, and key ` +
        `set ${set.seq} signs with ${set.signing}. Copy that key's file (${set.signing}.key in ` +
        `the control plane's key directory) into ${this.#ring.dir ?? "a --key-dir"} (read again ` +
        "without a restart), or start it with --signing-key <that file>",
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#timer);
    this.#sub?.unsubscribe();
    await this.#refreshing;
  }
}
