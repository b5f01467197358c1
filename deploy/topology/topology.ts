/**
 * Atlas's production topology in containers, started with testcontainers: a primary region
 * (a three-node JetStream cluster, the control plane), more regions (a NATS cluster, a
 * coordinator and agents each), gateways joining the clusters into a supercluster, and NATS
 * decentralized JWT auth on every node.
 *
 * Networks: each region has its own; the NATS nodes of every region are also on one shared
 * "backbone", the only network that carries gateway traffic. Cutting a region off is
 * `docker network disconnect <backbone> <its nodes>`: a real partition, no proxy; the
 * region's coordinator and agents keep their own network. Ports are published on 127.0.0.1
 * only, at ports fixed at creation, so a restarted container answers where it did.
 *
 * Invariant: every container and network carries `atlas.topology=<id>`; disposing the
 * topology (or `deno task topology down`) removes exactly those.
 *
 * @module
 */
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import {
  type AuthSetup,
  controlAuthKeys,
  createAuthSetup,
  generateSigningKey,
  issueCreds,
  issuerOf,
  serverAuthConfig,
  tokenFileEntry,
} from "@atlas/core";
import { type AtlasNats, connectAtlas } from "@atlas/store";
import {
  docker,
  DockerError,
  readContainerFile,
  removeLabelled,
  TOPOLOGY_LABEL,
} from "./docker.ts";
import { atlasCommand, natsConfig } from "./config.ts";

// Ryuk (the reaper container) cannot be pulled here, and `topology up` must outlive its
// process: the label is what cleans up.
Deno.env.set("TESTCONTAINERS_RYUK_DISABLED", "true");

/** One region of the topology. */
export interface RegionSpec {
  name: string;
  /** NATS nodes of the region's cluster. @default 1 */
  nodes?: number;
  /** Agent containers in the region. @default 0 */
  agents?: number;
}

/** The default: a three-node primary, two regions with one node and one agent each. */
export const DEFAULT_REGIONS: readonly RegionSpec[] = [
  { name: "primary", nodes: 3 },
  { name: "us-east", nodes: 1, agents: 1 },
  { name: "eu-west", nodes: 1, agents: 1 },
];

/** Options of {@linkcode startTopology}. */
export interface TopologyOptions {
  /** Label value and name prefix. @default a random one */
  id?: string;
  /** The first region is the primary (NATS cluster and control plane). @default DEFAULT_REGIONS */
  regions?: readonly RegionSpec[];
  /** @default "atlas:local" */
  atlasImage?: string;
  /** @default "atlas-nats:local" */
  natsImage?: string;
  /** Host port of the control plane's API (127.0.0.1). @default a free one */
  controlPort?: number;
  /** The config every agent manages. @default "web" */
  config?: string;
  /** Progress lines. @default none */
  log?: (line: string) => void;
}

/** A NATS node container. */
export interface NatsNode {
  /** Its name inside the networks (`p1`, `us-east-1`). */
  name: string;
  region: string;
  container: string;
  /** `nats://127.0.0.1:<port>` */
  url: string;
  /** `http://127.0.0.1:<port>` (monitoring). */
  monitorUrl: string;
}

/** An agent container. */
export interface AgentNode {
  id: string;
  region: string;
  container: string;
  /** Path of its managed file inside the container (on its state volume). */
  file: string;
}

/** The admin token of every topology (a local try-out: it only listens on 127.0.0.1). */
const TOKEN_BYTES = 32;
const AGENT_DIR = "/var/lib/atlas";

/** Starts of a container whose host ports were taken meanwhile (see #run). */
const PORT_ATTEMPTS = 3;

/**
 * A free port on 127.0.0.1 below Linux's ephemeral range (32768+): between this check and
 * Docker binding it, no outgoing connection can take it, and a machine whose ephemeral
 * ports are all in use still has these.
 */
function _freePort(): number {
  for (let attempt = 1;; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse) || attempt >= 100) throw e;
    }
  }
}

/** Awaits every promise (so nothing is still starting), then throws the first failure. */
async function _all(promises: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
}

