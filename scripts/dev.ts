/**
 * `deno task dev`: the whole of Atlas on this machine. Starts a JetStream nats-server
 * (data kept under the data dir), the control plane, and demo agents in two regions, and
 * stops every one of them on Ctrl-C.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import {
  type AtlasNats,
  connectAtlas,
  natsServers,
  provision,
  provisionRegion,
  runMain,
  untilStopSignal,
} from "@atlas/store";
import {
  type AuthSetup,
  createAuthSetup,
  describeCreds,
  generateSigningKey,
  generateTokenSecret,
  parseTokensFile,
  Signer,
  SigningKeyFile,
  tokenFileEntry,
} from "@atlas/core";
import { recordEnrolment } from "@atlas/store";
import {
  enrolAgent,
  findPrometheus,
  makePki,
  type Pki,
  pkiIn,
  type Prometheus,
  reservePort,
  type RoleSpec,
  scrapeConfig,
  type ScrapeJob,
  serverTls,
  startPrometheus,
  startSupercluster,
  TestAuth,
} from "@atlas/testkit";
import { startControl } from "@atlas/control";
import { nginxMissing, TestNginx } from "@atlas/agent/nginx_testing";
import { ensureNatsServer } from "./setup.ts";

const USAGE =
  `Usage: deno task dev [--port 8080] [--data-dir .atlas/dev] [--regions us-east,eu-west]
                     [--agents-per-region 10] [--insecure] [--tls] [--mtls]
                     [--prometheus-port 9090] [--agent-http 127.0.0.1:2772]

Starts nats-server (or uses ATLAS_NATS_URL), the control plane, a coordinator per region
and demo agents. NATS runs with Atlas's authorization: an operator kept in
<data-dir>/auth, each component with the credentials of its role, anonymous clients
refused. --insecure runs NATS without any authorization (for trying things out only).
--tls makes a throw-away CA and certificates under <data dir>/tls and runs NATS with TLS
on client connections, routes and gateways (every component verifies the server against
that CA); --mtls also requires client certificates.

Every part serves Prometheus metrics; <data dir>/prometheus.yml scrapes them all (with the
rules of deploy/prometheus). --prometheus-port also runs Debian's prometheus with it there.
The first region's first agent serves its local API on --agent-http (curl
127.0.0.1:2772/configs/demo.app); "off" turns it off.`;
const RULES = new URL("../deploy/prometheus/atlas.rules.yml", import.meta.url).pathname;

const AGENT_MAIN = new URL("../agent/main.ts", import.meta.url).pathname;
const COORDINATOR_MAIN = new URL("../coordinator/main.ts", import.meta.url).pathname;

/** Starts `deno run -A <args>` with its output prefixed; returns how to stop it. */
function spawn(label: string, args: string[]): () => Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  prefixLines(`[${label}]`, child.stdout);
  prefixLines(`[${label}]`, child.stderr);
  return async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await child.status;
    clearTimeout(timer);
  };
}
/**
 * Dev mode's NATS operator and accounts: `<dir>/setup.json` (mode 0600) made on first
 * start and reused, and the files a control plane enrols with (`writeAuthDir`).
 */
async function devAuth(dir: string): Promise<TestAuth> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = `${dir}/setup.json`;
  let text = await readOrCreate(file, () => "");
  if (!text) {
    text = JSON.stringify(await createAuthSetup());
    await Deno.writeTextFile(file, text, { mode: 0o600 });
  }
  const auth = TestAuth.from(JSON.parse(text) as AuthSetup);
  await auth.writeAuthDir(dir);
  return auth;
}

const DEMO_CONFIG = "demo.app";
const WEB_CONFIG = "web.nginx";

async function readOrCreate(path: string, make: () => string, mode = 0o600): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const text = make();
    await Deno.writeTextFile(path, text, { mode });
    return text;
  }
}

function prefixLines(prefix: string, stream: ReadableStream<Uint8Array>): void {
  (async () => {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) console.log(`${prefix} ${line}`);
    }
  })().catch(() => {});
}

