/**
 * What each container of the topology is told: a NATS node's configuration file, and the
 * command line of an Atlas container. Pure text; nothing here talks to Docker.
 *
 * Invariant: nodes address each other by network alias (`primary-1:6222` for routes,
 * `us-east-1:7222` for gateways; itself as 127.0.0.1) and advertise those names, never a container IP, so a
 * node reconnected to the backbone (new IP) is found again by name; clients are not told
 * other nodes' addresses (`no_advertise`), since from the host only published ports work.
 * Pings every 5 s, so a silent peer is dropped within about 10 s.
 *
 * @module
 */

/** One NATS node of {@linkcode natsConfig}. */
export interface NatsNodeConfig {
  /** Server name and network alias. */
  name: string;
  /** Its cluster (= region) name. */
  cluster: string;
  /** Every node of its cluster (itself included: 2.9.10 needs a route even alone). */
  routes: string[];
  /** Every cluster of the supercluster (its own included) and their nodes. */
  gateways: { name: string; nodes: string[] }[];
}

/** The nats-server configuration of one node (auth is appended by the caller). */
export function natsConfig(node: NatsNodeConfig): string {
  const q = JSON.stringify;
  const self = (r: string) => `nats-route://${r === node.name ? "127.0.0.1" : r}:6222`;
  const gateways = node.gateways.map((g) =>
    `    { name: ${q(g.name)}, urls: [${g.nodes.map((n) => q(`nats://${n}:7222`)).join(", ")}] }`
  );
  return [
    `server_name: ${q(node.name)}`,
    `listen: "0.0.0.0:4222"`,
    `http: "0.0.0.0:8222"`,
    `max_payload: 8MB`,
    // A peer gone without a word (a partition drops packets, it closes nothing) is noticed
    // after two unanswered pings: 10 s instead of the default 2 min.
    `ping_interval: "5s"`,
    `ping_max: 2`,
    `jetstream { store_dir: "/data/jetstream" }`,
    `cluster {`,
    `  name: ${q(node.cluster)}, listen: "0.0.0.0:6222", advertise: ${q(`${node.name}:6222`)},`,
    `  no_advertise: true,`,
    // Its own route by IP: a route equal to the advertised name is dropped unseen, and a
    // one-node cluster on 2.9.10 places no stream without one.
    `  routes: [${node.routes.map((r) => q(self(r))).join(", ")}]`,
    `}`,
    `gateway {`,
    `  name: ${q(node.cluster)}, listen: "0.0.0.0:7222", advertise: ${q(`${node.name}:7222`)},`,
    `  gateways: [`,
    gateways.join(",\n"),
    `  ]`,
    `}`,
    "",
  ].join("\n");
}

/** An Atlas component, one entrypoint of the Atlas image each. */
export type AtlasComponent = "control" | "coordinator" | "agent";

/** The container command of `component` with its flags (the image's entrypoint is `atlas`). */
export function atlasCommand(component: AtlasComponent, flags: string[]): string[] {
  return [component, ...flags];
}
