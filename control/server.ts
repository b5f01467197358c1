/**
 * Starting the control plane: connect to NATS, provision what is missing, and serve the
 * HTTP API until disposed.
 *
 * @module
 */
import { dirname } from "node:path";
import { type AtlasNats, connectAtlas, KeyRing, provision, provisionRegion } from "@atlas/store";
import type { TrustedKey } from "@atlas/core";
import { type ControlApp, createApp } from "./app.ts";
import type { TokenSpec } from "./auth.ts";
import { createContext } from "./context.ts";
import { ensureKeySet } from "./keys.ts";

export { type AppDeps, type ControlApp, createApp } from "./app.ts";

/** Options of {@linkcode startControl}. */
export interface ControlOptions {
  /** NATS server URL(s): a list, or comma-separated. */
  nats: string | string[];
  /** HTTP port; 0 picks a free one. @default 8080 */
  port?: number;
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** Path of the signing key file (`deno task atlas keys generate <file>` makes one). */
  signingKey: string;
  /**
   * Directory of signing keys: `atlas keys rotate` writes new keys here, and the key the
   * key set names is taken from here at start. @default `keys/` beside `signingKey`
   */
  keyDir?: string;
  /** API tokens (at least one). */
  tokens: TokenSpec[];
  /** Regions to provision at start (existing ones are left alone). @default [] */
  regions?: string[];
  /** Replicas of every stream and bucket (1 single node, 3 cluster). @default 1 */
  replicas?: number;
  /** Largest content of one version, in bytes. @default 1_048_576 */
  maxContentBytes?: number;
  /** Content this size or smaller travels inside the pointer notice. @default 65_536 */
  inlineMaxBytes?: number;
  /** Public keys served by `GET /v1/keys` besides the signer's own. @default [] */
  extraTrustedKeys?: TrustedKey[];
  /** Where the control plane's log lines go (formatted); the process's log output when omitted. */
  log?: ((line: string) => void) | undefined;
}

/** A running control plane. */
export interface ControlServer extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  app: ControlApp;
  nats: AtlasNats;
}

/**
 * Connects to NATS, provisions buckets, streams and `regions`, reads (or on first start
 * makes) the signed key set in `atlas_keys` and signs with its key, and serves the API.
 * Dispose it to stop the HTTP server and close the NATS connection.
 *
 * @example
 * ```ts
 * await using control = await startControl({
 *   nats: "nats://127.0.0.1:4222",
 *   port: 0,
 *   signingKey: ".atlas/signing.key",
 *   tokens: [{ name: "admin", token: "s3cret", role: "admin" }],
 *   regions: ["us-east"],
 * });
 * console.log(control.url);
 * ```
 */
export async function startControl(options: ControlOptions): Promise<ControlServer> {
  const keyRing = await KeyRing.load({
    files: [options.signingKey],
    dir: options.keyDir ?? `${dirname(options.signingKey)}/keys`,
  });
  const signer = keyRing.get(keyRing.keyIds[0]!)!;
  const replicas = options.replicas ?? 1;
  const nats = await connectAtlas(options.nats, { name: "atlas-control", noAsyncTraces: true });
  try {
    await provision(nats, { replicas });
    for (const region of options.regions ?? []) {
      await provisionRegion(nats, region, { replicas });
    }
    const deps = {
      nats,
      signer,
      keyRing,
      replicas,
      ...(options.maxContentBytes !== undefined
        ? { maxContentBytes: options.maxContentBytes }
        : {}),
      ...(options.inlineMaxBytes !== undefined ? { inlineMaxBytes: options.inlineMaxBytes } : {}),
      ...(options.extraTrustedKeys ? { extraTrustedKeys: options.extraTrustedKeys } : {}),
    };
    const context = createContext(deps);
    // The key set (made on first start): coordinators check their key against it, agents
    // take it, and it says which key this process signs with.
    await ensureKeySet(context);
    const app = createApp({ ...deps, context, tokens: options.tokens, log: options.log });
    const hostname = options.hostname ?? "127.0.0.1";
    const server = Deno.serve(
      { port: options.port ?? 8080, hostname, onListen: () => {} },
      app.fetch,
    );
    const port = server.addr.port;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    return {
      url: `http://${host}:${port}`,
      port,
      app,
      nats,
      async [Symbol.asyncDispose]() {
        await server.shutdown();
        await nats.close();
      },
    };
  } catch (e) {
    await nats.close();
    throw e;
  }
}