/** The throw-away PKI of dev mode: made on the first start with --tls, reused after. */
async function devPki(dir: string): Promise<Pki> {
  const pki = pkiIn(dir);
  try {
    await Deno.stat(pki.clientKey);
    return pki;
  } catch {
    console.log(`dev: making a throw-away CA and certificates in ${dir}`);
    return await makePki(dir);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8080" },
      "data-dir": { type: "string", default: ".atlas/dev" },
      regions: { type: "string", default: "us-east,eu-west" },
      "agents-per-region": { type: "string", default: "10" },
      insecure: { type: "boolean", default: false },
      tls: { type: "boolean", default: false },
      mtls: { type: "boolean", default: false },
      "prometheus-port": { type: "string" },
      "agent-http": { type: "string", default: "127.0.0.1:2772" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dataDir = resolve(values["data-dir"]!);
  const port = Number(values.port);
  const regions = values.regions!.split(",").map((r) => r.trim()).filter(Boolean);
  const perRegion = Number(values["agents-per-region"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot use port ${values.port}: give a number from 0 to 65535`);
  }
  if (!Number.isInteger(perRegion) || perRegion < 1 || perRegion > 50) {
    throw new RangeError(
      `Cannot start ${values["agents-per-region"]} agents per region: give 1 to 50`,
    );
  }
  await Deno.mkdir(`${dataDir}/agents`, { recursive: true });
  const mutual = values.mtls!;
  const pki = values.tls || mutual ? await devPki(`${dataDir}/tls`) : undefined;
  // What every client of dev mode's NATS is given: agent.json's `tls`, --tls-* flags.
  const clientTls = pki
    ? {
      caFile: pki.caFile,
      ...(mutual ? { certFile: pki.clientCert, keyFile: pki.clientKey } : {}),
    }
    : undefined;
  const tlsFlags = clientTls
    ? [
      "--tls-ca",
      clientTls.caFile,
      ...(clientTls.certFile ? ["--tls-cert", clientTls.certFile] : []),
      ...(clientTls.keyFile ? ["--tls-key", clientTls.keyFile] : []),
    ]
    : [];

  // Keys and token: made on first start, reused after.
  const keyFile = `${dataDir}/signing.key`;
  const key = SigningKeyFile.parse(JSON.parse(
    await readOrCreate(keyFile, () => JSON.stringify(generateSigningKey(), null, 2)),
  ));
  // The admin secret is the CLI's credential (mode 0600, like ~/.vault-token); the control
  // plane gets only its digest, from tokens.json, as a production one would.
  const tokenFile = `${dataDir}/admin.token`;
  const token = (await readOrCreate(tokenFile, () => generateTokenSecret() + "\n")).trim();
  const tokensFile = `${dataDir}/tokens.json`;
  await Deno.writeTextFile(
    tokensFile,
    JSON.stringify([tokenFileEntry("admin", "admin", token)], null, 2) + "\n",
  );
  const trustedKeysFile = `${dataDir}/trusted-keys.json`;
  await Deno.writeTextFile(
    trustedKeysFile,
    JSON.stringify(
      { keys: [new Signer(key).trustedKey] },
      null,
      2,
    ),
  );

  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error(`dev: ${e}`));
  };
  try {
    // NATS: the production topology in small (a one-node primary cluster for configs,
    // versions, blobs, acks and audit, and a one-node cluster per region for its pointers,
    // joined by gateways), unless ATLAS_NATS_URL points at a NATS of your own.
    let natsUrl: string;
    let regionUrl: (region: string) => string;
    // NATS auth: one operator for this data dir, made on first start and kept, so the
    // stores and the credentials stay valid across restarts.
    const authDir = `${dataDir}/auth`;
    const auth = values.insecure || Deno.env.get("ATLAS_NATS_URL")
      ? undefined
      : await devAuth(authDir);
    /** A file holding the `.creds` of `role` (undefined without auth). */
    const credsFile = async (name: string, role: RoleSpec) => {
      if (!auth) return undefined;
      const file = `${authDir}/${name}.creds`;
      await readOrCreate(file, () => "").then(async (text) => {
        if (!text) await Deno.writeTextFile(file, (await auth.issue(role)).creds, { mode: 0o600 });
      });
      return file;
    };
    if (Deno.env.get("ATLAS_NATS_URL")) {
      natsUrl = natsServers().join(",");
      regionUrl = () => natsUrl;
      console.log(`dev: using NATS at ${natsUrl} (ATLAS_NATS_URL)`);
    } else {
      await ensureNatsServer();
      const sc = await startSupercluster([
        { name: "primary" },
        ...regions.map((name) => ({ name })),
      ], {
        storeDir: (cluster) => `${dataDir}/nats/${cluster}`,
        auth: auth ?? false,
        ...(pki ? { tls: serverTls(pki, { verifyClients: mutual }) } : {}),
      });
      const servers = sc.servers;
      cleanups.push(async () => {
        await Promise.all(servers.map((s) => s.stop())); // SIGTERM: JetStream flushes its store
        await sc[Symbol.asyncDispose](); // scratch files; the stores are ours and stay
      });
      natsUrl = sc.cluster("primary").urls[0]!;
      regionUrl = (region) => sc.cluster(region).urls[0]!;
      await using nats = await connectAtlas(natsUrl, {
        name: "atlas-dev provisioning",
        ...(auth ? { credentials: await auth.creds("control") } : {}),
        ...(clientTls ? { tls: clientTls } : {}),
      });
      await provision(nats, { cluster: "primary" });
      for (const region of regions) await provisionRegion(nats, region, { cluster: region });
      console.log(`dev: supercluster up (stores under ${dataDir}/nats):`);
      for (const [name, c] of sc.clusters) console.log(`dev:   ${name.padEnd(10)} ${c.urls[0]}`);
    }

    const control = await startControl({
      nats: natsUrl,
      ...(auth ? { authDir } : {}),
      ...(clientTls ? { natsTls: clientTls } : {}),
      port,
      signingKey: keyFile,
      tokens: parseTokensFile(await Deno.readTextFile(tokensFile), tokensFile),
      regions,
    });
    cleanups.push(async () => await control[Symbol.asyncDispose]());
    /**
     * An agent's `.creds`: issued by this data dir's operator (auth on), or throw-away
     * (--insecure); either way its public key is recorded as the agent's enrolment, so the
     * acks it signs count.
     */
    const agentCredentials = async (region: string, id: string, dir: string) => {
      const file = await credsFile(`agent-${id}`, { kind: "agent", region, agent: id });
      if (!file) return await devCredentials(control.nats, region, id, dir);
      const { publicKey } = describeCreds(await Deno.readTextFile(file));
      await recordEnrolment(control.nats, { region, agent: id, publicKey });
      return file;
    };
    const scrape: ScrapeJob[] = [{ job: "control", targets: [new URL(control.url).host] }];

    await ensureDemoConfig(control.url, token);

    // A real program reading its file: the first region's web host runs Debian's nginx, whose
    // whole nginx.conf its agent keeps (verify: nginx -t on the candidate; reload: nginx -s
    // reload). Without nginx, dev mode runs without this host and says so.
    const noNginx = nginxMissing();
    let nginx: TestNginx | undefined;
    if (noNginx) {
      console.log(`dev: no web host with nginx (${noNginx})`);
    } else {
      nginx = await TestNginx.create(`${dataDir}/nginx`);
      await nginx.start("dev mode: nothing published to web.nginx yet");
      const started = nginx;
      cleanups.push(async () => await started[Symbol.asyncDispose]());
      await ensureConfig(control.url, token, WEB_CONFIG, {
        description: "nginx.conf of dev mode's web host",
        contentType: "text/plain",
      });
    }

    // Per region: one process hosting its demo agents (light), and one coordinator.
    const agents: { id: string; region: string; dir: string }[] = [];
    for (const region of regions) {
      const files: string[] = [];
      for (let i = 1; i <= perRegion; i++) {
        const id = `${region}-${i}`;
        const dir = `${dataDir}/agents/${id}`;
        await Deno.mkdir(dir, { recursive: true });
        const credentials = await agentCredentials(region, id, dir);
        const config = {
          id,
          region,
          nats: regionUrl(region),
          ...(credentials ? { credentials } : {}),
          stateDir: `${dir}/.state`,
          trustedKeys: trustedKeysFile,
          ...(clientTls ? { tls: clientTls } : {}),
          configs: { [DEMO_CONFIG]: { path: `${dir}/${DEMO_CONFIG}.json` } },
          heartbeatSeconds: 5,
          // One host's applications read their config over HTTP too (the local API).
          ...(region === regions[0] && i === 1 && values["agent-http"] !== "off"
            ? { http: values["agent-http"] }
            : {}),
        };
        await Deno.writeTextFile(`${dir}/agent.json`, JSON.stringify(config, null, 2));
        files.push(`${dir}/agent.json`);
        agents.push({ id, region, dir });
      }
      if (nginx && region === regions[0]) {
        const web = { id: `${region}-web`, region, dir: `${dataDir}/agents/${region}-web` };
        await Deno.mkdir(web.dir, { recursive: true });
        const credentials = await agentCredentials(region, web.id, web.dir);
        await Deno.writeTextFile(
          `${web.dir}/agent.json`,
          JSON.stringify(
            {
              id: web.id,
              region,
              nats: regionUrl(region),
              ...(credentials ? { credentials } : {}),
              stateDir: `${web.dir}/.state`,
              trustedKeys: trustedKeysFile,
              ...(clientTls ? { tls: clientTls } : {}),
              configs: { [WEB_CONFIG]: nginx.managed() },
              heartbeatSeconds: 5,
            },
            null,
            2,
          ),
        );
        files.push(`${web.dir}/agent.json`);
        agents.push(web);
      }
      // A mixed fleet, as real ones are: a batch host that manages no config of Atlas's.
      // Rollouts, gates and status count only the agents that manage a config.
      const batch = { id: `${region}-batch`, region, dir: `${dataDir}/agents/${region}-batch` };
      await Deno.mkdir(batch.dir, { recursive: true });
      const batchCreds = await agentCredentials(region, batch.id, batch.dir);
      await Deno.writeTextFile(
        `${batch.dir}/agent.json`,
        JSON.stringify(
          {
            id: batch.id,
            region,
            nats: regionUrl(region),
            ...(batchCreds ? { credentials: batchCreds } : {}),
            stateDir: `${batch.dir}/.state`,
            trustedKeys: trustedKeysFile,
            ...(clientTls ? { tls: clientTls } : {}),
            configs: {},
            heartbeatSeconds: 5,
          },
          null,
          2,
        ),
      );
      files.push(`${batch.dir}/agent.json`);
      agents.push(batch);
      const agentsMetrics = `127.0.0.1:${reservePort()}`;
      const coordinatorMetrics = `127.0.0.1:${reservePort()}`;
      scrape.push(
        { job: `agents-${region}`, targets: [agentsMetrics] },
        { job: `coordinator-${region}`, targets: [coordinatorMetrics] },
      );
      cleanups.push(
        spawn(`agents ${region}`, [
          AGENT_MAIN,
          ...files.flatMap((f) => ["--config", f]),
          "--metrics-port",
          agentsMetrics.split(":")[1]!,
        ]),
      );
      const coordinatorCreds = await credsFile(`coordinator-${region}`, {
        kind: "coordinator",
        region,
      });
      cleanups.push(spawn(`coordinator ${region}`, [
        COORDINATOR_MAIN,
        "--region",
        region,
        "--nats",
        regionUrl(region),
        ...(coordinatorCreds ? ["--creds", coordinatorCreds] : []),
        "--signing-key",
        keyFile,
        "--replica",
        `dev-${region}`,
        "--metrics-port",
        coordinatorMetrics.split(":")[1]!,
        ...(values["prometheus-port"] !== undefined
          ? ["--prometheus-url", `http://127.0.0.1:${Number(values["prometheus-port"])}`]
          : []),
        ...tlsFlags,
      ]));
    }

    // Prometheus: a scrape configuration of every part, and the server itself when asked.
    const prometheusYml = `${dataDir}/prometheus.yml`;
    await Deno.writeTextFile(prometheusYml, scrapeConfig(scrape, { ruleFiles: [RULES] }));
    let prometheus: Prometheus | undefined;
    if (values["prometheus-port"] !== undefined) {
      if (!findPrometheus()) {
        console.log("dev: no prometheus installed (apt-get install -y prometheus): not started");
      } else {
        prometheus = await startPrometheus({
          jobs: scrape,
          dir: `${dataDir}/prometheus`,
          listen: `127.0.0.1:${Number(values["prometheus-port"])}`,
          ruleFiles: [RULES],
        });
        const started = prometheus;
        cleanups.push(async () => await started[Symbol.asyncDispose]());
      }
    }

    const devJson = {
      controlUrl: control.url,
      natsUrl,
      ...(clientTls ? { natsTls: clientTls } : {}),
      regions: Object.fromEntries(regions.map((r) => [r, regionUrl(r)])),
      ...(auth ? { authDir, readerCreds: await credsFile("reader", "reader") } : {}),
      tokenFile,
      trustedKeysFile,
      agents,
      metrics: Object.fromEntries(scrape.map((j) => [j.job, j.targets[0]])),
      prometheusYml,
      ...(prometheus ? { prometheusUrl: prometheus.url } : {}),
    };
    await Deno.writeTextFile(`${dataDir}/dev.json`, JSON.stringify(devJson, null, 2) + "\n");

    console.log(`
Atlas dev mode is up.
  control plane   ${control.url}   (API docs: ${control.url}/openapi.json)
  NATS            primary ${natsUrl}; ${regions.map((r) => `${r} ${regionUrl(r)}`).join("; ")}${
      pki ? `\n  TLS             ${mutual ? "mutual, " : ""}CA ${pki.caFile}` : ""
    }
  NATS auth       ${
      auth
        ? `on: anonymous clients are refused; credentials in ${authDir} ` +
          `(agents enroll|revoke work)`
        : "OFF (--insecure or ATLAS_NATS_URL): anyone reaching NATS can do anything"
    }
  admin token     ${tokenFile} (the CLI's; the control plane has its digest, ${tokensFile})
  metrics         every part's GET /metrics; scrape config ${prometheusYml}${
      prometheus
        ? `\n  prometheus      ${prometheus.url}   (rules: deploy/prometheus/atlas.rules.yml)`
        : ""
    }
  trusted keys    ${trustedKeysFile}
  agents          ${perRegion} per region managing ${DEMO_CONFIG}, e.g. ${
      agents[0]!.dir
    }/${DEMO_CONFIG}.json,
                  and one batch host per region that manages no config${
      values["agent-http"] !== "off"
        ? `\n  local API       curl http://${values["agent-http"]}/configs/${DEMO_CONFIG}  (${
          regions[0]
        }-1's applied config)`
        : ""
    }${
      nginx
        ? `
  web host        ${regions[0]}-web keeps nginx's config (${nginx.conf}),
                  serving http://127.0.0.1:${nginx.port}/`
        : ""
    }
  coordinators    one per region (${regions.join(", ")})
  machine-readable: ${dataDir}/dev.json

