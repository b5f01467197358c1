/**
 * Reading and writing the signed active-version pointers.
 *
 * Every write is compare-and-set on the key's revision and increments `seq`, and is
 * followed by a notice on `atlas.notify.<region>.<config>` (core NATS) that carries the
 * stored pointer and, when small, the content itself. A notice is only ever published for
 * a pointer that was stored, so agents can act on it without another read; a notice that
 * is lost (publisher crash, agent disconnected) is made up for by the agents' reconcile.
 *
 * @module
 */
import type { AtlasNats } from "./connect.ts";
import {
  AtlasError,
  AtlasErrorCode,
  pointerBucket,
  PointerRecord,
  type RecordSigner,
  Subjects,
} from "@atlas/core";
import { isCasConflict, retryTransient } from "./retry.ts";
import { readKvDirect } from "./kv_cas.ts";
import { traced, traceHeaders, tracingOn } from "./tracing.ts";

/** A pointer as stored, with the KV revision it was read at. */
export interface StoredPointer {
  pointer: PointerRecord;
  revision: number;
}

/** The fields of a pointer its writer chooses; the rest are filled in on write. */
export type PointerChange = Pick<PointerRecord, "active" | "history" | "reason"> & {
  candidate?: PointerRecord["candidate"];
};

/** Raised when a pointer could not be moved because another writer moved it first. */
export class PointerConflictError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.contention });
    this.name = "PointerConflictError";
  }
}

/**
 * Reads the current pointer of `config` in `region` (a direct get by subject: no consumer,
 * no stream info, answered by any replica, and working while the region is cut off from
 * the primary), or null. Throws when the stored value does not parse (it is never
 * silently ignored).
 */
export async function readPointer(
  nats: AtlasNats,
  region: string,
  config: string,
): Promise<StoredPointer | null> {
  const found = await readKvDirect(nats, pointerBucket(region), config, PointerRecord);
  return found && { pointer: found.value, revision: found.revision };
}

/**
 * A pointer before signing. Made once: zod 4 compiles an object schema on its first
 * parse, and a schema made per write cost ~100 µs each time (measured).
 */
const _UnsignedPointer = PointerRecord.omit({ keyId: true, signature: true });

/** Options of {@linkcode writePointer}. */
export interface WritePointerOptions {
  /** Who moves the pointer (audit actor). */
  issuedBy: string;
  /** Content to inline in the notice, by digest (only what agents may lack). */
  inline?: Record<string, Uint8Array>;
  /** Compare-and-set attempts before giving up. @default 5 */
  attempts?: number;
  /** Deadline for transient JetStream errors per attempt. @default 15_000 */
  deadlineMs?: number;
  /**
   * The pointer as the caller last saw it: the first attempt builds on it instead of
   * reading the pointer (one round trip less). If it is stale, the compare-and-set fails
   * and the next attempt reads the pointer.
   */
  current?: StoredPointer | undefined;
  /** Called with the pointer as stored (or as found, when `change` returned null). */
  onStored?: (stored: StoredPointer) => void;
}

/**
 * Moves a pointer by compare-and-set. `change` sees the current pointer (or null) and
 * returns the new fields, or null to leave it alone; on a lost race it is called again
 * with the winner's pointer. Returns the stored pointer (or the untouched current one).
 *
 * @example
 * ```ts
 * await writePointer(nats, signer, "us-east", "web", (cur) => ({
 *   active: version,
 *   history: cur ? [cur.active.version, ...cur.history].slice(0, 32) : [],
 *   reason: "activate",
 * }), { issuedBy: "alice" });
 * ```
 */
export function writePointer(
  nats: AtlasNats,
  signer: RecordSigner,
  region: string,
  config: string,
  change: (current: PointerRecord | null) => PointerChange | null,
  options: WritePointerOptions,
): Promise<PointerRecord | null> {
  if (!tracingOn) return _writePointer(nats, signer, region, config, change, options);
  return traced(
    "atlas.pointer.write",
    () => _writePointer(nats, signer, region, config, change, options),
    { attributes: { "atlas.region": region, "atlas.config": config } },
  );
}

