/**
 * NATS nkeys (Ed25519 key pairs, base32 with a role prefix and a CRC) whose curve
 * arithmetic is `node:crypto`'s, and NATS JWTs read and checked with them.
 *
 * Invariant: a {@linkcode NativeKeyPair} is the same key as `@nats-io/nkeys` makes from
 * the same seed (same public key, same signatures: Ed25519 is deterministic), so it can be
 * handed to `@nats-io/jwt` as its signer, and what it signs verifies with either library.
 * The encoding (prefix, base32, CRC-16) stays `@nats-io/nkeys`'s own `Codec`; only the
 * curve is replaced, because `@nats-io/nkeys` does it in pure JavaScript (tweetnacl) and
 * derives the key pair from the seed on every call: issuing a user's credentials took
 * 64 ms of CPU and connecting with them 47 ms, against about 1 ms each with this (100
 * sequential, bench/README.md "The cost of NATS authorization").
 *
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from "node:crypto";
import { type KeyPair, Prefix, Prefixes } from "@nats-io/nkeys";
import { Codec } from "@nats-io/nkeys/lib/codec.js";

/** PKCS#8 DER of an Ed25519 private key, before its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Raised when an nkey (seed or public key) cannot be decoded. */
export class NkeyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NkeyError";
  }
}

/**
 * An nkey pair backed by `node:crypto`, usable wherever `@nats-io/nkeys`'s `KeyPair` is
 * (as the `signer` of `@nats-io/jwt`'s `encodeUser`, for one).
 *
 * @example
 * ```ts
 * const user = NativeKeyPair.create(Prefix.User);
 * const again = NativeKeyPair.fromSeed(new TextDecoder().decode(user.getSeed()));
 * again.getPublicKey() === user.getPublicKey(); // true
 * ```
 */
export class NativeKeyPair implements KeyPair {
  /** The role of the key (user, account, operator). */
  readonly prefix: Prefix;
  readonly #publicKey: string;
  readonly #rawPublic: Uint8Array;
  #seed: Uint8Array | undefined;
  #raw: Uint8Array | undefined;
  #key: KeyObject | undefined;

  private constructor(prefix: Prefix, raw: Uint8Array, seed: Uint8Array) {
    this.prefix = prefix;
    this.#raw = raw;
    this.#seed = seed;
    this.#key = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, raw]),
      format: "der",
      type: "pkcs8",
    });
    const x = createPublicKey(this.#key).export({ format: "jwk" }).x!;
    this.#rawPublic = new Uint8Array(Buffer.from(x, "base64url"));
    this.#publicKey = dec.decode(Codec.encode(prefix, this.#rawPublic));
  }

  /**
   * The key pair of an encoded seed (`SU…`, `SA…`, `SO…`); throws an
   * {@linkcode NkeyError} when it is not one (wrong characters, length or checksum).
   */
  static fromSeed(seed: string | Uint8Array): NativeKeyPair {
    const bytes = typeof seed === "string" ? enc.encode(seed.trim()) : seed;
    let decoded;
    try {
      decoded = Codec.decodeSeed(bytes);
    } catch (cause) {
      throw new NkeyError(
        "Not a valid nkey seed (it must be the base32 seed of a NATS .creds file, starting " +
          `with "S", unaltered): ${(cause as Error).message}`,
        { cause },
      );
    }
    if (decoded.buf.length !== 32) {
      throw new NkeyError(`Not a valid nkey seed: ${decoded.buf.length} bytes, expected 32`);
    }
    if (decoded.prefix === Prefix.Curve) {
      throw new NkeyError("Not a signing nkey seed: a curve (X25519) seed cannot sign");
    }
    return new NativeKeyPair(decoded.prefix, decoded.buf, bytes);
  }

  /** A new random key pair of the role `prefix` (`Prefix.User`, `Prefix.Account`, …). */
  static create(prefix: Prefix): NativeKeyPair {
    const raw = new Uint8Array(randomBytes(32));
    return new NativeKeyPair(prefix, raw, Codec.encodeSeed(prefix, raw));
  }

  #live(): { key: KeyObject; raw: Uint8Array; seed: Uint8Array } {
    if (!this.#key || !this.#raw || !this.#seed) {
      throw new NkeyError("This key pair was cleared and cannot be used any more");
    }
    return { key: this.#key, raw: this.#raw, seed: this.#seed };
  }

  /** The encoded public key (`U…`, `A…`, `O…`). */
  getPublicKey(): string {
    return this.#publicKey;
  }

  /** The encoded private key (`P…`: seed and public key, as `@nats-io/nkeys` encodes it). */
  getPrivateKey(): Uint8Array {
    const { raw } = this.#live();
    const secret = new Uint8Array(64);
    secret.set(raw, 0);
    secret.set(this.#rawPublic, 32);
    return Codec.encode(Prefix.Private, secret);
  }

  /** The encoded seed (a secret). */
  getSeed(): Uint8Array {
    return this.#live().seed;
  }

  /** The Ed25519 signature (64 bytes) of `input`. */
  sign(input: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, input, this.#live().key));
  }

  /** Whether `sig` is this key's signature of `input`. */
  verify(input: Uint8Array, sig: Uint8Array): boolean {
    return verifyNkeySignature(this.#publicKey, input, sig);
  }

  /** Forgets the secret; the pair cannot sign after this. */
  clear(): void {
    this.#seed?.fill(0);
    this.#raw?.fill(0);
    this.#seed = this.#raw = this.#key = undefined;
  }

  /** Signing keys do not seal (only curve keys do). */
  seal(_input: Uint8Array, _recipient: string, _nonce?: Uint8Array): Uint8Array {
    throw new NkeyError("An Ed25519 signing nkey cannot seal; use a curve key");
  }

  /** Signing keys do not open sealed payloads (only curve keys do). */
  open(_message: Uint8Array, _sender: string): Uint8Array | null {
    throw new NkeyError("An Ed25519 signing nkey cannot open; use a curve key");
  }
}

const publicKeys = new Map<string, KeyObject>();

/**
 * The raw 32 bytes of an encoded public nkey (`U…`, `A…`, `O…`); throws an
 * {@linkcode NkeyError} on anything else (a seed, a bad checksum).
 */
export function rawNkeyPublicKey(publicKey: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = Codec._decode(enc.encode(publicKey)); // base32 and CRC-16
  } catch (cause) {
    throw new NkeyError(`Not a valid public nkey ${JSON.stringify(publicKey)}`, { cause });
  }
  if (raw.length !== 33 || !Prefixes.isValidPublicPrefix(raw[0]!) || raw[0] === Prefix.Curve) {
    throw new NkeyError(
      `Not a public signing nkey ${JSON.stringify(publicKey.slice(0, 8))}…: expected a user, ` +
        'account, operator or server key (starting with "U", "A", "O" or "N")',
    );
  }
  return raw.slice(1);
}

