/**
 * `deno task agent --config agent.json`: runs one edge agent until SIGINT/SIGTERM.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Agent } from "./agent.ts";
import { loadAgentConfig } from "./config.ts";
import {
  agentMetrics,
  componentLogger,
  configureLogging,
  keepAliveOnTransportErrors,
  loggingOptions,
  METRICS_FLAGS,
  metricsListen,
  runMain,
  serveMetrics,
  STOP_DEADLINE_MS,
  stopWithin,
  untilStopSignal,
} from "@atlas/store";

const USAGE = `Usage: deno task agent --config <agent.json> [--config <another.json> ...]
                       [--creds <agent.creds>] [--http 127.0.0.1:2772] [--metrics-port <port>]
                       [--metrics-host 127.0.0.1] [--log-format text|json] [--log-level info]

Each --config runs one agent; several in one process are for demos and tests (dev mode).
--creds is the NATS credentials file of an agent.json without "credentials" (issue it with
\`deno task atlas agents enroll <region> <id> --out agent.creds\`).
--http serves the local API (GET /configs/{name}, /healthz) on host:port, like agent.json's
"http"; with one --config only. --metrics-port serves Prometheus metrics of every agent
of the process at GET /metrics (127.0.0.1 unless --metrics-host says otherwise).
Logs default to $ATLAS_LOG_FORMAT (text) and $ATLAS_LOG_LEVEL (info).

agent.json:
  {
    "id": "web-1", "region": "us-east",
    "nats": "nats://127.0.0.1:4222",            (or a list of the region's URLs)
    "stateDir": "/var/lib/atlas-agent",
    "trustedKeys": "/etc/atlas/trusted-keys.json", (from \`deno task atlas keys\`)
    "credentials": "/etc/atlas/agent.creds",      (from \`deno task atlas agents enroll\`)
    "configs": { "web.frontend": { "path": "/etc/web/frontend.json", "reload": "systemctl reload web" } }
  }`;

/** Runs with `args` (the command line) until SIGINT or SIGTERM; returns the exit code. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", short: "c", multiple: true },
      creds: { type: "string" },
      http: { type: "string" },
      ...METRICS_FLAGS,
      "log-format": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.config?.length) {
    console.error(`error: --config is required\n\n${USAGE}`);
    return 2;
  }
  if (values.http && values.config.length > 1) {
    console.error('error: --http serves one agent: give one --config, or set "http" in each');
    return 2;
  }
  let metricsAt;
  try {
    metricsAt = metricsListen(values);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  configureLogging(loggingOptions({ format: values["log-format"], level: values["log-level"] }));
  // A reconnect storm must not end the agent (store/compat/node_transport.ts says why).
  keepAliveOnTransportErrors((error) =>
    componentLogger("agent").logger.warn("NATS socket error outside the client; reconnecting", {
      error: error.message,
    })
  );
  const metrics = metricsAt && agentMetrics();
  const agents: Agent[] = [];
  for (const file of values.config) {
    const config = await loadAgentConfig(file);
    if (values.creds && !config.credentials) config.credentials = values.creds;
    agents.push(
      await Agent.start(values.http ? { ...config, http: values.http } : config, { metrics }),
    );
  }
  const metricsServer = metrics && serveMetrics(metrics.registry, {
    ...metricsAt!,
    onListen: (addr) => console.log(`metrics at http://${addr.hostname}:${addr.port}/metrics`),
  });
  await untilStopSignal();
  const stopped = await stopWithin(STOP_DEADLINE_MS, async () => {
    await metricsServer?.shutdown();
    await Promise.all(agents.map((a) => a.close()));
  });
  if (!stopped) {
    componentLogger("agent").logger.warn(
      "stop cut short: NATS did not answer in time; unsent acks stay in the outbox",
      { afterMs: STOP_DEADLINE_MS },
    );
  }
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
