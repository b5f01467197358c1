/**
 * Digests, canonical encoding and Ed25519 signatures of Atlas records.
 *
 * A signature covers the canonical JSON (keys sorted, no insignificant white space) of
 * every field of the record except `signature` itself; `keyId` is inside what is signed,
 * so a signature cannot be moved to another key. `node:crypto` is used because it is
 * several times faster than WebCrypto on small inputs (bench/README.md, measured facts).
 *
 * @module
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { z } from "zod";
import { AtlasError, AtlasErrorCode } from "./errors.ts";

/** Raised when a record's signature does not verify or its key is not trusted. */
export class SignatureError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.signature });
    this.name = "SignatureError";
  }
}

/** SHA-256 of `data` as 64 lowercase hex characters. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Canonical JSON: object keys sorted, `undefined` members dropped, no white space.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, { d: null, c: "x" }] }); // '{"a":[true,{"c":"x","d":null}],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value !== null && typeof value === "object") {
    // One JSON.stringify of a key-sorted copy: half the time of encoding member by member
    // (1.6 against 3.1 µs for a pointer, measured), and every agent encodes each pointer it
    // verifies and each ack it signs. Keys that a copy would not keep in sorted order
    // (integer-like keys, which JavaScript objects list first, and `__proto__`) and values
    // JSON.stringify would encode otherwise take the member-by-member path.
    try {
      return JSON.stringify(_sortedCopy(value));
    } catch (e) {
      if (e !== _MEMBERWISE) throw e;
    }
  }
  return _canonicalJson(value);
}

/** Thrown by {@linkcode _sortedCopy} for what only the member-by-member path encodes. */
const _MEMBERWISE = Symbol("memberwise");

/** A copy of `value` whose objects list their keys sorted (see {@linkcode canonicalJson}). */
function _sortedCopy(value: unknown): unknown {
  if (value === null) return value;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`Cannot encode non-finite number ${value} canonically`);
      }
      return value;
    case "object":
      break;
    default:
      throw _MEMBERWISE;
  }
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v === undefined) throw _MEMBERWISE;
      out[i] = _sortedCopy(v);
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = record[k];
    if (v === undefined) continue;
    const c = k.charCodeAt(0);
    if ((c >= 48 && c <= 57) || k === "__proto__") throw _MEMBERWISE;
    out[k] = _sortedCopy(v);
  }
  return out;
}

