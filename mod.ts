/**
 * Atlas SDK: how an application reads its configuration.
 *
 * Two sources, one interface:
 * - **file** (the usual deployment): the edge agent writes the file atomically; the SDK
 *   reads it, watches it, and keeps the last value that parsed if a later one does not.
 * - **nats**: no agent on the host; the SDK reads the region's pointer itself, verifies
 *   the signatures and digest exactly as an agent does, keeps a local cache file, and
 *   falls back to that cache when NATS is unreachable at start.
 *
 * @example
 * ```ts
 * import { openConfig } from "./mod.ts";
 * await using cfg = await openConfig<{ maxConnections: number }>({ file: "/etc/app/demo.app.json" });
 * console.log(cfg.value.maxConnections);
 * cfg.onChange((v) => console.log("now", v.maxConnections));
 * ```
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import {
  type AtlasNats,
  connectAtlas,
  PointerNotice,
  type PointerRecord,
  readBlob,
  readPointer,
  sha256Hex,
  Subjects,
  targetOf,
  type TrustedKey,
  Verifier,
  writeFileAtomic,
} from "@atlas/nats";

/** How to turn a file's bytes into a value. @default by extension (.json, .yaml/.yml, text) */
export type Parser<T> = (bytes: Uint8Array, source: string) => T;

/** Options of {@linkcode openConfig} reading an agent-managed file. */
export interface FileSourceOptions<T> {
  /** Path of the file the agent writes. */
  file: string;
  parse?: Parser<T>;
  /** Watch for changes. @default true */
  watch?: boolean;
}

/** Options of {@linkcode openConfig} reading straight from NATS. */
export interface NatsSourceOptions<T> {
  nats: string | string[];
  region: string;
  config: string;
  /** Public keys to trust (the `keys` of `GET /v1/keys`). */
  trustedKeys: TrustedKey[];
  /** Local cache of the last verified content: the fallback when NATS is unreachable. */
  cacheFile: string;
  /** Name used for candidate selection during staged rollouts. @default hostname */
  clientId?: string;
  parse?: Parser<T>;
}

function defaultParser<T>(path: string): Parser<T> {
  return (bytes, source) => {
    const text = new TextDecoder().decode(bytes);
    try {
      if (/\.ya?ml$/i.test(path)) return parseYaml(text) as T;
      if (/\.json$/i.test(path)) return JSON.parse(text) as T;
      return text as T;
    } catch (e) {
      throw new SyntaxError(`Cannot parse ${source}: ${(e as Error).message}`, { cause: e });
    }
  };
}

/** A config value that stays current. */
export class AtlasConfig<T> implements AsyncDisposable {
  #value: T;
  #version: number | undefined;
  readonly #listeners = new Set<(value: T, version: number | undefined) => void>();
  readonly #closers: (() => Promise<void> | void)[] = [];

  constructor(value: T, version?: number) {
    this.#value = value;
    this.#version = version;
  }

  /** The current value (the last one that parsed and verified). */
  get value(): T {
    return this.#value;
  }

  /** The Atlas version number of the value, when known (NATS source). */
  get version(): number | undefined {
    return this.#version;
  }

