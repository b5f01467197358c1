/**
 * Connecting to NATS the way every Atlas process does: reconnect forever, jittered, and
 * one bundle of the JetStream, KV and Object Store handles that the rest of Atlas uses.
 *
 * @module
 */
import {
  type Authenticator,
  AuthorizationError,
  connect,
  type NatsConnection,
} from "@nats-io/transport-node";
import {
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type StreamInfo,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { Buckets, credsSigner, describeCreds, Subjects } from "@atlas/core";
import { StreamPublisher } from "./stream_publish.ts";
import { guardNodeTransport } from "./compat/node_transport.ts";

/** How long {@linkcode AtlasNats.close} lets a drain take before it closes outright. */
export const DRAIN_DEADLINE_MS = 2_000;

/** Options of {@linkcode connectAtlas}. */
export interface ConnectOptions {
  /** Connection name shown in server monitoring. @default "atlas" */
  name?: string;
  /**
   * Keep trying when no server answers the first time (agents start while NATS is down).
   * @default false
   */
  waitOnFirstConnect?: boolean;
  /** Milliseconds between reconnect attempts (jittered). @default 1000 */
  reconnectTimeWaitMs?: number;
  /**
   * Random extra milliseconds, in [0, reconnectJitterMs), added to each reconnect wait (TLS
   * or not), so clients cut off together do not come back together. @default 500
   */
  reconnectJitterMs?: number;
  /**
   * The wait before each reconnect attempt, asked anew before each (replaces the time wait
   * and jitter above): the agent's spreads over its region's window (core/reconnect.ts).
   */
  reconnectDelayMs?: () => number;
  /** Request timeout for JetStream API calls. @default 5000 */
  timeoutMs?: number;
  /** Do not capture a stack trace for every request (faster, terser errors). @default false */
  noAsyncTraces?: boolean;
  /**
   * NATS user credentials: a `.creds` file path or the `.creds` text itself (from `atlas
   * auth creds` or `atlas agents enroll`). Replies then come to the inbox prefix the
   * credentials allow. Falls back to `$ATLAS_NATS_CREDS`; none connects anonymously,
   * which a server with Atlas auth refuses.
   */
  credentials?: string;
  /** TLS towards the servers: the CA to trust, and a client certificate for mutual TLS. */
  tls?: ClientTls | undefined;
}

/**
 * The client side of TLS (PEM files). With `caFile`, the server's certificate must be
 * signed by that CA (else the system's CAs); `certFile` and `keyFile` go together, for
 * servers that require client certificates.
 */
export interface ClientTls {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/**
 * Checks that `tls` names a client certificate and its key together or neither, and
 * that every file named is readable; throws a `TypeError` saying which is wrong.
 */
export function checkClientTls(tls: ClientTls): void {
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new TypeError(
      "TLS: a client certificate needs its key and the key its certificate: give both " +
        "(--tls-cert and --tls-key, or tls.certFile and tls.keyFile) or neither",
    );
  }
  for (const [what, path] of Object.entries(tls)) {
    if (path === undefined) continue;
    try {
      Deno.statSync(path);
    } catch (e) {
      throw new TypeError(`TLS: cannot read ${what} ${path}: ${(e as Error).message}`);
    }
  }
}

/**
 * Reads credentials given as a `.creds` path or text (see
 * {@linkcode ConnectOptions.credentials}); throws a clear error for a missing file.
 */
export async function readCredentials(credentials: string): Promise<string> {
  if (credentials.includes("-----BEGIN")) return credentials;
  try {
    return await Deno.readTextFile(credentials);
  } catch (cause) {
    throw new TypeError(
      `Cannot read NATS credentials ${credentials}: ${(cause as Error).message}. ` +
        "Issue them with `atlas auth creds` (or `atlas agents enroll` for an agent)",
      { cause },
    );
  }
}

/**
 * Parses a server list: comma-separated URLs or a list. Falls back to `$ATLAS_NATS_URL`,
 * then `nats://127.0.0.1:4222`.
 */
export function natsServers(servers?: string | string[]): string[] {
  const raw = servers ?? Deno.env.get("ATLAS_NATS_URL") ?? "nats://127.0.0.1:4222";
  const list = (Array.isArray(raw) ? raw : raw.split(",")).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new TypeError("Cannot connect to NATS: the server list is empty");
  return list;
}

/** A NATS connection with the JetStream, KV and Object Store handles Atlas uses. */
export class AtlasNats implements AsyncDisposable {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kvm: Kvm;
  readonly objm: Objm;
  /** Acknowledged stream publishes sharing one reply subscription (hot paths: acks). */
  readonly publisher: StreamPublisher;
  readonly #kvs = new Map<string, Promise<KV>>();
  readonly #timeoutMs: number;
  /** Writes nobody waits for (see {@linkcode background}); `close()` waits for them. */
  readonly #background = new Set<Promise<void>>();
  #blobs: Promise<ObjectStore> | undefined;
  #disconnectedAt: number | undefined;
  /** True once the server said this connection's credentials are revoked (then closed). */
  revoked = false;
  /** Reconnects since the connection was made. */
  reconnects = 0;

  readonly #inboxPrefix: string | undefined;

  constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    timeoutMs: number,
    inboxPrefix?: string,
  ) {
    this.nc = nc;
    this.jsm = jsm;
    this.#timeoutMs = timeoutMs;
    this.#inboxPrefix = inboxPrefix;
    // No API check (an account info request): it needs the JetStream meta leader, which a
    // region cut off from the rest of the supercluster cannot reach.
    this.js = jetstream(nc, this.#jsOptions(timeoutMs));
    this.kvm = new Kvm(this.js);
    this.objm = new Objm(this.js);
    this.publisher = new StreamPublisher(nc, inboxPrefix);
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") this.#disconnectedAt ??= Date.now();
        else if (s.type === "reconnect") {
          this.#disconnectedAt = undefined;
          this.reconnects++;
        } else if (s.type === "error" && _revoked(s.error)) {
          // Revoked credentials never work again: stop at once rather than reconnect to
          // be refused (each refusal is a socket the server resets under us).
          this.revoked = true;
          await nc.close().catch(() => {});
        }
      }
    })().catch(() => {});
  }

  #jsOptions(timeout: number) {
    return {
      timeout,
      checkAPI: false,
      ...(this.#inboxPrefix ? { watcherPrefix: this.#inboxPrefix } : {}),
    };
  }

  /** The request timeout of this connection's JetStream calls, in milliseconds. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * Milliseconds since the connection was lost (0 while connected). A reconnect usually
   * takes about a second; much longer means NATS, or the way to it, is down.
   */
  get disconnectedForMs(): number {
    if (this.nc.isClosed()) return Infinity;
    return this.#disconnectedAt === undefined ? 0 : Date.now() - this.#disconnectedAt;
  }

  /**
   * Opens (once, then cached) a KV bucket that must already exist.
   *
   * With `direct`, reads are JetStream direct gets, which any replica (or mirror) answers.
   * They keep working in a region cut off from the JetStream meta leader, where the
   * ordinary message get answers "JetStream system temporarily unavailable" after some
   * seconds; the price is that a replica may lag a write by a moment, so use it for reads
   * that tolerate that (agents re-read, compare-and-set retries). `timeoutMs` overrides
   * the connection's request timeout for this bucket's operations.
   */
  kv(bucket: string, options: { direct?: boolean; timeoutMs?: number } = {}): Promise<KV> {
    const key = `${bucket}${options.direct ? " direct" : ""} ${options.timeoutMs ?? ""}`;
    let kv = this.#kvs.get(key);
    if (!kv) {
      // A shorter request timeout needs its own JetStream context.
      const kvm = options.timeoutMs === undefined
        ? this.kvm
        : new Kvm(jetstream(this.nc, this.#jsOptions(options.timeoutMs)));
      kv = kvm.open(bucket, options.direct ? { allow_direct: true } : {});
      kv.catch(() => this.#kvs.delete(key));
      this.#kvs.set(key, kv);
    }
    return kv;
  }

  /**
   * Writes `value` under `key` in KV bucket `bucket` and returns the new revision: a
   * `kv.put`, or with `revision` a compare-and-set (the key's current revision, or 0 for a
   * key that must not exist yet; a deleted key has the revision of its delete marker), whose
   * lost race throws an error that `isCasConflict` recognizes. Goes through
   * {@linkcode publisher}: `kv.put` and `kv.update` are a request each, about 75 µs more
   * client CPU per write (measured, see stream_publish.ts).
   */
  async kvWrite(bucket: string, key: string, value: string, revision?: number): Promise<number> {
    const ack = await this.publisher.publish(Subjects.kvKey(bucket, key), value, {
      ...(revision === undefined
        ? {}
        : { headers: { "Nats-Expected-Last-Subject-Sequence": `${revision}` } }),
      timeoutMs: this.#timeoutMs,
    });
    return ack.seq;
  }

  /** The info of stream `name`, or null when there is no such stream. */
  async streamInfo(name: string): Promise<StreamInfo | null> {
    try {
      return await this.jsm.streams.info(name);
    } catch (e) {
      if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound) {
        return null;
      }
      throw e;
    }
  }

  /** The blobs object store. */
  blobs(): Promise<ObjectStore> {
    if (!this.#blobs) {
      this.#blobs = this.objm.open(Buckets.blobs);
      this.#blobs.catch(() => (this.#blobs = undefined));
    }
    return this.#blobs;
  }

  /**
   * Lets `work` finish without the caller waiting for it: for a write whose failure is
   * harmless and whose result nobody reads (deleting a resolved audit intent). Its error
   * is dropped; {@linkcode settled} and `close()` wait for it.
   */
  background(work: Promise<unknown>): void {
    const done: Promise<void> = work.then(() => {}, () => {}).finally(() =>
      this.#background.delete(done)
    );
    this.#background.add(done);
  }

  /** Resolves once every {@linkcode background} write has finished. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }

  /**
   * Waits for the background writes, then drains and closes the connection. A drain ends
   * with the server's answer to a flush, so during an outage it would wait for the next
   * reconnect (up to a region's whole reconnect window, core/reconnect.ts): after
   * {@linkcode DRAIN_DEADLINE_MS} the connection is closed instead.
   */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.settled();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained = await Promise.race([
      this.nc.drain().then(() => true, () => false),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), DRAIN_DEADLINE_MS))),
    ]);
    clearTimeout(timer);
    if (!drained) await this.nc.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The authenticator of a `.creds` text: the user JWT, and the server's nonce signed with
 * `node:crypto` (`credsSigner`). It replaces nats.js's `credsAuthenticator`, whose
 * pure-JavaScript Ed25519 (`@nats-io/nkeys`) cost 47 ms of CPU per connect against
 * ~1 ms (100 sequential connects, core/nkeys.ts). Throws a `CredentialsError` for a
 * damaged seed or one that is not the JWT user's, before any server is asked.
 *
 * @example
 * ```ts
 * const nc = await connect({ servers, authenticator: natsCredsAuthenticator(creds) });
 * ```
 */
