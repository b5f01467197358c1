/**
 * Launches real `nats-server` processes on 127.0.0.1 for dev mode and tests: a single
 * node, or a JetStream cluster, each with its own ports, store and log, stopped by PID.
 *
 * Client and monitoring ports are chosen by the server (`-1`) and read back from its
 * ports file; cluster route ports must be known before start (a clustered JetStream node
 * needs routes, on 2.9.10 even to itself), so those are reserved by binding port 0.
 *
 * Every server runs with NATS decentralized auth (a {@linkcode TestAuth}: an operator, SYS
 * and ATLAS accounts, a full resolver per server) unless started with `auth: false`; the
 * nodes of a cluster or supercluster share one. Anonymous clients are refused.
 *
 * @module
 */
import { leafJetStreamConfig } from "@atlas/core";
import { GatewayLinks } from "./gateway_links.ts";
import { _registerAuth, TestAuth } from "./auth.ts";

/** Options of {@linkcode startNatsServer}. */
export interface NatsServerOptions {
  /** Enable JetStream. @default true */
  jetstream?: boolean;
  /** JetStream store directory; a temp dir removed on dispose when omitted. */
  storeDir?: string;
  /** Client port. @default random */
  port?: number;
  /** Server name. @default "n-<random>" */
  serverName?: string;
  /** Cluster membership: this node's route port and every member's route URL. */
  cluster?: { name: string; port: number; routes: string[] };
  /** Supercluster gateway: this node's gateway port and the other clusters' gateways. */
  gateway?: {
    name: string;
    port: number;
    gateways: { name: string; urls: string[] }[];
    /** `host:port` other gateways are told to use (a proxy in fault tests). */
    advertise?: string;
  };
  /** TLS on client connections, routes and gateways (routes and gateways always mutual). */
  tls?: ServerTls;
  /**
   * Leaf node links: `port` accepts leaf nodes (a hub node); `remotes` makes this server a
   * leaf node that dials a hub, binding each local account to the hub's with `creds`.
   */
  leafnodes?: { port?: number; remotes?: LeafRemote[] };
  /** Extra configuration text appended to the generated file. */
  extraConfig?: string;
  /**
   * The operator and accounts the server trusts; `false` runs it without auth (only for
   * what truly needs an anonymous server). @default a new {@linkcode TestAuth}
   */
  auth?: TestAuth | false;
  /** How long to wait for readiness. @default 20_000 */
  readyTimeoutMs?: number;
}

/** One leaf node remote: the hub's leaf URLs, and the account bound with its credentials. */
export interface LeafRemote {
  /** The hub's leaf node URLs (`nats-leaf://host:port`). */
  urls: string[];
  /** The account's public key, on the leaf and on the hub (omit on servers without auth). */
  account?: string;
  /** `.creds` text of a user of that account on the hub (written into the work dir). */
  creds?: string;
}

/** A server's TLS files (PEM), e.g. from `makePki` and {@linkcode serverTls}. */
export interface ServerTls {
  certFile: string;
  keyFile: string;
  /** The CA that signs peers' (and, with `verifyClients`, clients') certificates. */
  caFile: string;
  /** Require a certificate signed by the CA from every client (mutual TLS). @default false */
  verifyClients?: boolean;
}

/** The server side of a PKI made by `makePki`. */
export function serverTls(
  pki: { caFile: string; serverCert: string; serverKey: string },
  options: { verifyClients?: boolean } = {},
): ServerTls {
  return {
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    caFile: pki.caFile,
    verifyClients: options.verifyClients ?? false,
  };
}

function _tlsBlock(tls: ServerTls, verify: boolean): string {
  return `tls { cert_file: ${q(tls.certFile)}, key_file: ${q(tls.keyFile)}, ` +
    `ca_file: ${q(tls.caFile)}, verify: ${verify}, timeout: 5 }`;
}

/** Raised when nats-server is missing or does not become ready. */
export class NatsServerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NatsServerError";
  }
}

const SEARCH_PATH = ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"];

