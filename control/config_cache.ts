/**
 * An in-memory copy of the configs bucket for the read endpoints (`GET /v1/configs`,
 * `GET /v1/configs/{name}`, existence checks). Reads are the hot path of a configuration
 * service; this turns each from a JetStream round trip into a map lookup (measured:
 * ~4 100 → see bench/README.md).
 *
 * Kept current by one KV watch (updates only) that starts before the initial snapshot is
 * read, so nothing written in between is missed; an entry only ever moves to a higher
 * revision. Writers and compare-and-set paths never read from here: a stale entry can
 * delay what a read shows by the watch's delivery time, never corrupt a write.
 *
 * @module
 */
import { Buckets, ConfigRecord, listKeys } from "@atlas/nats";
import { KvWatchInclude } from "@nats-io/kv";
import type { AtlasNats } from "@atlas/nats";
import type { Stored } from "./context.ts";

interface Entry {
  revision: number;
  /** null once deleted (kept so an older snapshot value cannot resurrect it). */
  value: ConfigRecord | null;
}

/** Configs by name, following the bucket. */
export class ConfigCache {
  readonly #nats: AtlasNats;
  readonly #entries = new Map<string, Entry>();
  #ready: Promise<void> | undefined;

  constructor(nats: AtlasNats) {
    this.#nats = nats;
  }

  #apply(name: string, revision: number, value: ConfigRecord | null): void {
    const cur = this.#entries.get(name);
    if (!cur || cur.revision < revision) this.#entries.set(name, { revision, value });
  }

  /** Records a write this process just made (read-your-writes without waiting for the watch). */
  note(name: string, stored: Stored<ConfigRecord>): void {
    this.#apply(name, stored.revision, stored.value);
  }

  #start(): Promise<void> {
    this.#ready ??= (async () => {
      const kv = await this.#nats.kv(Buckets.configs);
      const watch = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
      (async () => {
        for await (const e of watch) {
          const value = e.operation === "PUT" ? ConfigRecord.safeParse(e.json()) : null;
          this.#apply(e.key, e.revision, value?.success ? value.data : null);
        }
      })().catch(() => {
        this.#ready = undefined; // the connection closed: start again on next use
      });
      for (const key of await listKeys(this.#nats, Buckets.configs)) {
        const e = await kv.get(key);
        if (!e) continue;
        this.#apply(key, e.revision, e.operation === "PUT" ? ConfigRecord.parse(e.json()) : null);
      }
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  /** The config named `name`, or null when there is none. */
  async get(name: string): Promise<Stored<ConfigRecord> | null> {
    await this.#start();
    const e = this.#entries.get(name);
    return e?.value ? { value: e.value, revision: e.revision } : null;
  }

  /** Every config, sorted by name. */
  async list(): Promise<ConfigRecord[]> {
    await this.#start();
    return [...this.#entries.values()].flatMap((e) => (e.value ? [e.value] : []))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
