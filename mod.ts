/**
 * Atlas SDK: how an application reads its configuration.
 *
 * Two sources, one interface:
 * - **file** (the usual deployment): the edge agent writes the file atomically; the SDK
 *   reads it, watches it, and keeps the last value that parsed if a later one does not.
 * - **nats**: no agent on the host; the SDK follows the region's pointer itself
 *   (`PointerFollower` of `@atlas/store`: notices, plus a reconcile on connect, every
 *   reconnect and a timer), verifies signatures, digest and size with the agent's own
 *   checks (`verifyPointer`, `verifyTarget`, `verifyContent`), and keeps a local cache
 *   file that it serves at once at start, NATS or not. Values only move forward.
 *
 * The SDK is `@atlas/core`, `@atlas/store` and this file: it imports nothing of the agent. From a script
 * outside the repository, run it with the repository's configuration, which resolves the
 * SDK's own imports: `deno run -A --config /path/to/atlas/deno.json app.ts`.
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
import { z } from "zod";
import {
  blobName,
  inlineBytes,
  type PointerRecord,
  sha256Hex,
  SignatureError,
  targetOf,
  type TrustedKey,
  Verifier,
  verifyContent,
  verifyPointer,
  verifyTarget,
} from "@atlas/core";
import {
  type DeliveryContext,
  FollowStage,
  PointerFollower,
  PointerVia,
  readBlob,
  readFileOrNull,
  writeFileAtomic,
} from "@atlas/store";

/** How to turn a file's bytes into a value. @default by extension (.json, .yaml/.yml, text) */
export type Parser<T> = (bytes: Uint8Array, source: string) => T;

/** Options of {@linkcode openConfig} reading an agent-managed file. */
export interface FileSourceOptions<T> {
  /** Path of the file the agent writes. */
  file: string;
  parse?: Parser<T>;
  /** Watch for changes. @default true */
  watch?: boolean;
  /**
   * Told when a changed file does not parse (the last good value is kept) or a listener
   * throws. @default a line on stderr
   */
  onError?: (error: Error) => void;
}

/** Options of {@linkcode openConfig} reading straight from NATS. */
export interface NatsSourceOptions<T> {
  /** NATS servers of the region (a URL, a comma-separated list, or a list). */
  nats: string | string[];
  /**
   * NATS credentials (a `.creds` path or text), reader role: `deno task atlas auth creds
   * --role reader`. @default $ATLAS_NATS_CREDS
   */
  credentials?: string;
  region: string;
  config: string;
  /** Public keys to trust (the `keys` of `GET /v1/keys`). */
  trustedKeys: TrustedKey[];
  /**
   * Local cache of the last verified content (and, beside it as `<cacheFile>.atlas.json`,
   * its version and pointer `seq`): what `openConfig` serves at once, NATS or not.
   */
  cacheFile: string;
  /** Name used for candidate selection during staged rollouts. @default hostname */
  clientId?: string;
  parse?: Parser<T>;
  /**
   * Told of what goes wrong in the background: NATS unreachable (once per outage), a
   * pointer or content that does not verify, a value that does not parse, a listener
   * that throws. The last good value is kept through all of them. @default a line on stderr
   */
  onError?: (error: Error) => void;
  /**
   * Without a cache: how long `openConfig` waits for the first value before it rejects.
   * @default 15_000
   */
  timeoutMs?: number;
  /** Seconds between reads of the stored pointer (besides notices). @default 30 */
  reconcileSeconds?: number;
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

function _stderr(what: string): (error: Error) => void {
  return (error) => console.error(`atlas: ${what}: ${error.message}`);
}

/** A config value that stays current. */
export class AtlasConfig<T> implements AsyncDisposable {
  #value: T;
  #version: number | undefined;
  readonly #listeners = new Set<(value: T, version: number | undefined) => void>();
  readonly #closers: (() => Promise<void> | void)[] = [];
  readonly #onError: (error: Error) => void;

