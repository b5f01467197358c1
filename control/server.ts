/**
 * Starting the control plane: connect to NATS, provision what is missing, recover the
 * audit log (every change a crash left without its event gets it, and every
 * `latestVersion` reaches its newest version) before serving, and serve the HTTP API
 * until disposed, re-running the recovery for intents a live request left behind.
 *
 * @module
 */
import { dirname } from "node:path";
import {
  appendAudit,
  type AtlasNats,
  type ClientTls,
  componentLogger,
  connectAtlas,
  type IntentResolver,
  KeyRing,
  provision,
  provisionRegion,
  recoverIntents,
  type RecoverOptions,
  type RecoveryReport,
} from "@atlas/store";
import { AuthFiles, type TokenFileEntry, type TrustedKey } from "@atlas/core";
import { type ControlApp, createAppWithAuth } from "./app.ts";
import { type ControlContext, createContext } from "./context.ts";
import { repairLatestVersions, resolveConfigPutIntent } from "./configs.ts";
import { loadEnrolmentAuth } from "./enrolment.ts";
import { ensureKeySet, resolveKeyIntent } from "./keys.ts";
import { resolveMoveIntent } from "./pointer_moves.ts";
import { resolveQuarantineIntent, resolveReleaseIntent } from "./quarantine.ts";
import { resolveChangeIntent, resolveStartIntent, RolloutAction } from "./rollouts.ts";
import { resolvePublishIntent } from "./versions.ts";

export { type AppDeps, type ControlApp, createApp } from "./app.ts";

/** Options of {@linkcode startControl}. */
export interface ControlOptions {
  /** NATS server URL(s): a list, or comma-separated. */
  nats: string | string[];
  /**
   * NATS credentials of the control plane (a `.creds` path or text). @default
   * `<authDir>/control.creds` with {@linkcode authDir}
   */
  credentials?: string | undefined;
  /**
   * Auth directory (`atlas auth init --dir D`): enables agent enrolment and revocation
   * (the control-plane keys and the system user's credentials are read from it).
   */
  authDir?: string | undefined;
  /** TLS towards NATS (the CA, and a client certificate for mutual TLS). */
  natsTls?: ClientTls | undefined;
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
 * Connects to NATS, provisions buckets, streams and `regions`, reads (or on first start
 * makes) the signed key set in `atlas_keys` and signs with its key, and serves the API.
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
  const keyRing = await KeyRing.load({
    files: [options.signingKey],
    dir: options.keyDir ?? `${dirname(options.signingKey)}/keys`,
  });
  const signer = keyRing.get(keyRing.keyIds[0]!)!;
  const replicas = options.replicas ?? 1;
  const enrolment = options.authDir
    ? await loadEnrolmentAuth(options.authDir, options.nats, options.natsTls)
    : undefined;
  const credentials = options.credentials ??
    (options.authDir ? `${options.authDir}/${AuthFiles.controlCreds}` : undefined);
  const nats = await connectAtlas(options.nats, {
    name: "atlas-control",
    noAsyncTraces: true,
    ...(credentials ? { credentials } : {}),
    ...(options.natsTls ? { tls: options.natsTls } : {}),
  });
  try {
    await provision(nats, { replicas });
    for (const region of options.regions ?? []) {
      await provisionRegion(nats, region, { replicas });
    }
    const deps = {
      nats,
      signer,
      keyRing,
      enrolment,
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
    const logging = componentLogger("control", {}, { sink: options.log });
    const { logger } = logging;
    const recovered = await recoverAudit(context);
    if (recovered.recovered.length + recovered.abandoned.length + recovered.repaired.length) {
      logger.warn("audit recovered after a crash", _summary(recovered));
    }
    const { app, auth } = createAppWithAuth({
      ...deps,
      context,
      tokens: options.tokens,
      log: options.log,
    });
    const hostname = options.hostname ?? "127.0.0.1";
    const server = Deno.serve(
      { port: options.port ?? 8080, hostname, onListen: () => {} },
      app.fetch,
    );
    const port = server.addr.port;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    // Intents a live request left (a transient error after its change): once they are
    // older than any request can run, nobody will finish them but this.
    let sweeping: Promise<void> | null = null;
    const sweep = setInterval(() => {
      sweeping ??= recoverAudit(createContext(deps), { minAgeMs: SWEEP_MIN_AGE_MS })
        .then((r) => {
          if (r.recovered.length + r.abandoned.length) {
            logger.warn("audit intents resolved", _summary(r));
          }
        }, (e) => logger.warn("audit recovery failed", { error: String(e) }))
        .finally(() => sweeping = null);
    }, SWEEP_EVERY_MS);
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
        clearInterval(sweep);
        await sweeping;
        await server.shutdown();
        await nats.close();
        logging[Symbol.dispose]();
      },
    };
  } catch (e) {
    await nats.close();
    throw e;
  }
}

/** How often a running control plane resolves intents left behind. */
const SWEEP_EVERY_MS = 60_000;
/** Intents younger than this may still be finished by the request that wrote them. */
const SWEEP_MIN_AGE_MS = 5 * 60_000;

/**
 * The resolver of every audited change the control plane makes, by action (see
 * store/journal.ts): how a recovery tells whether a dead writer's change happened.
 *
 * @example
 * ```ts
 * await recoverIntents(ctx.nats, auditResolvers(ctx));
 * ```
 */
export function auditResolvers(ctx: ControlContext): Record<string, IntentResolver> {
  const change = resolveChangeIntent(ctx);
  return {
    "version.publish": resolvePublishIntent(ctx),
    "config.put": resolveConfigPutIntent(ctx),
    "pointer.activate": resolveMoveIntent(ctx),
    "pointer.rollback": resolveMoveIntent(ctx),
    "rollout.start": resolveStartIntent(ctx),
    ...Object.fromEntries(Object.values(RolloutAction).map((a) => [`rollout.${a}`, change])),
    "rollout.succeeded": change,
    "rollout.rolled_back": change,
    "agent.release": resolveReleaseIntent(ctx),
    "agent.quarantine": resolveQuarantineIntent(ctx),
    "key.rotate": resolveKeyIntent(ctx),
    "key.retire": resolveKeyIntent(ctx),
    "key.revoke": resolveKeyIntent(ctx),
  };
}

/**
 * The audit recovery: resolves the intents a crash left (their changes get their events,
 * marked `recovered`), then raises every `latestVersion` that reads behind its newest
 * version. Run before the API serves.
 *
 * @example
 * ```ts
 * const report = await recoverAudit(createContext({ nats, signer }));
 * ```
 */
export async function recoverAudit(
  ctx: ControlContext,
  options: RecoverOptions = {},
): Promise<RecoveryReport & { repaired: string[] }> {
  const report = await recoverIntents(ctx.nats, auditResolvers(ctx), options);
  return { ...report, repaired: await repairLatestVersions(ctx) };
}

function _summary(r: RecoveryReport & { repaired?: string[] }): Record<string, unknown> {
  return {
    recovered: r.recovered.map((e) =>
      [e.action, e.config, e.region, e.version && `v${e.version}`].filter(Boolean).join(" ")
    ),
    abandoned: r.abandoned.map((e) => `${e.details["action"]} ${e.config ?? ""}`),
    recorded: r.recorded,
    ...(r.repaired ? { latestVersionRaised: r.repaired } : {}),
  };
}