  /** Calls `listener` after every change; returns a function that unsubscribes. */
  onChange(listener: (value: T, version: number | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal */
  _set(value: T, version?: number): void {
    this.#value = value;
    this.#version = version;
    for (const l of this.#listeners) l(value, version);
  }

  /** @internal */
  _onClose(fn: () => Promise<void> | void): void {
    this.#closers.push(fn);
  }

  /** Stops watching. */
  async close(): Promise<void> {
    for (const c of this.#closers.splice(0)) await c();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens a config from an agent-managed file or straight from NATS.
 *
 * @example
 * ```ts
 * await using cfg = await openConfig({ file: ".atlas/dev/agents/us-east-1/demo.app.json" });
 * ```
 */
export function openConfig<T = unknown>(
  options: FileSourceOptions<T> | NatsSourceOptions<T>,
): Promise<AtlasConfig<T>> {
  return "file" in options ? openFile(options) : openNats(options);
}

async function openFile<T>(options: FileSourceOptions<T>): Promise<AtlasConfig<T>> {
  const parse = options.parse ?? defaultParser<T>(options.file);
  const read = async () => parse(await Deno.readFile(options.file), options.file);
  const cfg = new AtlasConfig<T>(await read());
  if (options.watch ?? true) {
    const dir = options.file.slice(0, options.file.lastIndexOf("/")) || ".";
    const watcher = Deno.watchFs(dir, { recursive: false });
    cfg._onClose(() => watcher.close());
    let last = sha256Hex(await Deno.readFile(options.file));
    (async () => {
      for await (const _event of watcher) {
        const bytes = await Deno.readFile(options.file).catch(() => null);
        if (!bytes) continue;
        const digest = sha256Hex(bytes);
        if (digest === last) continue;
        try {
          cfg._set(parse(bytes, options.file));
          last = digest;
        } catch {
          // keep the last good value
        }
      }
    })().catch(() => {});
  }
  return cfg;
}

async function openNats<T>(options: NatsSourceOptions<T>): Promise<AtlasConfig<T>> {
  const parse = options.parse ?? defaultParser<T>(options.cacheFile);
  const verifier = new Verifier(options.trustedKeys);
  const clientId = options.clientId ?? Deno.hostname().toLowerCase().replace(/[^a-z0-9_-]/g, "-");
  let nats: AtlasNats | undefined;
  try {
    nats = await connectAtlas(options.nats, { name: `atlas-sdk ${clientId}`, timeoutMs: 3_000 });
  } catch {
    // fall back to the cache below
  }
  let maxSeq = 0;
  let cfg: AtlasConfig<T> | undefined;
  const accept = async (pointer: PointerRecord, inline: Record<string, string>) => {
    verifier.verify("pointer", pointer);
    if (pointer.seq < maxSeq) return;
    const target = targetOf(pointer, clientId);
    verifier.verifyEmbedded("version", target, pointer.keyId);
    if (cfg && cfg.version === target.version) return;
    const b64 = inline[target.digest];
    const bytes = b64 !== undefined
      ? new Uint8Array(Buffer.from(b64, "base64"))
      : (await readBlob(nats!, options.region, target.digest))?.bytes;
    if (!bytes || sha256Hex(bytes) !== target.digest) {
      throw new Error(
        `Content of ${target.config} v${target.version} does not match its signed digest`,
      );
    }
    const value = parse(bytes, `${target.config} v${target.version}`);
    maxSeq = pointer.seq;
    await writeFileAtomic(options.cacheFile, bytes, { mode: 0o600 });
    if (cfg) cfg._set(value, target.version);
    else cfg = new AtlasConfig(value, target.version);
  };
  if (nats) {
    const stored = await readPointer(nats, options.region, options.config).catch(() => null);
    if (stored) await accept(stored.pointer, {});
  }
  if (!cfg) {
    const bytes = await Deno.readFile(options.cacheFile).catch(() => null);
    if (!bytes) {
      await nats?.close();
      throw new Error(
        `No value for ${options.config} in ${options.region}: NATS gave none and the cache ` +
          `${options.cacheFile} is empty; activate a version or check ATLAS_NATS_URL`,
      );
    }
    cfg = new AtlasConfig(parse(bytes, options.cacheFile));
  }
  if (nats) {
    const conn = nats;
    const sub = conn.nc.subscribe(Subjects.notify(options.region, options.config), {
      callback: (_err, msg) => {
        try {
          const n = PointerNotice.parse(msg.json());
          accept(n.pointer, n.blobs).catch(() => {});
        } catch {
          // ignore malformed notices
        }
      },
    });
    cfg._onClose(async () => {
      sub.unsubscribe();
      await conn.close();
    });
  }
  return cfg;
}