/** A container on one network with aliases, publishing ports on 127.0.0.1 only. */
class TopologyContainer extends GenericContainer {
  onNetwork(network: string, aliases: string[]): this {
    // Created attached to this network only (testcontainers' aliases would also attach the
    // default bridge, which every container shares: no partition could hold).
    this.withNetworkMode(network);
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: aliases } } };
    return this;
  }

  publishLocal(container: number, host: number): this {
    this.withExposedPorts({ container, host });
    this.hostConfig.PortBindings = {
      ...this.hostConfig.PortBindings,
      [`${container}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(host) }],
    };
    return this;
  }
}

/** A running topology; `await using` removes it. */
export class Topology implements AsyncDisposable {
  readonly id: string;
  readonly regions: readonly RegionSpec[];
  readonly nats: NatsNode[] = [];
  readonly agents: AgentNode[] = [];
  /** Coordinator container of each region. */
  readonly coordinators = new Map<string, string>();
  controlContainer = "";
  /** `http://127.0.0.1:<port>` */
  controlUrl = "";
  /** The admin API token. */
  readonly token: string;
  /** The operator and accounts every node trusts. */
  readonly auth: AuthSetup;
  /** The control plane's signing key (JSON text), for region-local moves. */
  readonly signingKey: string;
  readonly #options: TopologyOptions;
  readonly #output = new Map<string, string[]>();

  private constructor(options: TopologyOptions, auth: AuthSetup) {
    this.#options = options;
    this.id = options.id ?? `t${crypto.randomUUID().slice(0, 6)}`;
    this.regions = options.regions ?? DEFAULT_REGIONS;
    this.auth = auth;
    this.token = [...crypto.getRandomValues(new Uint8Array(TOKEN_BYTES))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    this.signingKey = JSON.stringify(generateSigningKey());
  }

  /** Starts a topology; see {@linkcode startTopology}. */
  static async start(options: TopologyOptions = {}): Promise<Topology> {
    const t = new Topology(options, await createAuthSetup());
    if (t.regions.length < 1) throw new RangeError("A topology needs at least one region");
    try {
      await t.#start();
    } catch (e) {
      // For a post-mortem: ATLAS_TOPOLOGY_KEEP=1 leaves the containers (`topology down` removes them).
      if (Deno.env.get("ATLAS_TOPOLOGY_KEEP")) throw e;
      await t[Symbol.asyncDispose]().catch((c) => {
        throw new DockerError(`${(e as Error).message} (and cleaning up: ${c.message})`, {
          cause: e,
        });
      });
      throw e;
    }
    return t;
  }

  get primary(): string {
    return this.regions[0]!.name;
  }

  /** The docker network of `region`, and the backbone. */
  network(region: string | "backbone"): string {
    return `atlas-${this.id}-${region}`;
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  #container(name: string, image: string): TopologyContainer {
    const lines: string[] = [];
    this.#output.set(name, lines);
    return new TopologyContainer(image)
      .withName(`atlas-${this.id}-${name}`)
      .withLabels({ [TOPOLOGY_LABEL]: this.id })
      .withStartupTimeout(60_000)
      // What it printed while starting, for the error when it never gets ready.
      .withLogConsumer((stream) => {
        stream.on("data", (chunk: unknown) => {
          lines.push(...String(chunk).split("\n").filter(Boolean));
          lines.splice(0, Math.max(0, lines.length - 30));
        });
      });
  }

  /**
   * Starts the container `build` makes (named `name`); a failure says what it printed. A
   * host port taken between {@linkcode _freePort}'s look and Docker's bind (by a container
   * of another test, or one just removed whose proxy still holds it) is no failure: the
   * half-made container is removed and `build` asked again, so it picks other ports.
   */
  async #run(name: string, build: () => TopologyContainer): Promise<StartedTestContainer> {
    for (let attempt = 1;; attempt++) {
      try {
        return await build().start();
      } catch (e) {
        const message = (e as Error).message;
        if (attempt < PORT_ATTEMPTS && /port is already allocated/.test(message)) {
          this.#log(`${name}: a host port was taken meanwhile; trying other ports`);
          await docker("rm", "--force", `atlas-${this.id}-${name}`).catch(() => "");
          continue;
        }
        const output = this.#output.get(name)?.join("\n") ?? "";
        throw new DockerError(`Container ${name} did not start: ${message}\n${output}`, {
          cause: e,
        });
      }
    }
  }

  async #start(): Promise<void> {
    const natsImage = this.#options.natsImage ?? "atlas-nats:local";
    const atlasImage = this.#options.atlasImage ?? "atlas:local";
    const wan = "backbone";
    for (const n of [wan, ...this.regions.map((r) => r.name)]) {
      await docker("network", "create", "--label", `${TOPOLOGY_LABEL}=${this.id}`, this.network(n));
    }
    // NATS: every node of every region, then the gateway network, then the meta group.
    const names = new Map(this.regions.map((r) => [
      r.name,
      Array.from({ length: r.nodes ?? 1 }, (_, i) => `${r.name}-${i + 1}`),
    ]));
    const gateways = this.regions.map((r) => ({ name: r.name, nodes: names.get(r.name)! }));
    const authConf = serverAuthConfig(this.auth, { resolverDir: "/data/jwt" });
    this.#log(`starting ${[...names.values()].flat().length} NATS nodes`);
    await _all(this.regions.flatMap((r) =>
      names.get(r.name)!.map(async (name) => {
        let [client, monitor] = [0, 0];
        const started = await this.#run(name, () => {
          [client, monitor] = [_freePort(), _freePort()];
          return this.#container(name, natsImage)
            .onNetwork(this.network(r.name), [name])
            .publishLocal(4222, client)
            .publishLocal(8222, monitor)
            .withCopyContentToContainer([{
              content: natsConfig({ name, cluster: r.name, routes: names.get(r.name)!, gateways }) +
                authConf,
              target: "/etc/nats/nats.conf",
              mode: 0o644,
            }])
            .withCommand(["-c", "/etc/nats/nats.conf"])
            .withWaitStrategy(Wait.forLogMessage(/Server is ready/));
        });
        await docker("network", "connect", "--alias", name, this.network(wan), started.getId());
        this.nats.push({
          name,
          region: r.name,
          container: started.getId(),
          url: `nats://127.0.0.1:${client}`,
          monitorUrl: `http://127.0.0.1:${monitor}`,
        });
      })
    ));
    await this.waitMetaReady();

    // The control plane, next to the primary.
    let controlPort = 0;
    const primaryNodes = names.get(this.primary)!;
    const issuer = issuerOf(this.auth);
    const controlCreds = (await issueCreds(issuer, { kind: "control" })).creds;
    this.#log("starting the control plane");
    const control = await this.#run("control", () => {
      controlPort = this.#options.controlPort ?? _freePort();
      return this.#container("control", atlasImage)
        .onNetwork(this.network(this.primary), ["control"])
        .publishLocal(8080, controlPort)
        .withCopyContentToContainer([
          { content: this.signingKey, target: "/etc/atlas/signing.key", mode: 0o644 },
          {
            content: JSON.stringify([tokenFileEntry("admin", "admin", this.token)]),
            target: "/etc/atlas/tokens.json",
            mode: 0o644,
          },
          {
            content: JSON.stringify(controlAuthKeys(this.auth)),
            target: "/etc/atlas/auth/control-plane.json",
            mode: 0o644,
          },
          { content: this.auth.system.userCreds, target: "/etc/atlas/auth/sys.creds", mode: 0o644 },
          { content: controlCreds, target: "/etc/atlas/auth/control.creds", mode: 0o644 },
        ])
        .withCommand(atlasCommand("control", [
          "--nats",
          primaryNodes.map((n) => `nats://${n}:4222`).join(","),
          "--creds",
          "/etc/atlas/auth/control.creds",
          "--auth-dir",
          "/etc/atlas/auth",
          "--hostname",
          "0.0.0.0",
          "--port",
          "8080",
          "--replicas",
          String(Math.min(3, primaryNodes.length)),
          "--signing-key",
          "/etc/atlas/signing.key",
          "--key-dir",
          "/var/lib/atlas/keys",
          "--tokens-file",
          "/etc/atlas/tokens.json",
        ]))
        .withWaitStrategy(Wait.forLogMessage(/listening/));
    });
    this.controlContainer = control.getId();
    this.controlUrl = `http://127.0.0.1:${controlPort}`;

    // Each region placed in its own cluster, then its coordinator.
    const others = this.regions.slice(1);
    for (const r of others) {
      await this.expect("PUT", `/v1/regions/${r.name}`, {
        cluster: r.name,
        replicas: Math.min(3, r.nodes ?? 1),
      }, [201, 200]);
    }
    const trustedKeys = JSON.stringify(await this.expect("GET", "/v1/keys"));
    this.#log(`starting ${others.length} coordinators`);
    await _all(others.map(async (r) => {
      const creds = (await issueCreds(issuer, { kind: "coordinator", region: r.name })).creds;
      const started = await this.#run(
        `${r.name}-coordinator`,
        () =>
          this.#container(`${r.name}-coordinator`, atlasImage)
            .onNetwork(this.network(r.name), ["coordinator"])
            .withCopyContentToContainer([
              { content: this.signingKey, target: "/etc/atlas/signing.key", mode: 0o644 },
              { content: creds, target: "/etc/atlas/coordinator.creds", mode: 0o644 },
            ])
            .withCommand(atlasCommand("coordinator", [
              "--region",
              r.name,
              "--nats",
              names.get(r.name)!.map((n) => `nats://${n}:4222`).join(","),
              "--creds",
              "/etc/atlas/coordinator.creds",
              "--signing-key",
              "/etc/atlas/signing.key",
              "--key-dir",
              "/var/lib/atlas/keys",
            ]))
            .withWaitStrategy(Wait.forLogMessage(/started/)),
      );
      this.coordinators.set(r.name, started.getId());
    }));

    // Agents: enrolled over the API (their credentials are their ack identity).
    const specs = others.flatMap((r) =>
      Array.from(
        { length: r.agents ?? 0 },
        (_, i) => ({ region: r.name, id: `${r.name}-a${i + 1}` }),
      )
    );
    this.#log(`starting ${specs.length} agents`);
    await _all(specs.map(async ({ region, id }) => {
      // Retried: under load the cluster's JetStream may still be forming (503).
      const { creds } = await this.change<{ creds: string }>(
        `enrol-${this.id}-${id}`,
        "POST",
        `/v1/agents/${region}/${id}/credentials`,
        undefined,
        [201],
      );
      const name = this.#options.config ?? "web";
      const file = `${AGENT_DIR}/${name}.json`;
      const config = {
        id,
        region,
        nats: names.get(region)!.map((n) => `nats://${n}:4222`),
        stateDir: `${AGENT_DIR}/state`,
        trustedKeys: "/etc/atlas/trusted-keys.json",
        credentials: "/etc/atlas/agent.creds",
        configs: { [name]: { path: file } },
      };
      const volume = `atlas-${this.id}-${id}-state`;
      await docker("volume", "create", "--label", `${TOPOLOGY_LABEL}=${this.id}`, volume);
      const started = await this.#run(
        id,
        () =>
          this.#container(id, atlasImage)
            .onNetwork(this.network(region), [id])
            .withBindMounts([{ source: volume, target: AGENT_DIR }])
            .withCopyContentToContainer([
              { content: JSON.stringify(config), target: "/etc/atlas/agent.json", mode: 0o644 },
              { content: trustedKeys, target: "/etc/atlas/trusted-keys.json", mode: 0o644 },
              { content: creds, target: "/etc/atlas/agent.creds", mode: 0o644 },
            ])
            .withCommand(atlasCommand("agent", ["--config", "/etc/atlas/agent.json"])),
      );
      this.agents.push({ id, region, container: started.getId(), file });
    }));
    this.agents.sort((a, b) => a.id.localeCompare(b.id));
    this.nats.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Client URLs (127.0.0.1) of the NATS nodes of `region`. */
  natsUrls(region: string): string[] {
    const urls = this.nats.filter((n) => n.region === region).map((n) => n.url);
    if (!urls.length) {
      throw new RangeError(`No region ${JSON.stringify(region)} in topology ${this.id}`);
    }
    return urls;
  }

  /** Connects from the host to `region`'s nodes with new credentials of the control role. */
  async connect(region: string): Promise<AtlasNats> {
    const { creds } = await issueCreds(issuerOf(this.auth), { kind: "control" });
    return await connectAtlas(this.natsUrls(region), { credentials: creds, name: "topology" });
  }

  /** One API request with the admin token (and `headers`); answers status and JSON body. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${this.controlUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        "content-type": "application/json",
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {} };
  }

  /**
   * One change through the API: the same request with the same `Idempotency-Key` until it
   * answers one of `ok`; a 503 (JetStream electing a leader, or still forming) or a failed
   * request (a connection cut) is tried again, any other answer throws.
   */
  async change<T>(
    key: string,
    method: string,
    path: string,
    body: unknown,
    ok: number[] = [200, 201],
    timeoutMs = 90_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      let reply: { status: number; json: unknown } | undefined;
      try {
        reply = await this.call(method, path, body, { "idempotency-key": key });
      } catch (e) {
        last = String(e);
      }
      if (reply && ok.includes(reply.status)) return reply.json as T;
      if (reply) {
        last = `${reply.status} ${JSON.stringify(reply.json)}`;
        if (reply.status !== 503) throw new DockerError(`${method} ${path} answered ${last}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new DockerError(`${method} ${path} (${key}) did not succeed in ${timeoutMs} ms: ${last}`);
  }

  /** A request that must answer one of `statuses` (default 200). */
  async expect<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    statuses: number[] = [200],
  ): Promise<T> {
    const { status, json } = await this.call(method, path, body);
    if (!statuses.includes(status)) {
      throw new DockerError(`${method} ${path} answered ${status}: ${JSON.stringify(json)}`);
    }
    return json as T;
  }

  /** The content of an agent's managed file, read out of its container (undefined: none). */
  async agentFile(agent: AgentNode): Promise<string | undefined> {
    const bytes = await readContainerFile(agent.container, agent.file);
    return bytes && new TextDecoder().decode(bytes);
  }

  /** Every container of `region` (NATS, coordinator, agents; the control plane for the primary). */
  containersOf(region: string): string[] {
    return [
      ...this.nats.filter((n) => n.region === region).map((n) => n.container),
      ...(this.coordinators.has(region) ? [this.coordinators.get(region)!] : []),
      ...this.agents.filter((a) => a.region === region).map((a) => a.container),
      ...(region === this.primary ? [this.controlContainer] : []),
    ];
  }

  /**
   * Cuts `region`'s NATS nodes off the backbone. Resolves once they report no gateway link;
   * the other side learns it as over any real partition: when its pings go unanswered.
   */
  async partition(region: string): Promise<void> {
    for (const n of this.nats.filter((n) => n.region === region)) {
      await docker("network", "disconnect", this.network("backbone"), n.container);
    }
    await this.waitGateways(region, false, { onlyRegion: true });
  }

  /** Reconnects a partitioned region; resolves once every gateway link is up again. */
  async heal(region: string): Promise<void> {
    for (const n of this.nats.filter((n) => n.region === region)) {
      await docker("network", "connect", "--alias", n.name, this.network("backbone"), n.container);
    }
    await this.waitGateways(region, true);
  }

  /**
   * Waits until `region`'s gateway links to every other region are up (or down), both ways
   * (`onlyRegion`: as its own nodes see them).
   */
  async waitGateways(
    region: string,
    up: boolean,
    options: { onlyRegion?: boolean; timeoutMs?: number } = {},
  ): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 90_000;
    const deadline = Date.now() + timeoutMs;
    const nodes = this.nats.filter((n) => !options.onlyRegion || n.region === region);
    while (Date.now() < deadline) {
      const views = await Promise.all(nodes.map(async (n) => {
        const names = await _outboundGateways(n.monitorUrl);
        if (!names) return false;
        const peers = n.region === region
          ? this.regions.map((r) => r.name).filter((r) => r !== region)
          : [region];
        return peers.every((p) => names.includes(p) === up);
      }));
      if (views.every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new DockerError(
      `Gateway links of ${region} did not go ${up ? "up" : "down"} within ${timeoutMs} ms`,
    );
  }

  /**
   * Waits until every node knows the JetStream meta leader and the leader sees every other
   * node as current (before that, a stream placed in a region can find no peers).
   */
  async waitMetaReady(timeoutMs = 120_000): Promise<void> {
    type Meta = { leader?: string; replicas?: { name: string; current: boolean }[] };
    const deadline = Date.now() + timeoutMs;
    let last: (Meta | undefined)[] = [];
    while (Date.now() < deadline) {
      last = await Promise.all(this.nats.map(async (n) => {
        try {
          const res = await fetch(`${n.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1_000) });
          return ((await res.json()) as { meta_cluster?: Meta }).meta_cluster;
        } catch {
          return undefined;
        }
      }));
      const replicas = last.find((v) => v?.replicas)?.replicas;
      if (
        last.every((v) => v?.leader) && replicas &&
        replicas.filter((r) => r.current).length === this.nats.length - 1
      ) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    // What each node saw last, so a failure says which node lagged.
    const seen = this.nats.map((n, i) => {
      const m = last[i];
      const current = m?.replicas?.filter((r) => r.current).map((r) => r.name) ?? [];
      return `${n.name}: leader ${m?.leader ?? "none"}, current peers [${current.join(", ")}]`;
    });
    throw new DockerError(
      `The JetStream meta group did not form in ${timeoutMs} ms (${seen.join("; ")}); ` +
        `see the containers' logs`,
    );
  }

  /** Log tails of every container, labelled, for a failing test to print. */
  async logTail(lines = 40): Promise<string> {
    const all = [
      ...this.nats.map((n) => [n.name, n.container]),
      ["control", this.controlContainer],
      ...[...this.coordinators].map(([r, c]) => [`${r} coordinator`, c]),
      ...this.agents.map((a) => [a.id, a.container]),
    ].filter(([, c]) => c);
    const parts = await Promise.all(all.map(async ([name, c]) => {
      const out = await new Deno.Command("docker", {
        args: ["logs", "--tail", String(lines), c!],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return `--- ${name} ---\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`;
    }));
    return parts.join("\n");
  }

  /** Removes every container, volume and network of this topology. */
  async [Symbol.asyncDispose](): Promise<void> {
    await removeTopology(this.id);
  }
}

/** Removes the containers, volumes and networks labelled with topology `id` (every one: undefined). */
export async function removeTopology(id?: string): Promise<number> {
  const { containers } = await removeLabelled(id);
  const filter = `label=${TOPOLOGY_LABEL}${id === undefined ? "" : `=${id}`}`;
  const volumes = (await docker("volume", "ls", "-q", "--filter", filter)).split("\n")
    .filter(Boolean);
  if (volumes.length) await docker("volume", "rm", ...volumes);
  return containers;
}

/** Names of the gateways a node has an open outbound connection to (undefined: no answer). */
async function _outboundGateways(monitorUrl: string): Promise<string[] | undefined> {
  try {
    const res = await fetch(`${monitorUrl}/gatewayz`, { signal: AbortSignal.timeout(1_000) });
    const body = await res.json() as {
      outbound_gateways?: Record<string, { connection?: unknown }>;
    };
    return Object.entries(body.outbound_gateways ?? {})
      .filter(([, g]) => g.connection !== undefined)
      .map(([name]) => name);
  } catch {
    return undefined;
  }
}

/**
 * Starts the whole system in containers and waits until it serves.
 *
 * @example
 * ```ts
 * await using t = await startTopology();
 * await t.expect("PUT", "/v1/configs/web", {}, [201]);
 * ```
 */
export function startTopology(options: TopologyOptions = {}): Promise<Topology> {
  return Topology.start(options);
}
