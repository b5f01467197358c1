/**
 * What the managed files hold on disk, and whether that is what was applied: the agent
 * looks every `watchIntervalMs` (agent/config.ts says why a poll and not inotify).
 *
 * Invariants: {@linkcode DiskDigests} returns the sha256 of a file's current bytes; it
 * answers from memory only for a stamp seen settled (both times over 2 s older than the
 * hash), and reads synchronously, so no apply runs while a file is hashed.
 * {@linkcode settledDigest} gives no answer while an apply of that config runs.
 *
 * @module
 */
import { sha256Hex } from "@atlas/core";
import { readFileSyncOrNull } from "@atlas/store";

/**
 * The sha256 of each managed file, hashed again only when its stamp (inode, size,
 * modification and change times) moved since the last hash: the drift check asks every
 * second, heartbeats and reconciles now and then, and a settled file costs them a `stat`.
 * A stamp is trusted only once both times are over 2 s older than the hash, so a write in
 * the same clock tick as the read that hashed the file cannot hide behind an unchanged
 * stamp (git's "racy" case); the change time cannot be set back by a tool that restores
 * `mtime`.
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
  readonly #hashed = new Map<string, { stamp: string; digest: string }>();

  /** `paths`: the file of each config, by config name. */
  constructor(paths: Readonly<Record<string, string>>) {
    this.paths = paths;
  }

  /**
   * The sha256 of the file of `config`, or null when it is missing. Synchronous: the file is
   * read after every apply (its stamp moved), and an asynchronous read cost 34 µs more CPU.
   */
  of(config: string): string | null {
    const path = this.paths[config]!;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    const [mtime, ctime] = [info.mtime?.getTime() ?? NaN, info.ctime?.getTime() ?? NaN];
    const stamp = `${info.ino}/${info.size}/${mtime}/${ctime}`;
    const known = this.#hashed.get(config);
    if (known?.stamp === stamp) return known.digest;
    const bytes = readFileSyncOrNull(path);
    if (!bytes) return null;
    const digest = sha256Hex(bytes);
    const settled = Date.now() - Math.max(mtime, ctime) > 2_000; // false for NaN
    if (settled) this.#hashed.set(config, { stamp, digest });
    else this.#hashed.delete(config);
    return digest;
  }
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
