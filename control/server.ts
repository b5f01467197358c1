/**
 * Starting the control plane: connect to NATS, provision what is missing, and serve the
 * HTTP API until disposed.
 *
 * @module
 */
import {
  appendAudit,
  type AtlasNats,
  type ClientTls,
  connectAtlas,
  loadSigner,
  provision,
  provisionRegion,
  publishTrustedKeys,
} from "@atlas/store";
import type { TokenFileEntry, TrustedKey } from "@atlas/core";
import { type ControlApp, createAppWithAuth } from "./app.ts";
import { trustedKeysOf } from "./context.ts";

export { type AppDeps, type ControlApp, createApp } from "./app.ts";

/** Options of {@linkcode startControl}. */
export interface ControlOptions {
  /** NATS server URL(s): a list, or comma-separated. */
  nats: string | string[];
  /** TLS towards NATS (the CA, and a client certificate for mutual TLS). */
  natsTls?: ClientTls | undefined;
  /** HTTP port; 0 picks a free one. @default 8080 */
  port?: number;
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** Path of the signing key file (`deno task atlas keys generate <file>` makes one). */
  signingKey: string;
  /**
   * Bootstrap API tokens: name, role and the SHA-256 of the secret (the tokens file's
   * entries; `tokenFileEntry` makes one). More are created through `POST /v1/tokens`.
   */
  tokens: TokenFileEntry[];
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
  /**
   * Replaces the tokens-file tokens (`deno task control` calls it on SIGHUP): from the
   * next request on, removed entries are refused and added ones accepted. Audited as
   * `token.file_reload` with the names added, removed and changed. Throws, changing
   * nothing, on entries that are not valid (an empty list, a name twice).
   */
  reloadTokens(tokens: TokenFileEntry[]): Promise<void>;
}

/**
 * Connects to NATS, provisions buckets, streams and `regions`, publishes the trusted keys
 * into `atlas_keys` (for coordinators to check their key against), and serves the API.
 * Dispose it to stop the HTTP server and close the NATS connection.
 *
 * @example
 * ```ts
 * const secret = generateTokenSecret();
 * await using control = await startControl({
 *   nats: "nats://127.0.0.1:4222",
 *   port: 0,
 *   signingKey: ".atlas/signing.key",
 *   tokens: [tokenFileEntry("admin", "admin", secret)],
 *   regions: ["us-east"],
 * });
 * console.log(control.url);
 * ```
 */
export async function startControl(options: ControlOptions): Promise<ControlServer> {
  const signer = await loadSigner(options.signingKey);
  const replicas = options.replicas ?? 1;
  const nats = await connectAtlas(options.nats, {
    name: "atlas-control",
    noAsyncTraces: true,
    ...(options.natsTls ? { tls: options.natsTls } : {}),
  });
  try {
    await provision(nats, { replicas });
    for (const region of options.regions ?? []) {
      await provisionRegion(nats, region, { replicas });
    }
    // Coordinators check their signing key against these before they lead.
    await publishTrustedKeys(
      nats,
      trustedKeysOf({
        signer,
        ...(options.extraTrustedKeys ? { extraTrustedKeys: options.extraTrustedKeys } : {}),
      }),
    );
    const { app, auth } = createAppWithAuth({
      nats,
      signer,
      tokens: options.tokens,
      replicas,
      ...(options.maxContentBytes !== undefined
        ? { maxContentBytes: options.maxContentBytes }
        : {}),
      ...(options.inlineMaxBytes !== undefined ? { inlineMaxBytes: options.inlineMaxBytes } : {}),
      ...(options.extraTrustedKeys ? { extraTrustedKeys: options.extraTrustedKeys } : {}),
      log: options.log,
    });
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
      async reloadTokens(tokens) {
        if (tokens.length === 0) {
          throw new TypeError(
            "Cannot reload an empty tokens file: it needs at least one token to bootstrap",
          );
        }
        const before = new Map(auth.fileTokens.map((t) => [t.name, t]));
        auth.setFileTokens(tokens);
        const after = new Map(tokens.map((t) => [t.name, t]));
        const changed = [...after.values()].filter((t) => {
          const old = before.get(t.name);
          return old && (old.role !== t.role || old.sha256 !== t.sha256);
        });
        await appendAudit(nats, {
          actor: "control-plane",
          action: "token.file_reload",
          details: {
            added: [...after.keys()].filter((n) => !before.has(n)),
            removed: [...before.keys()].filter((n) => !after.has(n)),
            changed: changed.map((t) => t.name),
          },
        });
      },
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