/** Canonical JSON member by member (the reference encoding). */
function _canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new TypeError(`Cannot encode non-finite number ${value} canonically`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(_canonicalJson).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = "{";
  for (const k of keys) {
    const v = record[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? "," : ""}${JSON.stringify(k)}:${_canonicalJson(v)}`;
  }
  return `${out}}`;
}

/** A private signing key as stored on disk (JSON, mode 0600). */
export const SigningKeyFile = z.object({
  algorithm: z.literal("ed25519"),
  keyId: z.string(),
  /** PKCS#8 DER, base64. */
  privateKey: z.string(),
  /** Raw 32-byte public key, base64. */
  publicKey: z.string(),
  createdAt: z.string(),
});
export type SigningKeyFile = z.infer<typeof SigningKeyFile>;

/** A public key an agent trusts. */
export const TrustedKey = z.object({
  algorithm: z.literal("ed25519"),
  keyId: z.string(),
  /** Raw 32-byte public key, base64. */
  publicKey: z.string(),
});
export type TrustedKey = z.infer<typeof TrustedKey>;

/** The trusted keys file an agent reads (`GET /v1/keys` serves it). */
export const TrustedKeysFile = z.object({ keys: z.array(TrustedKey) });
export type TrustedKeysFile = z.infer<typeof TrustedKeysFile>;

function keyIdOf(rawPublicKey: Uint8Array): string {
  return `ed25519-${sha256Hex(rawPublicKey).slice(0, 16)}`;
}

function publicKeyObject(rawBase64: string): KeyObject {
  const x = Buffer.from(rawBase64, "base64").toString("base64url");
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
}

/**
 * Generates a new Ed25519 signing key.
 *
 * @example
 * ```ts
 * const key = generateSigningKey();
 * await Deno.writeTextFile("signing.key", JSON.stringify(key), { mode: 0o600 });
 * ```
 */
export function generateSigningKey(): SigningKeyFile {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  const raw = Buffer.from(jwk.x!, "base64url");
  return {
    algorithm: "ed25519",
    keyId: keyIdOf(raw),
    privateKey: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
    publicKey: raw.toString("base64"),
    createdAt: new Date().toISOString(),
  };
}

/**
 * What signs records: a {@linkcode Signer}, or one that follows the key set and signs
 * with its current key (`KeyRingSigner` in `@atlas/store`).
 */
export interface RecordSigner {
  /** The key id the next signature is made with. */
  readonly keyId: string;
  /** Its public half. */
  readonly trustedKey: TrustedKey;
  /** Verifies what this key signed. */
  readonly verifier: Verifier;
  /** Returns `record` with `keyId` and `signature` set. */
  sign<T extends Record<string, unknown>>(record: T): T & { keyId: string; signature: string };
}

/** A loaded signing key: signs records with one key id. */
export class Signer implements RecordSigner {
  readonly keyId: string;
  readonly trustedKey: TrustedKey;
  /** Verifies what this key signed (see {@linkcode Verifier.verifyEmbedded}). */
  readonly verifier: Verifier;
  readonly #key: KeyObject;

  constructor(file: SigningKeyFile) {
    const parsed = SigningKeyFile.parse(file);
    this.keyId = parsed.keyId;
    this.trustedKey = { algorithm: "ed25519", keyId: parsed.keyId, publicKey: parsed.publicKey };
    // Activating one version in several regions checks the same record once per region.
    this.verifier = new Verifier([this.trustedKey], { remember: 1_024 });
    this.#key = createPrivateKey({
      key: Buffer.from(parsed.privateKey, "base64"),
      format: "der",
      type: "pkcs8",
    });
  }

  /**
   * Returns `record` with `keyId` and `signature` set.
   *
   * @example
   * ```ts
   * const signed = signer.sign({ config: "web", version: 1 });
   * ```
   */
  sign<T extends Record<string, unknown>>(record: T): T & { keyId: string; signature: string } {
    const { signature: _drop, ...rest } = record as T & { signature?: string };
    const body = { ...rest, keyId: this.keyId };
    const signed = canonicalJson(body);
    const signature = sign(null, Buffer.from(signed), this.#key).toString("base64");
    // What this key just signed verifies: its own verifier need not check it again (an
    // activation checks the version it embeds, most often one this process just signed).
    _noteVerified.get(this.verifier)?.(`${signature} ${signed}`);
    return { ...(body as T & { keyId: string }), signature };
  }
}

/** Options of {@linkcode Verifier}. */
export interface VerifierOptions {
  /**
   * Remember this many records that verified (their exact signed bytes and signature), so
   * checking one again costs a lookup instead of an Ed25519 verify (~50 µs). Off by default:
   * an agent checks each record once anyway.
   */
  remember?: number;
  /**
   * Key ids that are known but not trusted, with why (`"revoked in key set 4"`): a record
   * signed by one is refused with that reason instead of "untrusted key".
   */
  refused?: Readonly<Record<string, string>>;
}

/** Lets a {@linkcode Signer} put what it signed into its own verifier's memo (this module only). */
const _noteVerified = new WeakMap<Verifier, (memo: string) => void>();

/** The set of public keys a verifier trusts. */
export class Verifier {
  readonly #keys = new Map<string, KeyObject>();
  readonly #trusted: readonly TrustedKey[];
  readonly #remember: number;
  readonly #refused: Readonly<Record<string, string>>;
  /** Signed bytes and signature of records that verified, oldest first. */
  readonly #verified = new Set<string>();

  constructor(keys: readonly TrustedKey[], options: VerifierOptions = {}) {
    for (const k of keys) this.#keys.set(k.keyId, publicKeyObject(k.publicKey));
    this.#trusted = [...keys];
    this.#remember = options.remember ?? 0;
    this.#refused = options.refused ?? {};
    if (this.#remember > 0) _noteVerified.set(this, (memo) => this.#note(memo));
  }

  #note(memo: string): void {
    this.#verified.add(memo);
    for (const oldest of this.#verified) {
      if (this.#verified.size <= this.#remember) break;
      this.#verified.delete(oldest);
    }
  }

  /** True when `keyId` is trusted, or known as not trusted (retired, revoked). */
  knows(keyId: string): boolean {
    return this.#keys.has(keyId) || Object.hasOwn(this.#refused, keyId);
  }

  /** The keys this verifier trusts, as given. */
  get trustedKeys(): readonly TrustedKey[] {
    return this.#trusted;
  }

  /** Key ids this verifier trusts. */
  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /**
   * Throws `SignatureError` unless `record.signature` is a valid signature by a trusted
   * key over every other field of `record`.
   */
  verify(
    what: string,
    record: { keyId: string; signature: string; [field: string]: unknown },
  ): void {
    const key = this.#keys.get(record.keyId);
    if (!key) {
      const why = Object.hasOwn(this.#refused, record.keyId) ? this.#refused[record.keyId] : null;
      if (why) {
        throw new SignatureError(
          `${what} is signed by key ${record.keyId}, which is ${why}: refused. A pointer is ` +
            "signed again by activating its version again; a version, by publishing its " +
            "content again (a new version, signed with the current key)",
        );
      }
      throw new SignatureError(
        `${what} is signed by untrusted key ${JSON.stringify(record.keyId)}; trusted: ` +
          `${this.keyIds.join(", ") || "(none)"}. Add the key to the trusted keys file ` +
          `(GET /v1/keys) if it is yours`,
      );
    }
    const { signature, ...body } = record;
    const signed = canonicalJson(body);
    const memo = this.#remember > 0 ? `${signature} ${signed}` : undefined;
    if (memo !== undefined && this.#verified.has(memo)) return;
    const ok = verify(null, Buffer.from(signed), key, Buffer.from(signature, "base64"));
    if (!ok) throw new SignatureError(`${what} has an invalid signature (key ${record.keyId})`);
    if (memo !== undefined) this.#note(memo);
  }

  /**
   * Checks a record that came embedded in a pointer whose signature has already been
   * verified. The pointer's signature covers the record byte for byte, and the signer of a
   * pointer verifies every record carrying its own key before embedding it (`writePointer`):
   * such a record is proven by the pointer, and one signature check per apply is saved. A
   * record signed by another key (an older key, or another signer) is verified here.
   */
  verifyEmbedded(
    what: string,
    record: { keyId: string; signature: string; [field: string]: unknown },
    pointerKeyId: string,
  ): void {
    if (record.keyId !== pointerKeyId) this.verify(what, record);
  }
}
