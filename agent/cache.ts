/**
 * The agent's content-addressed blob cache: `<stateDir>/blobs/<sha256>`. A rollback
 * finds the prior version here and fetches nothing. Entries are re-hashed on read, so a
 * corrupted cache entry is dropped, never applied.
 *
 * @module
 */
import { sha256Hex } from "@atlas/nats";
import { readFileOrNull, writeFileAtomic } from "./atomic.ts";

/** A bounded content-addressed cache on disk. */
export class BlobCache {
  readonly dir: string;
  readonly #maxEntries: number;

  constructor(dir: string, maxEntries: number) {
    this.dir = dir;
    this.#maxEntries = maxEntries;
  }

  /** The bytes of `digest`, or null when absent or corrupt (then removed). */
  async get(digest: string): Promise<Uint8Array | null> {
    const path = `${this.dir}/${digest}`;
    const bytes = await readFileOrNull(path);
    if (!bytes) return null;
    if (sha256Hex(bytes) !== digest) {
      await Deno.remove(path).catch(() => {});
      return null;
    }
    const now = new Date();
    await Deno.utime(path, now, now).catch(() => {});
    return bytes;
  }

  /** Stores verified bytes under their digest, then trims the cache to its bound. */
  async put(digest: string, bytes: Uint8Array, keep: readonly string[] = []): Promise<void> {
    await writeFileAtomic(`${this.dir}/${digest}`, bytes, { mode: 0o600 });
    await this.#trim(new Set([digest, ...keep]));
  }

  async #trim(keep: Set<string>): Promise<void> {
    const entries: { name: string; mtime: number }[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      if (!e.isFile || !/^[0-9a-f]{64}$/.test(e.name)) continue;
      const st = await Deno.stat(`${this.dir}/${e.name}`).catch(() => null);
      if (st) entries.push({ name: e.name, mtime: st.mtime?.getTime() ?? 0 });
    }
    if (entries.length <= this.#maxEntries) return;
    entries.sort((a, b) => a.mtime - b.mtime);
    let excess = entries.length - this.#maxEntries;
    for (const e of entries) {
      if (excess <= 0) break;
      if (keep.has(e.name)) continue;
      await Deno.remove(`${this.dir}/${e.name}`).catch(() => {});
      excess--;
    }
  }
}