/**
 * Finds the nats-server binary: `$ATLAS_NATS_SERVER`, then `$PATH`, then the usual
 * system directories. Throws a `NatsServerError` saying how to install it.
 */
export function findNatsServer(): string {
  const explicit = Deno.env.get("ATLAS_NATS_SERVER");
  if (explicit) return explicit;
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    const candidate = `${dir}/nats-server`;
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // not here
    }
  }
  throw new NatsServerError(
    "nats-server not found: install it (`apt-get install -y nats-server` as root), set " +
      "ATLAS_NATS_SERVER=/path/to/nats-server, or point Atlas at a running server with " +
      "ATLAS_NATS_URL",
  );
}

/**
 * Reserves a free TCP port on 127.0.0.1, below the kernel's range of ephemeral ports when
 * it can: a port from that range (what binding port 0 gives) can be taken meanwhile by any
 * outgoing connection on the machine, and a node restarted on its old route port then
 * fails to bind (seen once in `tests/fault_leader_test.ts`: "address already in use").
 * Falls back to binding port 0.
 */
export function reservePort(): number {
  const low = ephemeralPortsFrom();
  const from = Math.max(1024, low - 12_000);
  for (let i = 0; i < 50 && from < low; i++) {
    const port = from + Math.floor(Math.random() * (low - from));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    }
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The first ephemeral port (Linux: `ip_local_port_range`; 32768 where it cannot be read). */
export function ephemeralPortsFrom(): number {
  try {
    const low = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
    );
    if (Number.isInteger(low) && low > 1024) return low;
  } catch {
    // not Linux, or no /proc
  }
  return 32_768;
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** Where the `.creds` of leaf remote `i` is written (the config names the file). */
function _leafCredsFile(workDir: string, i: number): string {
  return `${workDir}/leaf-remote-${i}.creds`;
}

function _leafBlock(leaf: NonNullable<NatsServerOptions["leafnodes"]>, workDir: string): string {
  const parts: string[] = [];
  if (leaf.port !== undefined) parts.push(`listen: ${q(`127.0.0.1:${leaf.port}`)}`);
  if (leaf.remotes?.length) {
    const remotes = leaf.remotes.map((r, i) =>
      `{ urls: [${r.urls.map(q).join(", ")}]` +
      (r.account ? `, account: ${q(r.account)}` : "") +
      (r.creds ? `, credentials: ${q(_leafCredsFile(workDir, i))}` : "") + " }"
    );
    parts.push(`remotes: [${remotes.join(", ")}]`);
  }
  return `leafnodes { ${parts.join(", ")} }`;
}

function renderConfig(
  o: NatsServerOptions,
  auth: TestAuth | undefined,
  workDir: string,
  name: string,
  storeDir: string,
  portsDir: string,
  logFile: string,
  port: number,
  httpPort: number,
): string {
  const lines = [
    `server_name: ${q(name)}`,
    `listen: ${q(`127.0.0.1:${port}`)}`,
    `http: ${q(`127.0.0.1:${httpPort}`)}`,
    `ports_file_dir: ${q(portsDir)}`,
    `log_file: ${q(logFile)}`,
    `max_payload: 8MB`,
  ];
  if (o.jetstream ?? true) lines.push(`jetstream { store_dir: ${q(storeDir)} }`);
  if (auth) lines.push(auth.serverConfig(`${workDir}/jwt`));
  if (o.tls) lines.push(_tlsBlock(o.tls, o.tls.verifyClients ?? false));
  // Servers authenticate each other on routes and gateways: always mutual.
  const peerTls = o.tls ? `, ${_tlsBlock(o.tls, true)}` : "";
  if (o.cluster) {
    lines.push(
      `cluster { name: ${q(o.cluster.name)}, listen: ${q(`127.0.0.1:${o.cluster.port}`)}, ` +
        `routes: [${o.cluster.routes.map(q).join(", ")}]${peerTls} }`,
    );
  }
  if (o.gateway) {
    const gws = o.gateway.gateways.map((g) =>
      `{ name: ${q(g.name)}, urls: [${g.urls.map(q).join(", ")}] }`
    );
    const advertise = o.gateway.advertise ? `advertise: ${q(o.gateway.advertise)}, ` : "";
    lines.push(
      `gateway { name: ${q(o.gateway.name)}, listen: ${q(`127.0.0.1:${o.gateway.port}`)}, ` +
        `${advertise}gateways: [${gws.join(", ")}]${peerTls} }`,
    );
  }
  if (o.leafnodes) {
    lines.push(_leafBlock(o.leafnodes, workDir));
    lines.push(leafJetStreamConfig(auth?.setup.atlas.publicKey ?? "$G"));
  }
  if (o.extraConfig) lines.push(o.extraConfig);
  return lines.join("\n") + "\n";
}

/** A running (or stopped, restartable) nats-server process. */
export class NatsServer implements AsyncDisposable {
  readonly name: string;
  readonly workDir: string;
  readonly storeDir: string;
  /** The auth the server runs with (undefined: anonymous clients allowed). */
  readonly auth: TestAuth | undefined;
  readonly #options: NatsServerOptions;
  #child: Deno.ChildProcess | undefined;
  /** Started once already: a restart brings back a node with a store to catch up. */
  #startedBefore = false;
  #stderr = "";
  #port = -1;
  #httpPort = -1;

  private constructor(
    options: NatsServerOptions,
    workDir: string,
    storeDir: string,
    auth: TestAuth | undefined,
  ) {
    this.auth = auth;
    this.#options = options;
    this.workDir = workDir;
    this.storeDir = storeDir;
    this.name = options.serverName ?? `n-${crypto.randomUUID().slice(0, 8)}`;
    if (options.port !== undefined) this.#port = options.port;
  }

  /** Starts a server; see {@linkcode startNatsServer}. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const workDir = await Deno.makeTempDir({ prefix: "atlas-nats-" });
    const storeDir = options.storeDir ?? `${workDir}/store`;
    const auth = options.auth === false ? undefined : options.auth ?? await TestAuth.create();
    const server = new NatsServer(options, workDir, storeDir, auth);
    try {
      await server.restart();
    } catch (e) {
      await server[Symbol.asyncDispose]();
      throw e;
    }
    return server;
  }

  /** Client URL: `nats://127.0.0.1:<port>`, or `tls://…` when the server requires TLS. */
  get url(): string {
    return `${this.#options.tls ? "tls" : "nats"}://127.0.0.1:${this.#port}`;
  }

  /** Client port (stable across restarts). */
  get port(): number {
    return this.#port;
  }

  /** Monitoring URL, `http://127.0.0.1:<port>`. */
  get monitorUrl(): string {
    return `http://127.0.0.1:${this.#httpPort}`;
  }

  /** Names of the client connections this server holds now (its monitoring endpoint). */
  async connectionNames(): Promise<string[]> {
    const res = await fetch(`${this.monitorUrl}/connz?limit=1024`, {
      signal: AbortSignal.timeout(2_000),
    });
    const body = await res.json() as { connections?: { name?: string }[] };
    return (body.connections ?? []).map((c) => c.name ?? "");
  }

  /** Where leaf nodes dial this server (a hub node), or undefined when it takes none. */
  get leafUrl(): string | undefined {
    const port = this.#options.leafnodes?.port;
    return port === undefined ? undefined : `nats-leaf://127.0.0.1:${port}`;
  }

  /** PID of the running process, or undefined when stopped. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The last `lines` lines of the server's log (and anything it wrote to stderr). */
  async logTail(lines = 60): Promise<string> {
    let log = "";
    try {
      log = await Deno.readTextFile(`${this.workDir}/server.log`);
    } catch {
      // no log yet
    }
    return [...(log + this.#stderr).split("\n")].slice(-lines).join("\n");
  }

  /**
   * (Re)starts the process with the same ports and store. Resolves once the server
   * answers its health check. A node that comes back waits twice the readiness timeout:
   * its health check passes only once every stream of its store caught up, and on a loaded
   * machine, after an election that took 17 s, that took over 30 s (CI,
   * tests/fault_leader_test.ts).
   */
  async restart(): Promise<void> {
    if (this.#child) throw new NatsServerError(`nats-server ${this.name} is already running`);
    const portsDir = `${this.workDir}/ports`;
    await Deno.mkdir(portsDir, { recursive: true });
    const conf = `${this.workDir}/nats.conf`;
    for (const [i, r] of (this.#options.leafnodes?.remotes ?? []).entries()) {
      if (r.creds) {
        await Deno.writeTextFile(_leafCredsFile(this.workDir, i), r.creds, { mode: 0o600 });
      }
    }
    await Deno.writeTextFile(
      conf,
      renderConfig(
        this.#options,
        this.auth,
        this.workDir,
        this.name,
        this.storeDir,
        portsDir,
        `${this.workDir}/server.log`,
        this.#port,
        this.#httpPort,
      ),
    );
    const child = new Deno.Command(findNatsServer(), {
      args: ["-c", conf],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#stderr = "";
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) this.#stderr += dec.decode(chunk);
    })().catch(() => {});
    child.status.then(() => {
      if (this.#child === child) this.#child = undefined;
    });
    const readyMs = (this.#options.readyTimeoutMs ?? 20_000) * (this.#startedBefore ? 2 : 1);
    this.#startedBefore = true;
    const deadline = Date.now() + readyMs;
    const portsFile = `${portsDir}/nats-server_${child.pid}.ports`;
    while (true) {
      if (!this.#child) {
        throw new NatsServerError(
          `nats-server ${this.name} exited during start-up:\n${await this.logTail(20)}`,
        );
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new NatsServerError(
          `nats-server ${this.name} was not ready in time:\n${await this.logTail(20)}`,
        );
      }
      if (this.#httpPort < 0 || this.#port < 0) {
        try {
          const ports = JSON.parse(await Deno.readTextFile(portsFile)) as {
            nats: string[];
            monitoring: string[];
          };
          this.#port = Number(new URL(ports.nats[0]!.replace("nats:", "http:")).port);
          this.#httpPort = Number(new URL(ports.monitoring[0]!).port);
        } catch {
          // not written yet
        }
      } else if (await this.#healthy() && await this.#leafLinked()) {
        _registerAuth(this.url, this.auth);
        return;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async #healthy(): Promise<boolean> {
    try {
      // Bounded, so a request that hangs cannot outlive the readiness deadline.
      const res = await fetch(`${this.monitorUrl}/healthz`, {
        headers: { connection: "close" },
        signal: AbortSignal.timeout(1_000),
      });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** True when every leaf remote of this server is connected (a leaf node is ready then). */
  async #leafLinked(): Promise<boolean> {
    const remotes = this.#options.leafnodes?.remotes?.length ?? 0;
    if (remotes === 0) return true;
    try {
      const res = await fetch(`${this.monitorUrl}/leafz`, {
        headers: { connection: "close" },
        signal: AbortSignal.timeout(1_000),
      });
      return ((await res.json()) as { leafnodes?: number }).leafnodes === remotes;
    } catch {
      return false;
    }
  }

  /** Waits for the process to exit after `signal`, escalating to SIGKILL after `graceMs`. */
  async #signal(signal: Deno.Signal, graceMs: number): Promise<void> {
    const child = this.#child;
    if (!child) return;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, graceMs);
    await child.status;
    clearTimeout(timer);
    this.#child = undefined;
  }

  /** Graceful stop (SIGTERM: leaderships are handed over), SIGKILL after 5 s. */
  stop(): Promise<void> {
    return this.#signal("SIGTERM", 5_000);
  }

  /** Hard kill (SIGKILL), as a crash would. */
  kill(): Promise<void> {
    return this.#signal("SIGKILL", 0);
  }

  /**
   * Stops the process and removes its scratch directory (config, ports, log, and the store
   * when it owns it; a caller's store lives elsewhere and stays).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    _registerAuth(this.url, undefined);
    await Deno.remove(this.workDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Starts one nats-server on 127.0.0.1 and waits until it is healthy.
 *
 * @example
 * ```ts
 * await using server = await startNatsServer();
 * console.log(server.url); // nats://127.0.0.1:41234
 * ```
 */
export function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  return NatsServer.start(options);
}

/** Options of {@linkcode startNatsCluster}. */
export interface NatsClusterOptions {
  /** Number of nodes. @default 3 */
  nodes?: number;
  /** Cluster name. @default "c-<random>" */
  name?: string;
  /** Gateway settings shared by every node (supercluster member). */
  gateway?: {
    port: (node: number) => number;
    gateways: { name: string; urls: string[] }[];
    advertise?: (node: number) => string;
  };
  /** JetStream store of each node (0-based); temp dirs removed on dispose when omitted. */
  storeDir?: (node: number) => string;
  /** Auth shared by every node; `false` for none. @default a new {@linkcode TestAuth} */
  auth?: TestAuth | false;
  /** TLS on every node's client port, routes and gateways. */
  tls?: ServerTls;
  /**
   * Leaf node servers (no JetStream of their own) that dial every node of the cluster,
   * for agents past one server's connection limit. @default 0
   */
  leafNodes?: number;
  /**
   * The region whose agents the leaf nodes carry: their link to the hub may do what that
   * region's agents may (a `leaf` user, core/permissions.ts). Needed with `leafNodes`.
   */
  region?: string;
}

/** A JetStream cluster of nats-server processes on 127.0.0.1. */
export class NatsCluster implements AsyncDisposable {
  readonly name: string;
  readonly servers: NatsServer[];
  /** The auth every node runs with (undefined: none). */
  readonly auth: TestAuth | undefined;
  /** Leaf node servers linked to the cluster (what agents connect to in a large region). */
  readonly leaves: NatsServer[] = [];

  constructor(name: string, servers: NatsServer[], auth?: TestAuth) {
    this.name = name;
    this.servers = servers;
    this.auth = auth;
  }

  /** Client URLs of every node. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /** Client URLs of the leaf nodes. */
  get leafUrls(): string[] {
    return this.leaves.map((s) => s.url);
  }

  /** Server log tails of every node, labelled. */
  async logTail(lines = 40): Promise<string> {
    const parts = await Promise.all(
      [...this.servers, ...this.leaves].map(async (s) =>
        `--- ${s.name} ---\n${await s.logTail(lines)}`
      ),
    );
    return parts.join("\n");
  }

  /** Stops every node and leaf node and removes their files. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.leaves, ...this.servers].map((s) => s[Symbol.asyncDispose]()));
  }
}

/**
 * Starts a JetStream cluster (3 nodes by default) on 127.0.0.1 and waits until every
 * node is healthy (JetStream meta leader elected).
 *
 * @example
 * ```ts
 * await using cluster = await startNatsCluster({ nodes: 3 });
 * await cluster.servers[0]!.kill();
 * await cluster.servers[0]!.restart();
 * ```
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const nodes = options.nodes ?? 3;
  const name = options.name ?? `c-${crypto.randomUUID().slice(0, 6)}`;
  const leafNodes = options.leafNodes ?? 0;
  if (!Number.isInteger(leafNodes) || leafNodes < 0) {
    throw new RangeError(
      `Cannot start ${leafNodes} leaf nodes: pass a whole number, 0 for none`,
    );
  }
  if (leafNodes > 0 && options.region === undefined && options.auth !== false) {
    throw new RangeError(
      "Leaf nodes carry one region's agents: pass `region` with `leafNodes`",
    );
  }
  if (leafNodes > 0 && options.tls) {
    throw new NatsServerError(
      "The launcher does not start leaf nodes with TLS yet: start the cluster without " +
        "`tls`, or without `leafNodes`",
    );
  }
  const auth = options.auth === false ? undefined : options.auth ?? await TestAuth.create();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const routePorts = Array.from({ length: nodes }, () => reservePort());
    const leafPorts = routePorts.map(() => (leafNodes > 0 ? reservePort() : undefined));
    const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`);
    const started = await Promise.allSettled(routePorts.map((port, i) =>
      startNatsServer({
        serverName: `${name}-${i + 1}`,
        // One node without gateways is a plain server: alone, clustered JetStream on
        // 2.9.10 never elects a meta leader (its route to itself is a duplicate).
        ...(nodes > 1 || options.gateway ? { cluster: { name, port, routes } } : {}),
        ...(leafPorts[i] !== undefined ? { leafnodes: { port: leafPorts[i] } } : {}),
        ...(options.storeDir ? { storeDir: options.storeDir(i) } : {}),
        auth: auth ?? false,
        ...(options.tls ? { tls: options.tls } : {}),
        readyTimeoutMs: 30_000,
        ...(options.gateway
          ? {
            gateway: {
              name,
              port: options.gateway.port(i),
              gateways: options.gateway.gateways,
              ...(options.gateway.advertise ? { advertise: options.gateway.advertise(i) } : {}),
            },
          }
          : {}),
      })
    ));
    const servers = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    if (servers.length === nodes) {
      const cluster = new NatsCluster(name, servers, auth);
      try {
        await _startLeaves(cluster, leafNodes, auth, options.region);
        return cluster;
      } catch (e) {
        lastError = e;
        await Promise.all(cluster.leaves.map((s) => s[Symbol.asyncDispose]()));
      }
    }
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
    lastError ??= started.find((r) => r.status === "rejected")?.reason;
  }
  throw new NatsServerError(`Cannot start a ${nodes}-node cluster ${name}`, { cause: lastError });
}

/**
 * Starts `count` leaf nodes of `cluster`, each dialling every hub node's leaf port: the
 * ATLAS account bound with the credentials of `region`'s leaf user, SYS with the leaf
 * system link's (`leaf-sys.creds`: the leaf's resolver hears account updates and
 * revocations, and asks the hub nothing else). Leaves run no JetStream: their clients'
 * JetStream API calls cross the link to the hub.
 */
async function _startLeaves(
  cluster: NatsCluster,
  count: number,
  auth: TestAuth | undefined,
  region: string | undefined,
): Promise<void> {
  if (count === 0) return;
  const urls = cluster.servers.map((s) => s.leafUrl!);
  const remotes: LeafRemote[] = auth
    ? [
      {
        urls,
        account: auth.setup.atlas.publicKey,
        creds: await auth.creds({ kind: "leaf", region: region! }),
      },
      { urls, account: auth.setup.system.publicKey, creds: auth.setup.system.leafCreds },
    ]
    : [{ urls }];
  const started = await Promise.allSettled(Array.from({ length: count }, (_, i) =>
    startNatsServer({
      serverName: `${cluster.name}-leaf-${i + 1}`,
      jetstream: false,
      auth: auth ?? false,
      leafnodes: { remotes },
      readyTimeoutMs: 30_000,
    })));
  for (const r of started) if (r.status === "fulfilled") cluster.leaves.push(r.value);
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    throw new NatsServerError(`Cannot start the leaf nodes of ${cluster.name}`, {
      cause: failed.reason,
    });
  }
}

/** One region of {@linkcode startSupercluster}. */
export interface RegionSpec {
  /** Region (and cluster) name. */
  name: string;
  /** Nodes of the region's cluster. @default 1 */
  nodes?: number;
}

/** Clusters joined by gateways: one per region, the first is the primary. */
export class Supercluster implements AsyncDisposable {
  /** For failure printouts: `logTail` labels every node. */
  readonly name = "supercluster";
  readonly clusters: Map<string, NatsCluster>;
  /** The gateway proxies, when started with `cuttable: true`. */
  readonly links: GatewayLinks | undefined;
  /** The auth every node of every region runs with (undefined: none). */
  readonly auth: TestAuth | undefined;

  constructor(clusters: Map<string, NatsCluster>, links?: GatewayLinks, auth?: TestAuth) {
    this.clusters = clusters;
    this.links = links;
    this.auth = auth;
  }

  /** Every node of every region. */
  get servers(): NatsServer[] {
    return [...this.clusters.values()].flatMap((c) => c.servers);
  }

  /** The cluster of `region`; throws for an unknown one. */
  cluster(region: string): NatsCluster {
    const c = this.clusters.get(region);
    if (!c) throw new RangeError(`No region ${JSON.stringify(region)} in this supercluster`);
    return c;
  }

  #links(): GatewayLinks {
    if (!this.links) {
      throw new NatsServerError("Start the supercluster with { cuttable: true } to cut links");
    }
    return this.links;
  }

  /**
   * Cuts every gateway link between `region` and the rest, in both directions; its nodes
   * and clients keep running. Resolves once no node on either side reports the link.
   */
  async cutRegion(region: string, timeoutMs = 15_000): Promise<void> {
    this.cluster(region);
    this.#links().cutRegion(region);
    await this.#waitLinks(region, false, timeoutMs);
  }

  /** Heals a cut region; resolves once its nodes have gateway links to every region again. */
  async healRegion(region: string, timeoutMs = 30_000): Promise<void> {
    this.#links().healRegion(region);
    await this.#waitLinks(region, true, timeoutMs);
  }

  /** Waits until every link between `region` and the other regions is up (or down), both ways. */
  async #waitLinks(region: string, up: boolean, timeoutMs: number): Promise<void> {
    const nodes = [...this.clusters.entries()].flatMap(([r, c]) =>
      c.servers.map((s) => ({ region: r, server: s }))
    );
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const views = await Promise.all(nodes.map(async (n) => {
        const names = await _outboundGateways(n.server);
        if (!names) return false;
        const peers = n.region === region
          ? [...this.clusters.keys()].filter((r) => r !== region)
          : [region];
        return peers.every((p) => names.includes(p) === up);
      }));
      if (views.every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new NatsServerError(
      `Gateway links of ${region} did not go ${up ? "up" : "down"} within ${timeoutMs} ms`,
    );
  }

  /** Log tails of every node of every region. */
  async logTail(lines = 30): Promise<string> {
    const parts = await Promise.all([...this.clusters.values()].map((c) => c.logTail(lines)));
    return parts.join("\n");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c[Symbol.asyncDispose]()));
    await this.links?.[Symbol.asyncDispose]();
  }
}

/** Names of the gateways a node has an open outbound connection to (undefined: no answer). */
async function _outboundGateways(server: NatsServer): Promise<string[] | undefined> {
  try {
    const res = await fetch(`${server.monitorUrl}/gatewayz`, {
      signal: AbortSignal.timeout(1_000),
    });
    const body = await res.json() as {
      outbound_gateways?: Record<string, { connection?: { rtt?: string } }>;
    };
    return Object.entries(body.outbound_gateways ?? {})
      .filter(([, g]) => g.connection !== undefined)
      .map(([name]) => name);
  } catch {
    return undefined;
  }
}

/**
 * Starts a supercluster on 127.0.0.1: a JetStream cluster per region (the first one the
 * primary), each named after its region, joined by gateways. A one-node region still has
 * a route to itself, which nats-server 2.9.10 needs for clustered JetStream.
 *
 * @example
 * ```ts
 * await using sc = await startSupercluster([{ name: "primary", nodes: 3 }, { name: "us-east" }]);
 * sc.cluster("us-east").urls; // the region's client URLs
 * ```
 */
export async function startSupercluster(
  regions: RegionSpec[],
  options: SuperclusterOptions = {},
): Promise<Supercluster> {
  const auth = options.auth === false ? undefined : options.auth ?? await TestAuth.create();
  // Gateway ports are reserved before start (every cluster lists every gateway): another
  // process may take one meanwhile. Then start again on fresh ports.
  for (let attempt = 1;; attempt++) {
    try {
      return await _startSupercluster(regions, options, auth);
    } catch (e) {
      const taken = /address already in use/.test(
        `${(e as Error).message} ${((e as Error).cause as Error | undefined)?.message ?? ""}`,
      );
      if (!taken || attempt >= 3) throw e;
    }
  }
}

/** Options of {@linkcode startSupercluster}. */
export interface SuperclusterOptions {
  storeDir?: (region: string, node: number) => string;
  /** Route every gateway link through a proxy, for `cutRegion`/`healRegion`. */
  cuttable?: boolean;
  /** Auth shared by every node; `false` for none. @default a new {@linkcode TestAuth} */
  auth?: TestAuth | false;
  /** TLS on every node's client port, routes and gateways. */
  tls?: ServerTls;
}

async function _startSupercluster(
  regions: RegionSpec[],
  options: SuperclusterOptions,
  auth: TestAuth | undefined,
): Promise<Supercluster> {
  const gatewayPorts = new Map(
    regions.map((r) => [r.name, Array.from({ length: r.nodes ?? 1 }, () => reservePort())]),
  );
  const links = options.cuttable ? new GatewayLinks() : undefined;
  // What region `from` dials for every region: the nodes themselves, or (cuttable) proxies
  // of its own in front of the other regions' nodes, which know it is `from` dialling.
  const gatewaysOf = (from: string) =>
    regions.map((r) => ({
      name: r.name,
      urls: gatewayPorts.get(r.name)!.map((p) =>
        `nats://127.0.0.1:${links && r.name !== from ? links.proxy(r.name, p, from).port : p}`
      ),
    }));
  // With proxies, a dead address is advertised: a link learned by gossip would bypass them.
  const dead = links ? reservePort() : undefined;
  const clusters = new Map<string, NatsCluster>();
  try {
    await Promise.all(regions.map(async (r) => {
      const ports = gatewayPorts.get(r.name)!;
      const cluster = await startNatsCluster({
        name: r.name,
        nodes: r.nodes ?? 1,
        auth: auth ?? false,
        gateway: {
          port: (node) => ports[node]!,
          gateways: gatewaysOf(r.name),
          ...(dead ? { advertise: () => `127.0.0.1:${dead}` } : {}),
        },
        ...(options.storeDir
          ? { storeDir: (node: number) => options.storeDir!(r.name, node) }
          : {}),
        ...(options.tls ? { tls: options.tls } : {}),
      });
      clusters.set(r.name, cluster);
    }));
    await _metaReady([...clusters.values()].flatMap((c) => c.servers));
  } catch (e) {
    await Promise.all([...clusters.values()].map((c) => c[Symbol.asyncDispose]()));
    await links?.[Symbol.asyncDispose]();
    throw e;
  }
  return new Supercluster(
    new Map(regions.map((r) => [r.name, clusters.get(r.name)!])),
    links,
    auth,
  );
}

/**
 * Waits until every server knows the JetStream meta leader and the leader sees every
 * other server as current. Each server is healthy before that, but a stream placed in a
 * cluster the meta leader has not heard of yet fails ("no suitable peers for placement").
 * This narrows that window without closing it: placements right after start can still
 * get that answer for a moment, which Atlas's writes retry as transient.
 */
async function _metaReady(servers: NatsServer[], timeoutMs = 30_000): Promise<void> {
  type Jsz = {
    meta_cluster?: { leader?: string; replicas?: { name: string; current: boolean }[] };
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const views = await Promise.all(servers.map(async (s) => {
      try {
        const res = await fetch(`${s.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1_000) });
        return ((await res.json()) as Jsz).meta_cluster;
      } catch {
        return undefined;
      }
    }));
    const leader = views.find((v) => v?.replicas)?.replicas;
    if (
      views.every((v) => v?.leader) && leader &&
      leader.filter((r) => r.current).length === servers.length - 1
    ) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new NatsServerError(
    `The supercluster's JetStream meta group did not form in ${timeoutMs} ms`,
  );
}
