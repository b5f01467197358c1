/**
 * The checks every reader of a pointer makes before it uses what the pointer names, in
 * one place for the agent and the SDK: the pointer's signature, the version it names
 * for this reader (signed, and of the pointer's own config), and the content's bytes
 * (SHA-256 and size, both signed in the version record).
 *
 * @example
 * ```ts
 * verifyPointer(verifier, pointer);
 * const target = targetOf(pointer, "web-17");
 * verifyTarget(verifier, pointer, target);
 * verifyContent(target, bytes, "the object store");
 * ```
 *
 * @module
 */
import { sha256Hex, SignatureError, type Verifier } from "./crypto.ts";
import { AtlasError, AtlasErrorCode } from "./errors.ts";
import type { PointerRecord, VersionRecord } from "./schemas.ts";

/** Raised when content does not match the digest or size its signed version record names. */
export class ContentMismatchError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.integrity });
    this.name = "ContentMismatchError";
  }
}

/**
 * Throws `SignatureError` unless `pointer` is signed by a key `verifier` trusts. Its
 * `seq` (and everything else in it) is to be trusted only after this.
 *
 * @example
 * ```ts
 * verifyPointer(verifier, notice.pointer);
 * ```
 */
export function verifyPointer(verifier: Verifier, pointer: PointerRecord): void {
  verifier.verify(`pointer ${pointer.region}/${pointer.config} seq ${pointer.seq}`, pointer);
}

/**
 * Throws `SignatureError` unless `target` (one of the versions `pointer` embeds, see
 * `targetOf`) is signed and belongs to the pointer's config. Call it after
 * {@linkcode verifyPointer}: a version under the pointer's key is proven by the pointer's
 * signature (`Verifier.verifyEmbedded`).
 *
 * @example
 * ```ts
 * verifyTarget(verifier, pointer, targetOf(pointer, agentId));
 * ```
 */
export function verifyTarget(
  verifier: Verifier,
  pointer: PointerRecord,
  target: VersionRecord,
): void {
  verifier.verifyEmbedded(`version ${target.config} v${target.version}`, target, pointer.keyId);
  if (target.config !== pointer.config) {
    throw new SignatureError(`pointer for ${pointer.config} names a version of ${target.config}`);
  }
}

/**
 * Throws {@linkcode ContentMismatchError} unless `bytes` have the SHA-256 and the size
 * of signed version `target`. `from` says where the bytes came from, for the message
 * (`"the object store"`).
 *
 * @example
 * ```ts
 * verifyContent(target, bytes, "the notice");
 * ```
 */
export function verifyContent(target: VersionRecord, bytes: Uint8Array, from: string): void {
  const digest = sha256Hex(bytes);
  if (digest === target.digest && bytes.length === target.size) return;
  throw new ContentMismatchError(
    `content from ${from} does not match the signed version: sha256 ${digest} ` +
      `(${bytes.length} bytes), expected ${target.digest} (${target.size} bytes)`,
  );
}

/**
 * The bytes of `digest` carried in a notice (base64 by digest), or undefined.
 *
 * @example
 * ```ts
 * const bytes = inlineBytes(notice.blobs, target.digest);
 * ```
 */
export function inlineBytes(
  blobs: Readonly<Record<string, string>>,
  digest: string,
): Uint8Array | undefined {
  const b64 = blobs[digest];
  return b64 === undefined ? undefined : new Uint8Array(Buffer.from(b64, "base64"));
}
