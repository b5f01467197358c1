/**
 * A region's copy of the blobs that nats-server 2.9.10 started too late, found and rebuilt.
 *
 * A mirror created while its origin is being written can start past the origin's first
 * messages on 2.9.10 (seen in the gateway fault test), and never copies them afterwards;
 * a mirror can also stop copying for good. Coordinators check their region's copy and
 * rebuild it when it is short or stalled.
 *
 * Can go when: the oldest supported nats-server starts every new mirror at the origin's
 * first message (run the gateway fault test without the rebuild) and no mirror of it stops
 * copying for good (the stalled-copy tests in store/blob_mirror_test.ts).
 *
 * @module
 */
import { blobMirrorStream } from "@atlas/core";
import type { AtlasNats } from "../connect.ts";
import { BLOBS_STREAM } from "../blobs.ts";
import { blobCopyConfig, ensureStream } from "../provision.ts";

/** What {@linkcode checkBlobCopy} found. */
export interface BlobCopyCheck {
  /** False when the copy lacks messages the origin has (it never gets them by itself). */
  complete: boolean;
  /** What is wrong, for a log line or an alert. */
  detail: string;
  /** The copy's last sequence number, and the origin's, when checked. */
  copyLastSeq: number;
  originLastSeq: number;
}

/** The part of a stream's state the check reads. */
export interface BlobStreamState {
  messages: number;
  first_seq: number;
  last_seq: number;
}

/**
 * Judges a region's copy of the blobs against the origin (see {@linkcode checkBlobCopy}).
 * A mirror keeps the origin's sequence numbers, and purges are not mirrored, so a
 * caught-up copy starts where the origin does (or earlier) and holds at least as many
 * messages. A copy behind the origin is catching up, unless it was behind at `previous`
 * too and has not moved since: then it is stalled. The origin's last message is never
 * deleted (a blob's deletion writes a newer marker), so a working mirror always reaches it.
 */
export function judgeBlobCopy(
  origin: BlobStreamState,
  copy: BlobStreamState,
  previous?: BlobCopyCheck,
): BlobCopyCheck {
  const seqs = { copyLastSeq: copy.last_seq, originLastSeq: origin.last_seq };
  if (copy.last_seq < origin.last_seq) {
    const stalled = previous !== undefined && previous.copyLastSeq === copy.last_seq &&
      previous.originLastSeq > copy.last_seq;
    if (!stalled) {
      // Just created, or just reconnected after a cut: still copying.
      return {
        complete: true,
        detail: `catching up: seq ${copy.last_seq} of ${origin.last_seq}`,
        ...seqs,
      };
    }
    return {
      complete: false,
      detail: `the copy is stalled at seq ${copy.last_seq}: it has not moved since the last ` +
        `check, and the origin is at seq ${origin.last_seq}`,
      ...seqs,
    };
  }
  const skipped = copy.messages > 0 && copy.first_seq > origin.first_seq;
  const fewer = copy.messages < origin.messages;
  if (!skipped && !fewer) {
    return { complete: true, detail: `caught up to seq ${copy.last_seq}`, ...seqs };
  }
  return {
    complete: false,
    detail: `the copy holds ${copy.messages} messages from seq ${copy.first_seq}, ` +
      `the origin ${origin.messages} from seq ${origin.first_seq}`,
    ...seqs,
  };
}

/**
 * Compares a region's copy of the blobs with the origin ({@linkcode judgeBlobCopy}).
 * Two ways a copy never completes by itself: nats-server 2.9.10 can start a mirror created
 * while the origin is being written past its first messages (seen in the gateway fault
 * test), and a mirror can stop copying (2.9 stalls for good on a message its copy refuses,
 * such as a rollup in a stream that does not allow them). The second is seen only over
 * two checks: pass the previous result as `previous`. Needs the origin in reach.
 */
export async function checkBlobCopy(
  nats: AtlasNats,
  region: string,
  previous?: BlobCopyCheck,
): Promise<BlobCopyCheck> {
  const origin = (await nats.jsm.streams.info(BLOBS_STREAM)).state;
  const copy = (await nats.jsm.streams.info(blobMirrorStream(region))).state;
  return judgeBlobCopy(origin, copy, previous);
}

/**
 * Replaces a region's copy of the blobs with a new mirror, which copies the origin from
 * its first message (what {@linkcode checkBlobCopy} calls incomplete is never repaired
 * by the mirror itself). Keeps the copy's replicas and placement.
 */
export async function rebuildBlobCopy(nats: AtlasNats, region: string): Promise<void> {
  const info = await nats.jsm.streams.info(blobMirrorStream(region));
  await nats.jsm.streams.delete(blobMirrorStream(region));
  await ensureStream(
    nats,
    blobCopyConfig(region, info.config.num_replicas, info.config.placement?.cluster),
  );
}