  constructor(value: T, version?: number, onError: (error: Error) => void = _stderr("listener")) {
    this.#value = value;
    this.#version = version;
    this.#onError = onError;
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

  /** @internal A listener that throws is reported; the others still run. */
  _set(value: T, version?: number): void {
    this.#value = value;
    this.#version = version;
    for (const l of this.#listeners) {
      try {
        l(value, version);
      } catch (e) {
        this.#onError(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /** @internal */
  _onClose(fn: () => Promise<void> | void): void {
    this.#closers.push(fn);
  }

  /** Stops watching (and disconnects, in NATS mode). */
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
 * In NATS mode it resolves at once with the cached value when there is one (NATS or
 * not), else with the first value that verifies (rejecting after `timeoutMs`). It
 * connects in the background, retrying until closed, and catches up on connect and
 * every reconnect; values only ever move forward (by the pointer's signed `seq`).
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
  const onError = options.onError ?? _stderr(options.file);
  const read = async () => parse(await Deno.readFile(options.file), options.file);
  const cfg = new AtlasConfig<T>(await read(), undefined, onError);
  if (options.watch ?? true) {
    const dir = options.file.slice(0, options.file.lastIndexOf("/")) || ".";
    const watcher = Deno.watchFs(dir, { recursive: false });
    let last = sha256Hex(await Deno.readFile(options.file));
    const watching = (async () => {
      for await (const _event of watcher) {
        const bytes = await readFileOrNull(options.file).catch(() => null);
        if (!bytes) continue;
        const digest = sha256Hex(bytes);
        if (digest === last) continue;
        last = digest;
        let value: T;
        try {
          value = parse(bytes, options.file);
        } catch (e) {
          onError(e as Error); // the last good value stays
          continue;
        }
        cfg._set(value);
      }
    })().catch((e) => onError(e as Error));
    cfg._onClose(async () => {
      watcher.close();
      await watching;
    });
  }
  return cfg;
}

/** What is kept beside the NATS-mode cache file: which version the bytes are. */
const _CacheMeta = z.object({
  region: z.string(),
  config: z.string(),
  version: z.number().int().positive(),
  seq: z.number().int().positive(),
  digest: z.string(),
});
type _CacheMeta = z.infer<typeof _CacheMeta>;

/** The cache of the NATS mode: content bytes, and its version beside them. */
class _Cache {
  readonly #path: string;
  readonly #meta: string;

  constructor(path: string) {
    this.#path = path;
    this.#meta = `${path}.atlas.json`;
  }

  /**
   * The cached bytes, and what they are when the note beside them still describes them
   * (a crash between the two writes leaves bytes newer than the note: served, unnamed).
   */
  async read(
    region: string,
    config: string,
  ): Promise<{ bytes: Uint8Array; meta: _CacheMeta | undefined } | null> {
    const bytes = await readFileOrNull(this.#path);
    if (!bytes) return null;
    let meta: _CacheMeta | undefined;
    try {
      const found = _CacheMeta.parse(JSON.parse(await Deno.readTextFile(this.#meta)));
      const same = found.region === region && found.config === config;
      if (same && found.digest === sha256Hex(bytes)) meta = found;
    } catch {
      // no note, or not ours: the bytes are served unnamed
    }
    return { bytes, meta };
  }

  async write(bytes: Uint8Array | undefined, meta: _CacheMeta): Promise<void> {
    if (bytes) await writeFileAtomic(this.#path, bytes, { mode: 0o600 });
    await writeFileAtomic(this.#meta, new TextEncoder().encode(JSON.stringify(meta)), {
      mode: 0o600,
    });
  }
}

async function openNats<T>(options: NatsSourceOptions<T>): Promise<AtlasConfig<T>> {
  const { region, config } = options;
  const parse = options.parse ?? defaultParser<T>(options.cacheFile);
  const verifier = new Verifier(options.trustedKeys);
  const clientId = options.clientId ?? Deno.hostname().toLowerCase().replace(/[^a-z0-9_-]/g, "-");
  const report = options.onError ?? _stderr(`${region}/${config}`);
  const cache = new _Cache(options.cacheFile);

  let cfg: AtlasConfig<T> | undefined;
  /** What the value is: its version, digest and the pointer seq it came with. */
  let held: { version: number; digest: string } | undefined;
  const cached = await cache.read(region, config);
  if (cached) {
    try {
      cfg = new AtlasConfig(parse(cached.bytes, options.cacheFile), cached.meta?.version, report);
      if (cached.meta) held = cached.meta;
    } catch (e) {
      report(e as Error); // an unreadable cache is no value: wait for NATS
    }
  }

  let first: { resolve: (c: AtlasConfig<T>) => void; reject: (e: Error) => void } | undefined;
  const firstValue = cfg ? undefined : new Promise<AtlasConfig<T>>((resolve, reject) => {
    first = { resolve, reject };
  });
  let lastError: Error | undefined;

  const deliver = async (
    pointer: PointerRecord,
    blobs: Record<string, string>,
    { nats, signal }: DeliveryContext,
  ): Promise<void> => {
    const target = targetOf(pointer, clientId);
    verifyTarget(verifier, pointer, target);
    const meta = {
      region,
      config,
      version: target.version,
      seq: pointer.seq,
      digest: target.digest,
    };
    if (cfg && held?.version === target.version && held.digest === target.digest) {
      // The same content under a newer pointer: only the note moves (so a replay of an
      // older pointer is refused after a restart too).
      await cache.write(undefined, meta).catch(report);
      return;
    }
    let bytes = inlineBytes(blobs, target.digest);
    let from = "the notice";
    if (!bytes) {
      const found = await readBlob(nats, region, target.digest);
      if (signal.aborted) return; // a newer pointer waits: this one is outdated
      if (!found) {
        throw new Error(
          `Blob ${blobName(target.digest)} of ${config} v${target.version} is missing from ` +
            `the object store`,
        );
      }
      bytes = found.bytes;
      from = `the ${found.from}`;
    }
    verifyContent(target, bytes, from);
    const value = parse(bytes, `${config} v${target.version}`);
    if (signal.aborted) return;
    held = { version: target.version, digest: target.digest };
    if (cfg) {
      cfg._set(value, target.version);
    } else {
      cfg = new AtlasConfig(value, target.version, report);
      first?.resolve(cfg);
    }
    // The value is verified: a cache that cannot be written costs only the fallback.
    await cache.write(bytes, meta).catch(report);
  };

  const follower = new PointerFollower({
    servers: options.nats,
    region,
    configs: [config],
    connect: {
      name: `atlas-sdk ${clientId}`,
      timeoutMs: 3_000,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    },
    reconcileMs: (options.reconcileSeconds ?? 30) * 1000,
    ...(cached?.meta && cfg ? { delivered: { [config]: cached.meta.seq } } : {}),
    verify: (pointer) => verifyPointer(verifier, pointer),
    deliver,
    onError: (error, context) => {
      lastError = error;
      report(error);
      // Waiting for a first value that the stored pointer can never give: say so now.
      const refused = context.stage === FollowStage.verify || context.stage === FollowStage.deliver;
      if (!cfg && refused && context.via === PointerVia.read && error instanceof SignatureError) {
        first?.reject(error);
      }
    },
  });

  if (firstValue) {
    const timeoutMs = options.timeoutMs ?? 15_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const state = follower.nats
          ? `connected, but no version of ${config} is active in ${region} yet`
          : `NATS (${[options.nats].flat().join(", ")}) did not answer`;
        reject(
          new Error(
            `No value for ${config} in ${region} after ${timeoutMs} ms: ${state}, and the ` +
              `cache ${options.cacheFile} is empty` +
              (lastError ? ` (last error: ${lastError.message})` : "") +
              `; activate a version, check the NATS URL, or raise timeoutMs`,
            { cause: lastError },
          ),
        );
      }, timeoutMs);
    });
    try {
      cfg = await Promise.race([firstValue, expired]);
    } catch (e) {
      await follower.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
  const opened = cfg!;
  opened._onClose(() => follower.close());
  return opened;
}
