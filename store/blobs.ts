/**
 * The blobs object store's layout (that of `@nats-io/obj` 3.4), and storing a blob by
 * writing it directly.
 *
 * An object is the last message on `$O.atlas_blobs.M.<base64url(name)>`, its metadata,
 * and its chunks: the messages on `$O.atlas_blobs.C.<nuid>`, in stream order, which
 * precede the metadata. Reads of a region's copy (blob_mirror.ts) follow this layout, and
 * so does {@linkcode storeBlob}, which the object store client then reads like any
 * object it stored itself.
 *
 * The client's `put` costs four round trips for a small blob (its own existence check,
 * the chunk, the metadata, plus the caller's check for dedupe). {@linkcode storeBlob}
 * costs two: the chunk, then the metadata as a create-only write (expected last subject
 * sequence 0), which tells at once whether the blob was there already.
 *
 * @module
 */
import { nuid } from "@nats-io/transport-node";
import { z } from "zod";
import type { AtlasNats } from "./connect.ts";
import { isCasConflict } from "./retry.ts";
import { blobName, Buckets } from "@atlas/core";

/** The name of the blobs object store's stream. */
export const BLOBS_STREAM = `OBJ_${Buckets.blobs}`;

/** The fields of an object store `ObjectInfo` record Atlas relies on. */
export const ObjectMeta = z.object({
  name: z.string(),
  nuid: z.string(),
  size: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  digest: z.string(),
  deleted: z.boolean().optional(),
  options: z.object({ link: z.unknown().optional() }).nullish(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

const DIGEST_PREFIX = "SHA-256=";
/** The client's chunk size; a smaller server `max_payload` lowers it. */
const MAX_CHUNK = 128 * 1024;

function _base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replaceAll("+", "-").replaceAll("/", "_");
}

/** Subject of an object's metadata: `@nats-io/obj` encodes the name base64url, padded. */
export function blobMetaSubject(name: string): string {
  return `$O.${Buckets.blobs}.M.${_base64url(new TextEncoder().encode(name))}`;
}

/** Subject of an object's chunks. */
export function blobChunkSubject(nuid: string): string {
  return `$O.${Buckets.blobs}.C.${nuid}`;
}

/** The object store's digest (`SHA-256=` then base64url, or hex from other clients) as hex. */
export function objectDigestHex(digest: string): string | undefined {
  if (!digest.startsWith(DIGEST_PREFIX)) return undefined;
  const value = digest.slice(DIGEST_PREFIX.length);
  if (/^[0-9a-fA-F]{64}$/.test(value)) return value.toLowerCase();
  try {
    const bytes = Buffer.from(value.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    return bytes.length === 32 ? bytes.toString("hex") : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses an object's metadata message; throws an error saying what is wrong when it is
 * not JSON or not an object store record.
 */
export function parseObjectMeta(data: Uint8Array): ObjectMeta {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch (e) {
    throw new Error(`not JSON (${(e as Error).message})`, { cause: e });
  }
  return ObjectMeta.parse(json);
}

/** Attempts at the metadata write: only a deleted object being replaced concurrently costs one. */
const META_ATTEMPTS = 5;

/**
 * Stores `bytes`, whose SHA-256 is `digest` (hex, computed by the caller), as blob
 * `sha256-<digest>` in the blobs object store, unless it is there already. Returns
 * whether this call stored it. A deleted blob is stored again.
 *
 * The chunks go first, then the metadata as a create-only write, so a reader never sees
 * metadata without its chunks. When the metadata write finds the blob already stored
 * (an earlier version, a concurrent publisher of the same bytes, or this call's own
 * write retried after a lost answer), the chunks just written are purged again, as they
 * are when a chunk write fails. Errors are thrown as they come (see `retryTransient`): a
 * retry is safe, and finds the blob stored when the failed call stored it after all.
 *
 * @example
 * ```ts
 * const stored = await storeBlob(nats, sha256Hex(bytes), bytes);
 * ```
 */
export async function storeBlob(
  nats: AtlasNats,
  digest: string,
  bytes: Uint8Array,
): Promise<boolean> {
  const name = blobName(digest);
  const id = nuid.next();
  const chunkSubject = blobChunkSubject(id);
  const maxChunk = Math.min(MAX_CHUNK, nats.nc.info?.max_payload ?? MAX_CHUNK);
  const meta = {
    name,
    description: "",
    options: { max_chunk_size: maxChunk },
    bucket: Buckets.blobs,
    nuid: id,
    size: bytes.byteLength,
    chunks: Math.ceil(bytes.byteLength / maxChunk),
    mtime: new Date().toISOString(),
    digest: `${DIGEST_PREFIX}${_base64url(Buffer.from(digest, "hex"))}`,
    deleted: false,
  };
  const purgeChunks = () =>
    nats.jsm.streams.purge(BLOBS_STREAM, { filter: chunkSubject }).catch(() => {});
  try {
    for (let at = 0; at < bytes.byteLength; at += maxChunk) {
      await nats.publisher.publish(chunkSubject, bytes.subarray(at, at + maxChunk));
    }
  } catch (e) {
    await purgeChunks();
    throw e;
  }
  // Expected last subject sequence: 0 for a new blob, else the deleted one's metadata.
  let expected = 0;
  for (let attempt = 1; attempt <= META_ATTEMPTS; attempt++) {
    try {
      await nats.publisher.publish(blobMetaSubject(name), JSON.stringify(meta), {
        headers: { "Nats-Rollup": "sub", "Nats-Expected-Last-Subject-Sequence": `${expected}` },
      });
      return true;
    } catch (e) {
      // Any other failure leaves the chunks: the metadata may have been stored all the same.
      if (!isCasConflict(e)) throw e;
    }
    const current = await nats.jsm.streams.getMessage(BLOBS_STREAM, {
      last_by_subj: blobMetaSubject(name),
    });
    let found: ObjectMeta | undefined;
    try {
      found = current ? parseObjectMeta(current.data) : undefined;
    } catch (e) {
      await purgeChunks();
      throw new Error(
        `Storing blob ${name}: the metadata already on ${blobMetaSubject(name)} (seq ` +
          `${current!.seq}) is not an object store record (${(e as Error).message}); remove ` +
          `it (\`nats object rm ${Buckets.blobs} ${name}\`) and publish again`,
        { cause: e },
      );
    }
    if (found && !found.deleted) {
      await purgeChunks(); // stored already (by another publisher, or by our retried write)
      return false;
    }
    expected = current?.seq ?? 0;
  }
  throw new Error(
    `Storing blob ${name}: its metadata kept changing under ${META_ATTEMPTS} attempts; try again`,
  );
}
