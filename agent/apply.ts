/**
 * The apply steps of the agent, free of its connection and state: get the verified
 * bytes of a version, check them in place with the operator's `verify` command, then
 * replace the file and run the reload and check commands, restoring the previous file
 * when one fails; or only check a candidate (a preflight).
 *
 * @module
 */
import {
  blobName,
  ContentMismatchError,
  inlineBytes,
  verifyContent,
  type VersionRecord,
} from "@atlas/core";
import {
  type BlobOrigin,
  commitStaged,
  discardStaged,
  readFileSyncOrNull,
  type StagedFile,
  stageFile,
  traced,
  tracingOn,
  writeFileAtomic,
} from "@atlas/store";
import type { BlobCache } from "./cache.ts";
import type { ManagedConfig } from "./config.ts";
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
   * `@atlas/store`); null when neither has it. Undefined while disconnected.
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

/** Options of {@linkcode preflightCandidate}. */
export interface PreflightOptions {
  /** Environment of the verify command (`ATLAS_CANDIDATE` is added). */
  env: Record<string, string>;
  timeoutMs: number;
}

/** Options of {@linkcode replaceFile}. */
export interface ReplaceFileOptions extends PreflightOptions {
  /** Test hook, see atomic.ts. @default 0 */
  chunkDelayMs?: number;
  /** Random numbers in [0, 1) that pick the reload splay. @default Math.random */
  random?: () => number;
  /** Waits out the reload splay. @default a timer */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The command `verify` of `managed` with `{path}` replaced by `candidate`, in the shell
 * string and in every argument of the argv form.
 *
 * @example
 * ```ts
 * verifyCommand({ path: "/etc/nginx/nginx.conf", verify: "nginx -t -c {path}" }, "/tmp/c");
 * // "nginx -t -c /tmp/c"
 * ```
 */
export function verifyCommand(
  managed: Pick<ManagedConfig, "verify">,
  candidate: string,
): string | string[] | undefined {
  const fill = (s: string) => s.replaceAll("{path}", candidate);
  const cmd = managed.verify;
  return cmd === undefined ? undefined : typeof cmd === "string" ? fill(cmd) : cmd.map(fill);
}

/**
 * Runs the `verify` command of `managed` (if any) on a staged candidate; a failure is an
 * {@linkcode ApplyOutcome} `rejected` whose message carries the command's output.
 */
async function _verify(
  managed: ManagedConfig,
  staged: StagedFile,
  options: PreflightOptions,
): Promise<void> {
  const cmd = verifyCommand(managed, staged.path);
  if (cmd === undefined) return;
  const result = await runCommand(cmd, {
    env: { ...options.env, ATLAS_CANDIDATE: staged.path },
    timeoutMs: options.timeoutMs,
  });
  if (result.ok) return;
  throw new ApplyOutcome(
    "rejected",
    `verify command failed (${result.summary}); the file was not replaced`,
  );
}

/**
 * The reload splay of `managed`: a whole number of milliseconds in
 * [0, `reloadSplayMs`), or 0 when there is no reload to spread.
 *
 * @example
 * ```ts
 * reloadSplay({ reload: "systemctl reload app", reloadSplayMs: 2_000 }); // 0 … 1999
 * ```
 */
export function reloadSplay(
  managed: Pick<ManagedConfig, "reload" | "reloadSplayMs">,
  random: () => number = Math.random,
): number {
  const splay = managed.reloadSplayMs;
  if (!managed.reload || splay <= 0) return 0;
  return Math.min(splay - 1, Math.max(0, Math.floor(random() * splay)));
}

/**
 * Checks `bytes` as a candidate for the file of `managed` without installing it: stages
 * them beside the file (as {@linkcode replaceFile} would), runs the `verify` command on
 * them if one is configured, and removes them. Never touches the file, never runs
 * `reload` or `check`. Resolves when the candidate passed; throws an
 * {@linkcode ApplyOutcome} `rejected` when `verify` failed, and a plain error when the
 * candidate could not be written (disk full, permissions: worth a retry).
 *
 * @example
 * ```ts
 * await preflightCandidate(
 *   { path: "/etc/nginx/nginx.conf", verify: "nginx -t -c {path}", reloadSplayMs: 0, mode: 0o644 },
 *   bytes,
 *   { env: { ATLAS_CONFIG: "web.nginx" }, timeoutMs: 30_000 },
 * );
 * ```
 */
export async function preflightCandidate(
  managed: ManagedConfig,
  bytes: Uint8Array,
  options: PreflightOptions,
): Promise<void> {
  const staged = await stageFile(managed.path, bytes, { mode: managed.mode, durable: false });
  try {
    await _verify(managed, staged, options);
  } finally {
    discardStaged(staged);
  }
}

/**
 * Stages `bytes` beside the managed file, runs its `verify` command on them (a failure is
 * an {@linkcode ApplyOutcome} `rejected`, the file untouched), waits the reload splay,
 * renames them over the file, then runs its reload and check commands. If one of those
 * fails, the previous file is put back (and reload run again) and an
 * {@linkcode ApplyOutcome} `failed` is thrown.
 */
export async function replaceFile(
  managed: ManagedConfig,
  bytes: Uint8Array,
  options: ReplaceFileOptions,
): Promise<void> {
  if (!tracingOn) {
    const previous = await _write(managed, bytes, options);
    if (managed.reload || managed.check) await _reload(managed, previous, options);
    return;
  }
  const previous = await traced("atlas.agent.write", () => _write(managed, bytes, options), {
    attributes: { "atlas.path": managed.path, "atlas.bytes": bytes.length },
  });
  if (!managed.reload && !managed.check) return;
  await traced("atlas.agent.reload", () => _reload(managed, previous, options));
}

/** Stages, verifies and renames `bytes` over the file; returns the bytes it replaced. */
async function _write(
  managed: ManagedConfig,
  bytes: Uint8Array,
  options: ReplaceFileOptions,
): Promise<Uint8Array | null> {
  // The previous bytes are only needed to undo a failed reload or check.
  const previous = managed.reload || managed.check ? readFileSyncOrNull(managed.path) : null;
  const staged = await stageFile(managed.path, bytes, {
    mode: managed.mode,
    chunkDelayMs: options.chunkDelayMs ?? 0,
  });
  try {
    if (managed.verify !== undefined) await _verify(managed, staged, options);
    // Before the rename, not between it and reload: the file on disk stays what runs.
    const splay = reloadSplay(managed, options.random);
    if (splay > 0) await (options.sleep ?? _sleep)(splay);
  } catch (e) {
    discardStaged(staged);
    throw e;
  }
  commitStaged(staged);
  return previous;
}

/** Runs the reload and check commands; on a failure puts `previous` back. */
async function _reload(
  managed: ManagedConfig,
  previous: Uint8Array | null,
  options: ReplaceFileOptions,
): Promise<void> {
  const run = { env: options.env, timeoutMs: options.timeoutMs };
  for (const [what, cmd] of [["reload", managed.reload], ["check", managed.check]] as const) {
    if (!cmd) continue;
    const result = await runCommand(cmd, run);
    if (result.ok) continue;
    if (previous) await writeFileAtomic(managed.path, previous, { mode: managed.mode });
    else await Deno.remove(managed.path).catch(() => {});
    if (managed.reload) await runCommand(managed.reload, run).catch(() => {});
    throw new ApplyOutcome(
      "failed",
      `${what} command failed (${result.summary}); previous file restored`,
    );
  }
}

function _sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
