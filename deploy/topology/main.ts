/**
 * `deno task topology up|down|status`: the production-like topology in containers, to try
 * Atlas as it runs in production (see README, "Try it in containers").
 *
 * `up` starts it (images from `deno task images`) and prints how to point `deno task atlas`
 * at it; what a later `down` needs is in the label, so `down` works from any shell.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DEFAULT_REGIONS, removeTopology, startTopology } from "./topology.ts";
import { docker, TOPOLOGY_LABEL } from "./docker.ts";
import { dockerSkipReason } from "../docker/docker_engine.ts";

const USAGE = `Usage: deno task topology up [--port 8080] [--agents 1] [--id try]
       deno task topology down [--id try | --all]
       deno task topology status

up      starts NATS (primary: 3 nodes; us-east, eu-west: 1 each, joined by gateways), the
        control plane, a coordinator and --agents agents per region, in containers labelled
        ${TOPOLOGY_LABEL}=<id>; ports on 127.0.0.1 only. Needs the images of \`deno task images\`.
down    removes every container, network and volume of the topology (--all: of every one).
status  lists the containers of every topology.`;

const IMAGES = ["atlas:local", "atlas-nats:local"];

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      port: { type: "string" },
      agents: { type: "string", default: "1" },
      id: { type: "string", default: "try" },
      all: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === "down") {
    const removed = await removeTopology(values.all ? undefined : values.id);
    console.log(`removed ${removed} containers of ${values.all ? "every topology" : values.id}`);
    return 0;
  }
  if (command === "status") {
    console.log(
      await docker(
        "ps",
        "-a",
        "--filter",
        `label=${TOPOLOGY_LABEL}`,
        "--format",
        `table {{.Label "${TOPOLOGY_LABEL}"}}\t{{.Names}}\t{{.Status}}\t{{.Ports}}`,
      ),
    );
    return 0;
  }
  if (command !== "up") {
    console.error(`error: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  const agents = Number(values.agents);
  if (!Number.isInteger(agents) || agents < 0 || agents > 20) {
    console.error(`error: --agents must be an integer from 0 to 20, got ${values.agents}`);
    return 2;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    console.error(`error: --port must be a TCP port (1-65535), got ${values.port}`);
    return 2;
  }
  const missing = await dockerSkipReason(IMAGES);
  if (missing) {
    console.error(`error: cannot start the topology: ${missing}`);
    return 1;
  }
  const running = await docker("ps", "-aq", "--filter", `label=${TOPOLOGY_LABEL}=${values.id}`);
  if (running.trim()) {
    console.error(
      `error: topology ${values.id} exists already: \`deno task topology down --id ${values.id}\` ` +
        "removes it, or give another --id",
    );
    return 1;
  }
  const t0 = performance.now();
  const t = await startTopology({
    id: values.id,
    regions: DEFAULT_REGIONS.map((r, i) => i === 0 ? r : { ...r, agents }),
    ...(port ? { controlPort: port } : {}),
    config: "demo.app",
    log: (line) => console.log(`… ${line}`),
  });
  const dir = `${Deno.cwd()}/.atlas/topology/${t.id}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/token`, t.token, { mode: 0o600 });
  console.log(`
Atlas runs in containers (topology ${t.id}, up in ${
    ((performance.now() - t0) / 1000).toFixed(0)
  } s).

  export ATLAS_URL=${t.controlUrl} ATLAS_TOKEN_FILE=${dir}/token
  deno task atlas configs create demo.app
  deno task atlas publish demo.app examples/demo.app.json -m "first version"
  deno task atlas activate demo.app 1 --wait
  deno task atlas status demo.app
  docker cp atlas-${t.id}-${t.agents[0]?.id ?? "<agent>"}:${t.agents[0]?.file ?? ""} - | tar -xO

Agents: ${t.agents.map((a) => a.id).join(", ") || "none"}, each manages demo.app.
NATS (127.0.0.1, JWT auth): ${
    t.regions.map((r) => `${r.name} ${t.natsUrls(r.name).join(",")}`).join("; ")
  }
Containers: deno task topology status; remove all: deno task topology down --id ${t.id}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