export function natsCredsAuthenticator(creds: string): Authenticator {
  const signer = credsSigner(creds);
  return (nonce?: string) => ({
    jwt: signer.jwt,
    nkey: signer.publicKey,
    ...(nonce ? { sig: signer.signNonce(nonce) } : {}),
  });
}

/** Whether a status error says the credentials were revoked. */
function _revoked(error: unknown): boolean {
  return /authentication revoked/i.test(String((error as Error)?.message ?? error));
}

/**
 * Connects to NATS and returns the handles every Atlas process uses.
 *
 * @example
 * ```ts
 * await using nats = await connectAtlas("nats://127.0.0.1:4222", { name: "control" });
 * const configs = await nats.kv("atlas_configs");
 * ```
 */
export async function connectAtlas(
  servers?: string | string[],
  options: ConnectOptions = {},
): Promise<AtlasNats> {
  // Before any socket: no transport error uncaught, no abandoned attempt's socket left open.
  guardNodeTransport();
  const timeoutMs = options.timeoutMs ?? 5_000;
  const credentials = options.credentials ?? Deno.env.get("ATLAS_NATS_CREDS");
  const creds = credentials ? await readCredentials(credentials) : undefined;
  const inboxPrefix = creds ? describeCreds(creds).inboxPrefix : undefined;
  const authenticator = creds ? natsCredsAuthenticator(creds) : undefined;
  if (options.tls) checkClientTls(options.tls);
  const tls = options.tls
    ? Object.fromEntries(Object.entries(options.tls).filter(([, v]) => v !== undefined))
    : undefined;
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...(authenticator ? { authenticator } : {}),
      ...(inboxPrefix ? { inboxPrefix } : {}),
      ...(tls ? { tls } : {}),
      servers: natsServers(servers),
      name: options.name ?? "atlas",
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 1_000,
      reconnectJitter: options.reconnectJitterMs ?? 500,
      ...(options.reconnectJitterMs === undefined
        ? {}
        : { reconnectJitterTLS: options.reconnectJitterMs }),
      ...(options.reconnectDelayMs ? { reconnectDelayHandler: options.reconnectDelayMs } : {}),
      waitOnFirstConnect: options.waitOnFirstConnect ?? false,
      // nats.js stops reconnecting for good after two auth errors in a row. A server loaded
      // by a reconnect storm answers "Authentication Timeout" (10 000 agents: 22 stayed
      // offline), and a revoked host may be enrolled again: keep trying, at the reconnect
      // wait (a refused attempt costs the server one signature check).
      ignoreAuthErrorAbort: true,
      timeout: timeoutMs,
      noAsyncTraces: options.noAsyncTraces ?? false,
    });
  } catch (e) {
    if (!(e instanceof AuthorizationError)) throw e;
    throw new AuthorizationError(
      creds
        ? `NATS refused the credentials of ${describeCreds(creds).name} (${e.message}): ` +
          "they may be revoked or issued by another operator; issue new ones (`atlas agents " +
          "enroll` for an agent, `atlas auth creds` otherwise)"
        : `NATS refused an anonymous connection (${e.message}): pass credentials (--creds, ` +
          '"credentials" in agent.json, or $ATLAS_NATS_CREDS)',
      { cause: e },
    );
  }
  const jsm = await jetstreamManager(nc, { timeout: timeoutMs, checkAPI: false });
  return new AtlasNats(nc, jsm, timeoutMs, inboxPrefix);
}
