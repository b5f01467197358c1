/**
 * Every Prometheus metric Atlas exposes, named and labelled here and nowhere else
 * (`prom-client`): dashboards, alert rules (`deploy/prometheus/`) and gates depend on these
 * names. Names follow Prometheus conventions: base units (`_seconds`), `_total` on counters.
 *
 * Label sets are bounded: region, config, status, result, version (a handful live at a
 * time), route and method. Agent ids appear only on an agent's own endpoint (one per
 * process, where dev mode runs several), never on the control plane or a coordinator.
 *
 * Counters an Atlas part already keeps (agent stats, retries) are read when Prometheus
 * scrapes (`collect`), so they cost nothing between scrapes.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { retryCounts } from "./retry.ts";

export { Registry } from "prom-client";

/** Buckets of propagation and apply durations, seconds: 5 ms to 2 min. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Buckets of rollout stage durations, seconds: 1 s to 2 h. */
const STAGE_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/** The JetStream write retries of this process (every part retries through `retryTransient`). */
function _retryMetrics(registry: Registry): void {
  new Counter({
    name: "atlas_jetstream_write_retries_total",
    help: "JetStream writes retried after a transient error (leader election, timeout)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(retryCounts.retried);
    },
  });
  new Counter({
    name: "atlas_jetstream_write_failures_total",
    help: "JetStream writes that kept failing transiently until their deadline",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(retryCounts.exhausted);
    },
  });
}

/** The counters one agent keeps, read at scrape time. */
export interface AgentCounters {
  readonly id: string;
  readonly stats: {
    readonly applies: number;
    readonly rejects: number;
    readonly failures: number;
    readonly reconciles: number;
  };
  reconnects(): number;
  pendingAcks(): number;
  /** Applied version per managed config (null: none yet). */
  appliedVersions(): Record<string, number | null>;
}

/** What an agent observes as it goes. */
export interface AgentMetrics {
  readonly registry: Registry;
  /** Pointer `issuedAt` → this agent's ack, seconds (as the agent measured it). */
  propagation: Histogram<"agent" | "config" | "status">;
  /** Verify + write + reload + check of one version, seconds. */
  apply: Histogram<"agent" | "config">;
  /** Adds an agent whose counters are read at scrape time. */
  track(agent: AgentCounters): void;
  /** Stops reading an agent's counters (it closed). */
  untrack(agent: AgentCounters): void;
}

/**
 * The metrics of the agents of one process.
 *
 * @example
 * ```ts
 * const metrics = agentMetrics();
 * const agent = await Agent.start(config, { metrics });
 * serveMetrics(metrics.registry, { port: 9464 });
 * ```
 */
