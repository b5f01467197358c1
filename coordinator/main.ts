/**
 * `deno task coordinator --region <r> --nats <url> --signing-key <file>`: runs one replica
 * of a region's coordinator until SIGINT/SIGTERM. Run two or more per region: the lease
 * holder acts, the others stand by and take over within the lease ttl.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  componentLogger,
  configureLogging,
  connectAtlas,
  coordinatorMetrics,
  KeyRing,
  KeyRingSigner,
  loggingOptions,
  METRICS_FLAGS,
  metricsListen,
  NATS_FLAGS,
  NATS_FLAGS_HELP,
  natsFlagOptions,
  natsServers,
  requireTrustedSigner,
  runMain,
  serveMetrics,
  STOP_DEADLINE_MS,
  stopWithin,
  untilStopSignal,
  UntrustedSignerError,
  UnusableSigningKeyError,
} from "@atlas/store";
import { dirname } from "node:path";
import { RegionCoordinator } from "./engine.ts";
import { PrometheusSource } from "./prometheus_source.ts";

const USAGE = `Usage: deno task coordinator --region <region> --signing-key <file>
                             [--key-dir <dir>] [--nats <url,...>] [--creds <file>]
                             [--replica <name>] [--tick-ms 500] [--lease-ttl-ms 5000]
                             [--reconnect-rate 500] [--ack-check-threads N]
                             [--metrics-port <port>] [--metrics-host 127.0.0.1]
                             [--prometheus-url <url>]
                             [--log-format text|json] [--log-level info]

The signing key is the control plane's (pointers are signed like every pointer). It signs
with the key the key set in atlas_keys names when it holds it (--key-dir, default keys/
beside --signing-key, read again when the set changes), else with another key it holds
that is still active; it refuses to sign with a retired or revoked key. With no key the
set lets it sign with, or one agents do not trust, it exits with code 2.
Rollout stages with metric gates (gates.metrics) read them from the Prometheus at
--prometheus-url (default $ATLAS_PROMETHEUS_URL); without one, such a stage waits.
--reconnect-rate is how many of the region's agents one NATS server takes per second when
they all reconnect at once (a server restart): each beacon tells agents to spread their
reconnects over agents / rate seconds (at most 60). Raise it with faster or more servers.
--ack-check-threads is how many worker threads check the signatures of bursts of acks (~40 µs
each), beside the steps (default: the cores less one, 1 to 4; 0 checks them on the step's thread).
--creds is the region's coordinator credentials (\`deno task atlas auth creds --role coordinator
--region <region>\`), default $ATLAS_NATS_CREDS. NATS defaults to $ATLAS_NATS_URL; logs to
$ATLAS_LOG_FORMAT (text) and $ATLAS_LOG_LEVEL (info).

NATS connection:
${NATS_FLAGS_HELP}`;

/** Runs with `args` (the command line) until SIGINT or SIGTERM; returns the exit code. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      region: { type: "string" },
      nats: { type: "string" },
      ...NATS_FLAGS,
      "signing-key": { type: "string", default: Deno.env.get("ATLAS_SIGNING_KEY") },
      "key-dir": { type: "string", default: Deno.env.get("ATLAS_KEY_DIR") },
      replica: { type: "string" },
      "tick-ms": { type: "string", default: "500" },
      "lease-ttl-ms": { type: "string", default: "5000" },
      "reconnect-rate": { type: "string", default: "500" },
      "ack-check-threads": { type: "string" },
      ...METRICS_FLAGS,
      "prometheus-url": { type: "string", default: Deno.env.get("ATLAS_PROMETHEUS_URL") },
      "log-format": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.region || !values["signing-key"]) {
    console.error(`error: --region and --signing-key are required\n\n${USAGE}`);
    return 2;
  }
  const tickMs = Number(values["tick-ms"]);
  const ttlMs = Number(values["lease-ttl-ms"]);
  if (!(tickMs > 0) || !(ttlMs > 3 * tickMs)) {
    console.error("error: --tick-ms must be positive and --lease-ttl-ms more than three ticks");
    return 2;
  }
  const reconnectRate = Number(values["reconnect-rate"]);
  if (!(reconnectRate > 0)) {
    console.error("error: --reconnect-rate must be a positive number of agents per second");
    return 2;
  }
  const threads = values["ack-check-threads"];
  const ackCheckThreads = threads === undefined ? undefined : Number(threads);
  if (
    ackCheckThreads !== undefined && !(Number.isInteger(ackCheckThreads) && ackCheckThreads >= 0)
  ) {
    console.error("error: --ack-check-threads must be a whole number (0: no threads)");
    return 2;
  }
  let metricsAt;
  try {
    metricsAt = metricsListen(values);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  let metricSource: PrometheusSource | undefined;
  try {
    const url = values["prometheus-url"];
    metricSource = url ? PrometheusSource.fromUrl(url) : undefined;
  } catch (e) {
    console.error(`error: --prometheus-url: ${(e as Error).message}`);
    return 2;
  }
  configureLogging(loggingOptions({ format: values["log-format"], level: values["log-level"] }));
  const ring = await KeyRing.load({
    files: [values["signing-key"]],
    dir: values["key-dir"] ?? `${dirname(values["signing-key"])}/keys`,
  });
  const nats = await connectAtlas(natsServers(values.nats), {
    ...natsFlagOptions(values, Deno.env),
    name: `atlas-coordinator ${values.region}`,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
  });
  // Agents refuse pointers signed with a key they do not trust: leading with one would roll
  // every rollout back. Say so now, before leading.
  const who = `coordinator ${values.region}`;
  const log = componentLogger("coordinator", { region: values.region }).logger;
  const signer = await KeyRingSigner.start(nats, ring, {
    who,
    region: values.region,
    onChange: (e) =>
      e.error
        ? log.error("cannot sign pointers", { error: e.error.message })
        : log.info("signing with key", { keyId: e.keyId }),
  });
  try {
    await requireTrustedSigner(nats, signer.check(), { who });
  } catch (e) {
    await signer[Symbol.asyncDispose]();
    await nats.close();
    if (!(e instanceof UntrustedSignerError || e instanceof UnusableSigningKeyError)) throw e;
    console.error(`error: ${e.message}`);
    return 2;
  }
  const metrics = metricsAt && coordinatorMetrics();
  const coordinator = await RegionCoordinator.create(nats, signer, {
    region: values.region,
    reconnectRatePerSecond: reconnectRate,
    ...(ackCheckThreads === undefined ? {} : { ackCheckThreads }),
    metrics,
    metricSource,
    ...(values.replica ? { replica: values.replica } : {}),
    leaseTtlMs: ttlMs,
  });
  componentLogger("coordinator", { region: values.region, replica: coordinator.replica })
    .logger.info("started", { tickMs, leaseTtlMs: ttlMs });
  const metricsServer = metrics && serveMetrics(metrics.registry, {
    ...metricsAt!,
    onListen: (addr) =>
      componentLogger("coordinator", { region: values.region }).logger.info(
        "metrics at GET /metrics",
        { addr: `${addr.hostname}:${addr.port}` },
      ),
  });
  coordinator.run(tickMs);
  await untilStopSignal();
  const stopped = await stopWithin(STOP_DEADLINE_MS, async () => {
    await metricsServer?.shutdown();
    await coordinator.close(); // releases the lease: another replica leads at once
    await signer[Symbol.asyncDispose]();
    await nats.close();
  });
  if (!stopped) {
    log.warn("stop cut short: NATS did not answer in time; the lease expires on its own", {
      afterMs: STOP_DEADLINE_MS,
    });
  }
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