async function _writePointer(
  nats: AtlasNats,
  signer: RecordSigner,
  region: string,
  config: string,
  change: (current: PointerRecord | null) => PointerChange | null,
  options: WritePointerOptions,
): Promise<PointerRecord | null> {
  // The handle readPointer uses (direct gets): writes go to the stream leader either way.
  const kv = await nats.kv(pointerBucket(region), { direct: true });
  // A stale guess costs an attempt of its own.
  const attempts = (options.attempts ?? 5) + (options.current ? 1 : 0);
  let guess = options.current;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const current = guess ?? await retryTransient(() => readPointer(nats, region, config), {
      what: `Reading pointer ${region}/${config}`,
      deadlineMs: options.deadlineMs ?? 15_000,
    });
    const guessed = guess !== undefined;
    guess = undefined;
    let next: PointerChange | null;
    try {
      next = change(current?.pointer ?? null);
    } catch (e) {
      if (guessed) continue; // judged a guess: judge the real pointer
      throw e;
    }
    if (next === null) {
      if (guessed) continue; // decided on a guess: confirm on the real pointer
      if (current) options.onStored?.(current);
      return current?.pointer ?? null;
    }
    // Whatever this signature covers, agents take as proven (Verifier.verifyEmbedded): so
    // the records it embeds under this key are checked first, and a version record altered
    // in its bucket is refused here rather than signed over.
    for (const v of [next.active, next.candidate?.version]) {
      if (v?.keyId === signer.keyId) signer.verifier.verify(`version ${v.config} v${v.version}`, v);
    }
    const pointer = PointerRecord.parse(signer.sign(
      _UnsignedPointer.parse({
        config,
        region,
        seq: (current?.pointer.seq ?? 0) + 1,
        ...next,
        issuedAt: new Date().toISOString(),
        issuedBy: options.issuedBy,
      }),
    ));
    const data = JSON.stringify(pointer);
    let revision: number;
    try {
      revision = await retryTransient(
        () =>
          current
            ? nats.kvWrite(pointerBucket(region), config, data, current.revision)
            : kv.create(config, data), // also over a delete marker, which kvWrite would not be
        { what: `Writing pointer ${region}/${config}`, deadlineMs: options.deadlineMs ?? 15_000 },
      );
    } catch (e) {
      if (isCasConflict(e)) continue;
      throw e;
    }
    if (tracingOn) {
      await traced("atlas.notice.publish", () => {
        publishNotice(nats, pointer, options.inline ?? {});
        return Promise.resolve();
      }, {
        kind: "producer",
        attributes: { "atlas.seq": pointer.seq, "atlas.version": pointer.active.version },
      });
    } else publishNotice(nats, pointer, options.inline ?? {});
    options.onStored?.({ pointer, revision });
    return pointer;
  }
  throw new PointerConflictError(
    `Pointer ${region}/${config} kept changing under ${attempts} attempts; try again`,
  );
}

/**
 * Publishes the notice of a stored pointer (fire and forget: agents also reconcile), with
 * the active span's trace context in its headers when tracing is on.
 */
export function publishNotice(
  nats: AtlasNats,
  pointer: PointerRecord,
  inline: Record<string, Uint8Array>,
): void {
  const blobs: Record<string, string> = {};
  for (const [digest, bytes] of Object.entries(inline)) {
    blobs[digest] = Buffer.from(bytes).toString("base64");
  }
  const headers = traceHeaders();
  try {
    nats.nc.publish(
      Subjects.notify(pointer.region, pointer.config),
      JSON.stringify({ pointer, blobs }),
      headers ? { headers } : undefined,
    );
  } catch {
    // disconnected: agents reconcile from the stored pointer
  }
}