export function agentMetrics(registry: Registry = new Registry()): AgentMetrics {
  const agents = new Set<AgentCounters>();
  _retryMetrics(registry);
  const perAgent = (
    name: string,
    help: string,
    read: (a: AgentCounters) => number,
    Type: typeof Counter | typeof Gauge,
  ) =>
    new (Type as typeof Gauge)({
      name,
      help,
      labelNames: ["agent"],
      registers: [registry],
      collect() {
        this.reset();
        for (const a of agents) this.inc({ agent: a.id }, read(a));
      },
    });
  new Counter({
    name: "atlas_agent_applies_total",
    help: "Versions this agent handled, by result (applied, rejected by verify, failed)",
    labelNames: ["agent", "result"],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of agents) {
        this.inc({ agent: a.id, result: "applied" }, a.stats.applies);
        this.inc({ agent: a.id, result: "rejected" }, a.stats.rejects);
        this.inc({ agent: a.id, result: "failed" }, a.stats.failures);
      }
    },
  });
  perAgent(
    "atlas_agent_reconciles_total",
    "Reconciles with the stored pointers",
    (a) => a.stats.reconciles,
    Counter,
  );
  perAgent(
    "atlas_agent_nats_reconnects_total",
    "Reconnects to NATS",
    (a) => a.reconnects(),
    Counter,
  );
  perAgent("atlas_agent_pending_acks", "Acks waiting in the outbox", (a) => a.pendingAcks(), Gauge);
  new Gauge({
    name: "atlas_agent_applied_version",
    help: "The version of each managed config this agent has applied (absent: none yet)",
    labelNames: ["agent", "config"],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of agents) {
        for (const [config, version] of Object.entries(a.appliedVersions())) {
          if (version !== null) this.set({ agent: a.id, config }, version);
        }
      }
    },
  });
  return {
    registry,
    propagation: new Histogram({
      name: "atlas_agent_propagation_seconds",
      help: "From a pointer's issuedAt to this agent's ack, by ack status",
      labelNames: ["agent", "config", "status"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    apply: new Histogram({
      name: "atlas_agent_apply_seconds",
      help: "Verify, write, reload and check of one version",
      labelNames: ["agent", "config"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    track: (a) => void agents.add(a),
    untrack: (a) => void agents.delete(a),
  };
}

/** What a coordinator observes. */
export interface CoordinatorMetrics {
  readonly registry: Registry;
  /** Pointer `issuedAt` → ack, as each agent measured it. */
  propagation: Histogram<"region" | "config" | "status">;
  /** Pointer `issuedAt` → the ack reaching this coordinator (its clock). */
  ackArrival: Histogram<"region" | "config">;
  acks: Counter<"region" | "config" | "status">;
  /** Acks that do not count (unsigned, forged, unenrolled, revoked), by reason. */
  ignoredAcks: Counter<"region" | "reason">;
  /** First to last ack of the region's current pointer of a config, seconds. */
  ackSkew: Gauge<"region" | "config">;
  stageDuration: Histogram<"region" | "result">;
  gateResults: Counter<"region" | "gate" | "result">;
  rollbacks: Counter<"region" | "config">;
  /** 1 while this replica leads its region. */
  leader: Gauge<"region">;
  following: Gauge<"region">;
  /** Reads the fleet view at scrape time: live agents per config and applied version. */
  trackFleet(read: () => FleetView): void;
  /** Reads the ack signature checks at scrape time (coordinator/ack_checks.ts). */
  trackAckChecks(read: () => AckChecksView): void;
}

/** A coordinator's ack signature checks, read at scrape time. */
export interface AckChecksView {
  region: string;
  /** Acks waiting for their signature's check. */
  pending: number;
  /** Worker threads checking them now. */
  threads: number;
  /** CPU the threads have used, seconds (Linux; 0 elsewhere). */
  cpuSeconds: number;
}

/** A coordinator's view of its region's fleet, read at scrape time. */
export interface FleetView {
  region: string;
  /** Live agents per config and applied version (`"none"` before the first apply). */
  agents: { config: string; version: string; count: number }[];
}

/**
 * The metrics of one coordinator.
 *
 * @example
 * ```ts
 * const metrics = coordinatorMetrics();
 * const coordinator = await RegionCoordinator.create(nats, signer, { region, metrics });
 * ```
 */
export function coordinatorMetrics(registry: Registry = new Registry()): CoordinatorMetrics {
  _retryMetrics(registry);
  const fleets: (() => FleetView)[] = [];
  new Gauge({
    name: "atlas_agents",
    help: "Live agents per config and applied version: the drift view",
    labelNames: ["region", "config", "version"],
    registers: [registry],
    collect() {
      this.reset();
      for (const read of fleets) {
        const view = read();
        for (const a of view.agents) {
          this.set({ region: view.region, config: a.config, version: a.version }, a.count);
        }
      }
    },
  });
  const checks: (() => AckChecksView)[] = [];
  const checkGauge = (name: string, help: string, of: (v: AckChecksView) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["region"],
      registers: [registry],
      collect() {
        this.reset();
        for (const read of checks) {
          const view = read();
          this.set({ region: view.region }, of(view));
        }
      },
    });
  checkGauge(
    "atlas_coordinator_ack_checks_pending",
    "Acks waiting for their signature's check: growing means the check threads fall behind",
    (v) => v.pending,
  );
  checkGauge(
    "atlas_coordinator_ack_check_threads",
    "Worker threads checking ack signatures now",
    (v) => v.threads,
  );
  checkGauge(
    "atlas_coordinator_ack_check_cpu_seconds",
    "CPU the ack check threads have used (Linux)",
    (v) => v.cpuSeconds,
  );
  return {
    registry,
    propagation: new Histogram({
      name: "atlas_propagation_seconds",
      help: "From a pointer's issuedAt to an agent's ack, as the agent measured it",
      labelNames: ["region", "config", "status"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    ackArrival: new Histogram({
      name: "atlas_ack_arrival_seconds",
      help: "From a pointer's issuedAt to its ack reaching the region's coordinator",
      labelNames: ["region", "config"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    acks: new Counter({
      name: "atlas_acks_total",
      help: "Acks the coordinator received, by status",
      labelNames: ["region", "config", "status"],
      registers: [registry],
    }),
    ignoredAcks: new Counter({
      name: "atlas_acks_ignored_total",
      help: "Acks that do not count: unsigned, forged, from an unenrolled or revoked agent",
      labelNames: ["region", "reason"],
      registers: [registry],
    }),
    ackSkew: new Gauge({
      name: "atlas_ack_skew_seconds",
      help: "First to last ack of the region's current pointer of a config",
      labelNames: ["region", "config"],
      registers: [registry],
    }),
    stageDuration: new Histogram({
      name: "atlas_rollout_stage_seconds",
      help: "How long a rollout stage took in a region, by how it ended",
      labelNames: ["region", "result"],
      buckets: STAGE_BUCKETS,
      registers: [registry],
    }),
    gateResults: new Counter({
      name: "atlas_rollout_gate_results_total",
      help: "Stage judgements, by gate and result (pass, breach)",
      labelNames: ["region", "gate", "result"],
      registers: [registry],
    }),
    rollbacks: new Counter({
      name: "atlas_rollbacks_total",
      help: "Automatic rollbacks of a region",
      labelNames: ["region", "config"],
      registers: [registry],
    }),
    leader: new Gauge({
      name: "atlas_coordinator_leader",
      help: "1 while this replica leads its region",
      labelNames: ["region"],
      registers: [registry],
    }),
    following: new Gauge({
      name: "atlas_coordinator_following",
      help: "1 while this replica leads and follows its region's acks and agent records",
      labelNames: ["region"],
      registers: [registry],
    }),
    trackFleet: (read) => void fleets.push(read),
    trackAckChecks: (read) => void checks.push(read),
  };
}

/** What the control plane observes. */
export interface ControlMetrics {
  readonly registry: Registry;
  requests: Histogram<"method" | "route" | "status">;
}

/** What the control plane reads from NATS when Prometheus scrapes it. */
export interface ControlView {
  /** Quarantine entries (an agent fenced off a config, or off every config) per region. */
  quarantined: { region: string; count: number }[];
  /** Open alerts per region and kind. */
  alerts: { region: string; kind: string; count: number }[];
}

/**
 * The metrics of the control plane. `view`, when given, is read once per scrape, for the
 * quarantine and open-alert gauges.
 */
export function controlMetrics(
  registry: Registry = new Registry(),
  view?: () => Promise<ControlView>,
): ControlMetrics {
  _retryMetrics(registry);
  if (view) {
    // One read serves both gauges of a scrape.
    let reading: Promise<ControlView> | undefined;
    const read = () => (reading ??= view().finally(() => setTimeout(() => reading = undefined, 0)));
    new Gauge({
      name: "atlas_quarantined_agents",
      help: "Quarantine entries (an agent fenced off a config, or off every config) per region",
      labelNames: ["region"],
      registers: [registry],
      async collect() {
        const v = await read();
        this.reset();
        for (const { region, count } of v.quarantined) this.set({ region }, count);
      },
    });
    new Gauge({
      name: "atlas_open_alerts",
      help: "Open alerts (rolled_back, stalled, drift, failure_cluster, ...) per region and kind",
      labelNames: ["region", "kind"],
      registers: [registry],
      async collect() {
        const v = await read();
        this.reset();
        for (const { region, kind, count } of v.alerts) this.set({ region, kind }, count);
      },
    });
  }
  return {
    registry,
    requests: new Histogram({
      name: "atlas_http_request_duration_seconds",
      help: "API requests, by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** `parseArgs` options of the metrics flags of the agent and coordinator programs. */
export const METRICS_FLAGS = {
  "metrics-port": { type: "string" },
  "metrics-host": { type: "string", default: "127.0.0.1" },
} as const;

/**
 * Where `--metrics-port` and `--metrics-host` say to serve the metrics; undefined without a
 * port. Throws a `TypeError` saying what is wrong.
 */
export function metricsListen(
  values: { "metrics-port"?: string | undefined; "metrics-host"?: string | undefined },
): { hostname: string; port: number } | undefined {
  const text = values["metrics-port"];
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || port > 65535) {
    throw new TypeError(
      `--metrics-port must be a port number (0 picks a free one), got ${JSON.stringify(text)}`,
    );
  }
  return { hostname: values["metrics-host"] ?? "127.0.0.1", port };
}

/** The Prometheus exposition of `registry` as an HTTP response. */
export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType },
  });
}

/**
 * Serves `GET /metrics` of `registry` on `hostname:port` (127.0.0.1 by default: expose it
 * on purpose). Close it with `shutdown()`.
 */
export function serveMetrics(
  registry: Registry,
  options: { hostname?: string; port: number; onListen?: (addr: Deno.NetAddr) => void },
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
    onListen: options.onListen ?? (() => {}),
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/metrics") return metricsResponse(registry);
    return new Response("Not found: the metrics are at GET /metrics\n", { status: 404 });
  });
}