Try, in another terminal (${
      dataDir === resolve(".atlas/dev")
        ? "the CLI finds this dev instance by itself, from any directory of the project"
        : `first \`export ATLAS_DEV_DIR=${dataDir}\`, or pass --dev-dir ${dataDir}, for the CLI ` +
          "to find this instance"
    }):
  deno task atlas publish ${DEMO_CONFIG} examples/${DEMO_CONFIG}.json -m "first version"
  deno task atlas activate ${DEMO_CONFIG} 1
  deno task atlas status ${DEMO_CONFIG}
then a staged rollout:
  deno task atlas publish ${DEMO_CONFIG} examples/${DEMO_CONFIG}.v2.json -m "second"
  deno task atlas rollout start ${DEMO_CONFIG} 2 --strategy canary --canary-percent 30 --bake 3
  deno task atlas rollout watch <id printed above>${
      nginx
        ? `
a real program's config (nginx -t checks each candidate before it is installed):
  deno task atlas publish ${WEB_CONFIG} examples/${WEB_CONFIG}.conf -m "first"
  deno task atlas activate ${WEB_CONFIG} 1 && curl http://127.0.0.1:${nginx.port}/
  deno task atlas publish ${WEB_CONFIG} examples/${WEB_CONFIG}.bad.conf -m "broken"
  deno task atlas rollout start ${WEB_CONFIG} 2 --strategy canary --preflight --bake 0`
        : ""
    }