function publicKeyObject(publicKey: string): KeyObject {
  let key = publicKeys.get(publicKey);
  if (!key) {
    const x = Buffer.from(rawNkeyPublicKey(publicKey)).toString("base64url");
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    // One entry per key seen; bounded so a flood of made-up keys cannot grow it.
    if (publicKeys.size >= 100_000) publicKeys.clear();
    publicKeys.set(publicKey, key);
  }
  return key;
}

/**
 * Whether `sig` is the Ed25519 signature of `input` by the encoded public nkey
 * `publicKey`; false for a malformed key or signature.
 */
export function verifyNkeySignature(
  publicKey: string,
  input: Uint8Array,
  sig: Uint8Array,
): boolean {
  try {
    return verify(null, input, publicKeyObject(publicKey), sig);
  } catch {
    return false;
  }
}

/** The standard claims of a NATS JWT, and its `nats` section. */
export interface NatsJwtClaims<T = Record<string, unknown>> {
  jti?: string;
  iat: number;
  iss: string;
  name: string;
  sub: string;
  exp?: number;
  nats: T & { type?: string; version?: number; issuer_account?: string };
}

/**
 * The claims of a NATS JWT (v2, `ed25519-nkey`), after checking its issuer's signature:
 * what `@nats-io/jwt`'s `decode` does, with `node:crypto`. Throws an {@linkcode NkeyError}
 * when the JWT is malformed or its signature does not verify.
 *
 * @example
 * ```ts
 * const claims = decodeNatsJwt(parseCredsText(creds).jwt);
 * claims.sub; // the user's public key
 * ```
 */
export function decodeNatsJwt<T = Record<string, unknown>>(jwt: string): NatsJwtClaims<T> {
  const parts = jwt.split(".");
  if (parts.length !== 3) {
    throw new NkeyError(`Not a JWT: ${parts.length} parts separated by ".", expected 3`);
  }
  const [h, b, s] = parts as [string, string, string];
  let header: { typ?: string; alg?: string };
  let claims: NatsJwtClaims<T>;
  try {
    header = JSON.parse(Buffer.from(h, "base64url").toString());
    claims = JSON.parse(Buffer.from(b, "base64url").toString());
  } catch (cause) {
    throw new NkeyError("Not a JWT: its header or claims are not base64url JSON", { cause });
  }
  if (header.typ?.toLowerCase() !== "jwt" || header.alg !== "ed25519-nkey") {
    throw new NkeyError(
      `Not a NATS v2 JWT (typ ${JSON.stringify(header.typ)}, alg ${JSON.stringify(header.alg)})`,
    );
  }
  if (typeof claims.iss !== "string") throw new NkeyError("The JWT names no issuer (iss)");
  const signed = enc.encode(`${h}.${b}`);
  if (!verifyNkeySignature(claims.iss, signed, Buffer.from(s, "base64url"))) {
    throw new NkeyError(`The JWT's signature does not verify with its issuer ${claims.iss}`);
  }
  return claims;
}
