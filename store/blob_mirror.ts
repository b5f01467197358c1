/**
 * Reading blobs by message gets, from a region's copy of the blobs object store (so an
 * agent's fetch does not cross a gateway and still works while its region is cut off from
 * the primary), else from the primary object store itself. No consumer is created per
 * read, which keeps an agent's permissions to one or two API subjects per stream.
 *
 * The copy is a mirror stream of `OBJ_atlas_blobs` ({@linkcode blobMirrorStream}, made
 * by `provisionRegion`). A mirror keeps the origin's subjects (nats-server 2.9 has no
 * subject transforms), which the object store client cannot open as a bucket, so the
 * object store's layout (blobs.ts) is read here directly, the same way for both streams.
 *
 * The copy is read with JetStream direct gets (the JSON request form, one API subject),
 * which the copy's own replicas answer without the JetStream meta leader, so reads keep
 * working in a region cut off from the primary. The stream message-get API does not: on
 * nats-server 2.9.10 it answers "JetStream system temporarily unavailable" (10008) from
 * about 9 s after a region loses the meta leader, and in the seconds before that it can
 * wrongly answer "stream not found" (seen under load in the gateway fault test). A direct
 * get to a stream that does not exist gets no answer, only a timeout, so whether the
 * region has a copy at all is asked once with a stream info (which does answer in a cut
 * region) and remembered for a minute. Any replica may answer a direct get, even a
 * lagging one: a chunk it lacks is an error, and the caller falls back to the primary.
 *
 * The primary is read with the stream message-get API, which the stream leader answers:
 * never a replica that is still catching up (a direct get to the primary could answer
 * "no such blob" just after a partition heals, seen in the gateway fault test).
 *
 * @module
 */
import type { LastForMsgRequest, SeqMsgRequest } from "@nats-io/jetstream";
import type { AtlasNats } from "./connect.ts";
import { blobMirrorStream, blobName, concatBytes, sha256Hex } from "@atlas/core";
import {
  blobChunkSubject,
  blobMetaSubject,
  BLOBS_STREAM,
  objectDigestHex,
  type ObjectMeta,
  parseObjectMeta,
} from "./blobs.ts";

/** Raised when a stream holds a blob whose chunks do not add up to its metadata. */
export class BlobCopyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BlobCopyError";
  }
}

/** A message, by sequence and subject, or the last one of a subject. */
type _Query = LastForMsgRequest | (SeqMsgRequest & { next_by_subj: string });
/** One stored message as the blob reader needs it. */
type _Msg = { seq: number; data: Uint8Array };
/** Gets one message of a stream, or null when there is none. */
type _Get = (query: _Query) => Promise<_Msg | null>;

/** How long the answer "this region has (no) copy" is trusted. */
const EXISTS_TTL_MS = 60_000;
const _exists = new WeakMap<AtlasNats, Map<string, { exists: boolean; at: number }>>();

/** True when `stream` exists (asked at most once a minute per connection). */
async function _streamExists(nats: AtlasNats, stream: string): Promise<boolean> {
  let known = _exists.get(nats);
  if (!known) _exists.set(nats, known = new Map());
  const hit = known.get(stream);
  if (hit && Date.now() - hit.at < EXISTS_TTL_MS) return hit.exists;
  const exists = (await nats.streamInfo(stream)) !== null;
  known.set(stream, { exists, at: Date.now() });
  return exists;
}

/**
 * A direct get in its JSON request form to `$JS.API.DIRECT.GET.<stream>`, also for the
 * last message of a subject (nats.js would put that subject in the API subject, a second
 * permission per stream).
 */
function _directGet(nats: AtlasNats, stream: string): _Get {
  return async (query) => {
    const r = await nats.nc.request(`$JS.API.DIRECT.GET.${stream}`, JSON.stringify(query), {
      timeout: nats.timeoutMs,
    });
    const code = r.headers?.code ?? 0;
    if (code === 404) return null;
    const seq = Number(r.headers?.get("Nats-Sequence"));
    if (code !== 0 || !Number.isSafeInteger(seq) || seq < 1) {
      throw new Error(
        `Direct get from stream ${stream} failed: ${code} ${r.headers?.description ?? ""}`.trim(),
      );
    }
    return { seq, data: r.data };
  };
}

/** A message get answered by the stream's leader (`$JS.API.STREAM.MSG.GET.<stream>`). */
function _leaderGet(nats: AtlasNats, stream: string): _Get {
  return (query) => nats.jsm.streams.getMessage(stream, query);
}

/**
 * The blob `name` in `stream` (the object store's layout), or null when the stream lacks
 * it. Throws a {@linkcode BlobCopyError} when its chunks do not add up to its metadata.
 */
