/**
 * A region's copy of the blobs that nats-server 2.9.10 started too late, found and rebuilt.
 *
 * A mirror created while its origin is being written can start past the origin's first
 * messages on 2.9.10 (seen in the gateway fault test), and never copies them afterwards.
 * Coordinators check their region's copy and rebuild it when it is short.
 *
 * Can go when: the oldest supported nats-server starts every new mirror at the origin's
 * first message (run the gateway fault test without the rebuild).
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
}

/**
 * Compares a region's copy of the blobs with the origin. A mirror keeps the origin's
 * sequence numbers, and purges are not mirrored, so a caught-up copy starts where the
 * origin does (or earlier) and holds at least as many messages. nats-server 2.9.10 can
 * start a mirror created while the origin is being written past its first messages
 * (seen in the gateway fault test): those blobs then never reach the region. Needs the
 * origin in reach. A copy that has not reached the origin's last message yet is still
 * copying and counts as complete.
 */
export async function checkBlobCopy(nats: AtlasNats, region: string): Promise<BlobCopyCheck> {
  const origin = (await nats.jsm.streams.info(BLOBS_STREAM)).state;
  const copy = (await nats.jsm.streams.info(blobMirrorStream(region))).state;
  // Still copying (just created, or just reconnected after a cut): nothing to judge yet.
  if (copy.last_seq < origin.last_seq) {
    return { complete: true, detail: `catching up: seq ${copy.last_seq} of ${origin.last_seq}` };
  }
  const skipped = copy.messages > 0 && copy.first_seq > origin.first_seq;
  const fewer = copy.messages < origin.messages;
  if (!skipped && !fewer) {
    return { complete: true, detail: `caught up to seq ${copy.last_seq}` };
  }
  return {
    complete: false,
    detail: `the copy holds ${copy.messages} messages from seq ${copy.first_seq}, ` +
      `the origin ${origin.messages} from seq ${origin.first_seq}`,
  };
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