Ctrl-C stops everything.`);

    await untilStopSignal();
    console.log("\ndev: stopping agents, coordinators, control plane and nats-server…");
  } finally {
    await cleanup();
  }
  console.log("dev: stopped");
  return 0;
}

/** Registers the demo config (with its JSON Schema) if it is not there yet. */
async function ensureDemoConfig(controlUrl: string, token: string): Promise<void> {
  const schema = JSON.parse(
    await Deno.readTextFile(new URL(`../examples/${DEMO_CONFIG}.schema.json`, import.meta.url)),
  );
  await ensureConfig(controlUrl, token, DEMO_CONFIG, {
    description: "Demo config of dev mode",
    contentType: "application/json",
    schema,
  });
}

/** Registers config `name` with `body` if it is not there yet. */
async function ensureConfig(
  controlUrl: string,
  token: string,
  name: string,
  body: Record<string, unknown>,
): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const existing = await fetch(`${controlUrl}/v1/configs/${name}`, { headers });
  await existing.body?.cancel();
  if (existing.ok) return;
  const res = await fetch(`${controlUrl}/v1/configs/${name}`, {
    method: "PUT",
    headers,
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`Cannot create config ${name}: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

if (import.meta.main) await runMain(main, "dev");

/** Enrols a demo agent and writes its `.creds` file in `dir`; returns the file's path. */
async function devCredentials(
  nats: AtlasNats,
  region: string,
  id: string,
  dir: string,
): Promise<string> {
  const { creds } = await enrolAgent(nats, region, id);
  const path = `${dir}/agent.creds`;
  await Deno.writeTextFile(path, creds, { mode: 0o600 });
  return path;
}