async function _readStoredBlob(
  stream: string,
  name: string,
  get: _Get,
): Promise<Uint8Array | null> {
  const metaMsg = await get({ last_by_subj: blobMetaSubject(name) });
  if (!metaMsg) return null;
  let meta: ObjectMeta;
  try {
    meta = parseObjectMeta(metaMsg.data);
  } catch (e) {
    throw new BlobCopyError(
      `Metadata of blob ${name} in stream ${stream} (seq ${metaMsg.seq}) is not an object ` +
        `store record: ${(e as Error).message}; store the blob again`,
      { cause: e },
    );
  }
  // Atlas never links blobs: a link counts as absent.
  if (meta.deleted || meta.options?.link) return null;
  const expectedHex = objectDigestHex(meta.digest);
  if (expectedHex === undefined) {
    throw new BlobCopyError(
      `Blob ${name} in stream ${stream} has an unknown digest ${JSON.stringify(meta.digest)}: ` +
        `store the blob again with the Atlas client`,
    );
  }
  const parts: Uint8Array[] = [];
  // Chunks precede their metadata in the stream; each search starts past the last one.
  let seq = 1;
  for (let i = 0; i < meta.chunks; i++) {
    const chunk = await get({ seq, next_by_subj: blobChunkSubject(meta.nuid) });
    if (!chunk || chunk.seq > metaMsg.seq) {
      throw new BlobCopyError(
        `Blob ${name} in stream ${stream} has ${i} of its ${meta.chunks} chunks: ` +
          `read it again (a copy may still be catching up) or store it again`,
      );
    }
    parts.push(chunk.data);
    seq = chunk.seq + 1;
  }
  const bytes = concatBytes(parts);
  const actualHex = sha256Hex(bytes);
  if (bytes.length !== meta.size || actualHex !== expectedHex) {
    throw new BlobCopyError(
      `Blob ${name} in stream ${stream} is corrupt: ${bytes.length} bytes with SHA-256 ${actualHex}, ` +
        `its metadata says ${meta.size} bytes with SHA-256 ${expectedHex}; store it again`,
    );
  }
  return bytes;
}

/**
 * Reads the blob with SHA-256 `digest` from the copy of the blobs object store in
 * `region`. Returns `null` when the copy does not have it: never stored, deleted, not
 * mirrored yet (the copy may lag the primary by a moment), or no copy in the region
 * (provisioned before copies existed). Callers fall back to the primary object store.
 *
 * The assembled bytes are checked against the size and SHA-256 the object store
 * recorded, else a {@linkcode BlobCopyError} is thrown; they are not checked against
 * `digest` (that is the caller's verification of a signed version). NATS errors
 * (timeouts, no responders) are thrown as they are. Works in a region cut off from the
 * JetStream meta leader, as long as a replica of the copy is in reach.
 *
 * @example
 * ```ts
 * const bytes = await readMirroredBlob(nats, "us-east", version.digest) ??
 *   await readPrimaryBlob(nats, version.digest);
 * ```
 */
export async function readMirroredBlob(
  nats: AtlasNats,
  region: string,
  digest: string,
): Promise<Uint8Array | null> {
  const stream = blobMirrorStream(region);
  if (!(await _streamExists(nats, stream))) return null;
  return _readStoredBlob(stream, blobName(digest), _directGet(nats, stream));
}

/**
 * Reads the blob with SHA-256 `digest` from the primary blobs object store, by message
 * gets its stream leader answers (no consumer), or null when it is not stored. Checked
 * like {@linkcode readMirroredBlob}.
 *
 * @example
 * ```ts
 * const bytes = await readPrimaryBlob(nats, version.digest);
 * ```
 */
export function readPrimaryBlob(nats: AtlasNats, digest: string): Promise<Uint8Array | null> {
  return _readStoredBlob(BLOBS_STREAM, blobName(digest), _leaderGet(nats, BLOBS_STREAM));
}

/** Where {@linkcode readBlob} found a blob. */
export type BlobOrigin = "region copy" | "object store";

/**
 * The bytes of the blob with SHA-256 `digest` as agents and the SDK read it: from
 * `region`'s copy ({@linkcode readMirroredBlob}), else from the primary object store (the
 * authority: a copy that lacks the blob or fails is only a lost detour). Null when the
 * object store lacks it too. An error of the copy is added to an error of the object
 * store. The bytes are not checked against `digest`: that is the caller's verification.
 *
 * @example
 * ```ts
 * const found = await readBlob(nats, "us-east", version.digest);
 * ```
 */
export async function readBlob(
  nats: AtlasNats,
  region: string,
  digest: string,
): Promise<{ bytes: Uint8Array; from: BlobOrigin } | null> {
  let copyError: unknown;
  const copied = await readMirroredBlob(nats, region, digest).catch((e: unknown) => {
    copyError = e;
    return null;
  });
  if (copied) return { bytes: copied, from: "region copy" };
  let bytes: Uint8Array | null;
  try {
    bytes = await readPrimaryBlob(nats, digest);
  } catch (e) {
    if (copyError === undefined) throw e;
    throw new Error(
      `${(e as Error)?.message ?? e} (the region copy failed too: ` +
        `${(copyError as Error)?.message ?? copyError})`,
      { cause: e },
    );
  }
  return bytes ? { bytes, from: "object store" } : null;
}
