/**
 * The apply steps of the agent, free of its connection and state: get the verified
 * bytes of a version, then replace the file and run the operator's commands, restoring
 * the previous file when one fails.
 *
 * @module
 */
import {
  blobName,
  type BlobOrigin,
  ContentMismatchError,
  inlineBytes,
  verifyContent,
  type VersionRecord,
} from "@atlas/nats";
import type { BlobCache } from "./cache.ts";
import type { ManagedConfig } from "./config.ts";
import { readFileOrNull, writeFileAtomic } from "./atomic.ts";
import { runCommand } from "./command.ts";

/** An outcome that is acked (`rejected` or `failed`), not retried. */
export class ApplyOutcome extends Error {
  constructor(
    readonly status: "rejected" | "failed",
    message: string,
    /** False when the pointer itself did not verify: its `seq` must not be trusted. */
    readonly pointerVerified = true,
  ) {
    super(message);
    this.name = "ApplyOutcome";
  }
}

/** Where the bytes of a version came from. */
export type BlobSource = "inline" | "cache" | BlobOrigin;

/** Options of {@linkcode verifiedBytes}. */
export interface VerifiedBytesOptions {
  /** Base64 content that came with the notice, by digest. */
  inline: Record<string, string>;
  cache: BlobCache;
  /**
   * Reads a blob by digest from the region's copy, else the object store (`readBlob` of
   * `@atlas/nats`); null when neither has it. Undefined while disconnected.
   */
  fetch: ((digest: string) => Promise<{ bytes: Uint8Array; from: BlobOrigin } | null>) | undefined;
}

/**
 * The bytes of `target`, from the notice, the local cache, or fetched (the region's copy,
 * else the object store), checked against the signed digest and size. The caller puts
 * bytes from elsewhere than the cache into it once the ack is on its way. Bytes that do
 * not match, wherever they came from, are an {@linkcode ApplyOutcome} `rejected`; a
 * disconnected or failed fetch is a plain error (retried).
 */
export async function verifiedBytes(
  target: VersionRecord,
  options: VerifiedBytesOptions,
): Promise<{ bytes: Uint8Array; source: BlobSource }> {
  let bytes: Uint8Array | null | undefined;
  let source: BlobSource;
  if ((bytes = inlineBytes(options.inline, target.digest))) {
    source = "inline";
  } else if ((bytes = await options.cache.get(target.digest))) {
    source = "cache";
  } else {
    if (!options.fetch) throw new Error("not connected: cannot fetch the blob yet");
    const found = await options.fetch(target.digest);
    if (!found) {
      throw new ApplyOutcome(
        "rejected",
        `blob ${blobName(target.digest)} is missing from the object store`,
      );
    }
    ({ bytes, from: source } = found);
  }
  try {
    verifyContent(target, bytes, `the ${source}`);
  } catch (e) {
    if (e instanceof ContentMismatchError) throw new ApplyOutcome("rejected", e.message);
    throw e;
  }
  return { bytes, source };
}

/** Options of {@linkcode replaceFile}. */
export interface ReplaceFileOptions {
  /** Environment of the reload and check commands. */
  env: Record<string, string>;
  timeoutMs: number;
  /** Test hook, see atomic.ts. @default 0 */
  chunkDelayMs?: number;
}

/**
 * Writes `bytes` to the managed file atomically, then runs its reload and check
 * commands. If one fails, the previous file is put back (and reload run again) and an
 * {@linkcode ApplyOutcome} `failed` is thrown.
 */
export async function replaceFile(
  managed: ManagedConfig,
  bytes: Uint8Array,
  options: ReplaceFileOptions,
): Promise<void> {
  // The previous bytes are only needed to undo a failed reload or check.
  const previous = managed.reload || managed.check ? await readFileOrNull(managed.path) : null;
  const write = (data: Uint8Array) =>
    writeFileAtomic(managed.path, data, {
      mode: managed.mode,
      chunkDelayMs: options.chunkDelayMs ?? 0,
    });
  await write(bytes);
  const run = { env: options.env, timeoutMs: options.timeoutMs };
  for (const [what, cmd] of [["reload", managed.reload], ["check", managed.check]] as const) {
    if (!cmd) continue;
    const result = await runCommand(cmd, run);
    if (result.ok) continue;
    if (previous) await write(previous);
    else await Deno.remove(managed.path).catch(() => {});
    if (managed.reload) await runCommand(managed.reload, run).catch(() => {});
    throw new ApplyOutcome(
      "failed",
      `${what} command failed (${result.summary}); previous file restored`,
    );
  }
}

/**
 * Placeholder until the verify command lands (h-preflight): a preflight with no `verify`
 * command checks nothing beyond the verified bytes.
 */
export function preflightCandidate(
  _managed: ManagedConfig,
  _bytes: Uint8Array,
  _options: { env: Record<string, string>; timeoutMs: number },
): Promise<void> {
  return Promise.resolve();
}
