/**
 * What the managed files hold on disk, and whether that is what was applied: the agent
 * looks every `watchIntervalMs` (agent/config.ts says why a poll and not inotify).
 *
 * Invariants: {@linkcode DiskDigests} returns the sha256 of a file's current bytes, or of
 * bytes the file held under the same stamp less than 2 s before; once a stamp is over 2 s
 * old its answer is from a hash made after that. It reads synchronously, so no apply runs
 * while a file is hashed.
 * {@linkcode settledDigest} gives no answer while an apply of that config runs.
 *
 * @module
 */
import { sha256Hex } from "@atlas/core";
import { readFileSyncOrNull } from "@atlas/store";

/**
 * The sha256 of each managed file, hashed again only when its stamp (inode, size,
 * modification and change times) moved since the last hash: the drift check asks every
 * second, heartbeats and reconciles now and then, and an unchanged file costs them a
 * `stat`. A stamp less than 2 s old may hide a second write in the same clock tick, same
 * size (git's "racy" case): its digest is trusted only until the stamp is 2 s old, then the
 * file is hashed once more, and that answer stands. The change time cannot be set back by a
 * tool that restores `mtime`.
 *
 * @example
 * ```ts
 * const digests = new DiskDigests({ web: "/etc/web.json" });
 * const digest = digests.of("web"); // null when the file is missing
 * ```
 */
export class DiskDigests {
  /** The file of each config, by config name. */
  readonly paths: Readonly<Record<string, string>>;
  /** By config: the stamp hashed, its digest, and until when (ms) the digest stands. */
  readonly #hashed = new Map<string, { stamp: string; digest: string; until: number }>();
  readonly #now: () => number;

  /** `paths`: the file of each config, by config name; `now`: the wall clock (tests). */
  constructor(paths: Readonly<Record<string, string>>, now: () => number = Date.now) {
    this.paths = paths;
    this.#now = now;
  }

  /**
   * The sha256 of the file of `config`, or null when it is missing. Synchronous: the file is
   * read after every apply (its stamp moved), and an asynchronous read cost 34 µs more CPU.
   */
  of(config: string): string | null {
    const path = this.paths[config]!;
    const info = _statOrNull(path);
    if (!info) return null;
    const stamp = _stamp(info);
    const known = this.#hashed.get(config);
    if (known?.stamp === stamp && this.#now() < known.until) return known.digest;
    const bytes = readFileSyncOrNull(path);
    if (!bytes) return null;
    const digest = sha256Hex(bytes);
    this.#keep(config, stamp, digest, info);
    return digest;
  }

  /**
   * After the agent itself put `digest` in the file of `config`: kept for the file's stamp
   * now, so the looks after an apply do not read the file again until the stamp is 2 s old.
   * A hand edit between the write and this call is found then.
   */
  wrote(config: string, digest: string): void {
    const info = _statOrNull(this.paths[config]!);
    if (info) this.#keep(config, _stamp(info), digest, info);
    else this.#hashed.delete(config);
  }

  #keep(config: string, stamp: string, digest: string, info: Deno.FileInfo): void {
    const settles = Math.max(info.mtime?.getTime() ?? NaN, info.ctime?.getTime() ?? NaN) +
      2_000;
    if (Number.isNaN(settles)) return void this.#hashed.delete(config); // no times: never kept
    // A time in the future (a tool set it) settles later still: hashed again every 2 s.
    const now = this.#now();
    const until = now > settles ? Infinity : Math.min(settles, now + 2_000);
    this.#hashed.set(config, { stamp, digest, until });
  }
}

function _statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function _stamp(info: Deno.FileInfo): string {
  return `${info.ino}/${info.size}/${info.mtime?.getTime()}/${info.ctime?.getTime()}`;
}

/** What {@linkcode settledDigest} looks at. */
export interface DriftDeps {
  /** The digests of the managed files. */
  digests: DiskDigests;
  /** The digest last applied to `config`, if any. */
  appliedDigest: (config: string) => string | undefined;
  /** True while `config` is being applied: its own writes are not drift. */
  busy: (config: string) => boolean;
}

/**
 * The digest of the file of `config` with the digest applied when it was read, or
 * undefined while an apply of `config` is running: that apply owns the file, the hash may
 * be of either version, and comparing it with the new one would report a drift that is not
 * there. The read is synchronous, so no apply starts while the file is hashed.
 *
 * @example
 * ```ts
 * const seen = settledDigest("web", { digests, appliedDigest, busy });
 * if (seen?.applied !== undefined && seen.digest !== seen.applied) reconcile();
 * ```
 */
export function settledDigest(
  config: string,
  deps: DriftDeps,
): { digest: string | null; applied: string | undefined } | undefined {
  if (deps.busy(config)) return undefined;
  return { digest: deps.digests.of(config), applied: deps.appliedDigest(config) };
}
