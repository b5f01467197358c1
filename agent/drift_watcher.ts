/**
 * What the managed files hold on disk, and noticing when a hand edit changes them.
 *
 * Invariants: {@linkcode DiskDigests} returns the sha256 of a file's current bytes; it
 * answers from memory only for a stamp seen settled (both times over 2 s older than the
 * hash). {@linkcode DriftWatcher} reports a config at most once per 100 ms burst of file
 * events, only when its file no longer holds the applied digest and no apply of that
 * config ran while it was hashed ({@linkcode settledDigest}, the agent's timer check too); after `close()` it reports nothing and holds no timer or watcher.
 *
 * @module
 */
import { sha256Hex } from "@atlas/core";
import { type Logger, readFileOrNull } from "@atlas/store";
import { dirname } from "node:path";

/**
 * The sha256 of each managed file, hashed again only when its stamp (inode, size,
 * modification and change times) moved since the last hash: reconciles and heartbeats
 * ask every 15–30 s. A stamp is trusted only once both times are over 2 s older than the
 * hash, so a write in the same clock tick as the read that hashed the file cannot hide
 * behind an unchanged stamp (git's "racy" case); the change time cannot be set back by a
 * tool that restores `mtime`.
 *
 * @example
 * ```ts
 * const digests = new DiskDigests({ web: "/etc/web.json" });
 * const digest = await digests.of("web"); // null when the file is missing
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

  /** The sha256 of the file of `config`, or null when it is missing. */
  async of(config: string): Promise<string | null> {
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
    const bytes = await readFileOrNull(path);
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
 * undefined when an apply of `config` was running, or ran, while the file was hashed:
 * that apply owns the file, the hash may be of either version, and comparing it with the
 * new one would report a drift that is not there.
 *
 * @example
 * ```ts
 * const seen = await settledDigest("web", { digests, appliedDigest, busy });
 * if (seen?.applied !== undefined && seen.digest !== seen.applied) reconcile();
 * ```
 */
export async function settledDigest(
  config: string,
  deps: DriftDeps,
): Promise<{ digest: string | null; applied: string | undefined } | undefined> {
  if (deps.busy(config)) return undefined;
  const applied = deps.appliedDigest(config);
  const digest = await deps.digests.of(config);
  if (deps.busy(config) || deps.appliedDigest(config) !== applied) return undefined;
  return { digest, applied };
}

/** Options of {@linkcode DriftWatcher.watch}. */
export interface DriftWatcherOptions extends DriftDeps {
  /** Called when the file of `config` no longer holds what was applied. */
  onDrift: (config: string) => void;
  log: Logger;
}

/**
 * Watches the directories of the managed files, so a hand edit is found at once rather
 * than at the next reconcile. Best effort: where file watching is unavailable (inotify
 * limits), the reconcile timer still finds drift.
 *
 * @example
 * ```ts
 * const watcher = DriftWatcher.watch({ web: "/etc/web.json" }, options);
 * watcher.close();
 * ```
 */
export class DriftWatcher {
  readonly #options: DriftWatcherOptions;
  readonly #byPath: Map<string, string>;
  readonly #checks = new Map<string, ReturnType<typeof setTimeout>>();
  #watcher: Deno.FsWatcher | undefined;
  #closed = false;

  private constructor(paths: Readonly<Record<string, string>>, options: DriftWatcherOptions) {
    this.#options = options;
    this.#byPath = new Map(Object.entries(paths).map(([name, path]) => [path, name]));
  }

  /** Starts watching the files in `paths` (by config name). */
  static watch(
    paths: Readonly<Record<string, string>>,
    options: DriftWatcherOptions,
  ): DriftWatcher {
    const drift = new DriftWatcher(paths, options);
    drift.#start();
    return drift;
  }

  #start(): void {
    let watcher: Deno.FsWatcher;
    try {
      const dirs = [...new Set([...this.#byPath.keys()].map((p) => dirname(p)))];
      for (const d of dirs) Deno.mkdirSync(d, { recursive: true });
      watcher = this.#watcher = Deno.watchFs(dirs, { recursive: false });
    } catch (e) {
      this.#options.log.warn(
        "cannot watch the managed files; drift is found by the reconcile timer",
        { error: (e as Error).message },
      );
      return;
    }
    (async () => {
      for await (const event of watcher) {
        for (const path of event.paths) {
          const config = this.#byPath.get(path);
          if (config === undefined) continue;
          clearTimeout(this.#checks.get(config));
          this.#checks.set(config, setTimeout(() => this.#check(config), 100));
        }
      }
    })().catch(() => {});
  }

  /** After a file event: if the file no longer holds what was applied, report it. */
  async #check(config: string): Promise<void> {
    this.#checks.delete(config);
    if (this.#closed) return;
    const seen = await settledDigest(config, this.#options);
    // Nothing applied, an apply's own write, or a no-op write: no drift.
    if (seen?.applied === undefined || seen.digest === seen.applied || this.#closed) return;
    this.#options.onDrift(config);
  }

  /** Stops watching and cancels the pending checks. */
  close(): void {
    this.#closed = true;
    for (const t of this.#checks.values()) clearTimeout(t);
    this.#watcher?.close();
  }
}
