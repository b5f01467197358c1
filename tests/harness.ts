/**
 * What the cross-package tests share: a control plane with a fresh signing key and an
 * admin token, HTTP calls against it, and real agents that trust its key.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type AgentMetrics,
  type AtlasNats,
  type ClientTls,
  type CoordinatorMetrics,
  leaseHolder,
  loadSigner,
  recordEnrolment,
} from "@atlas/store";
import { type AckIdentity, describeCreds, generateSigningKey, tokenFileEntry } from "@atlas/core";
import { RegionCoordinator } from "@atlas/coordinator";
import {
  authOf,
  connectAs,
  credsFor,
  enrolAgent,
  type HasLog,
  tempDir,
  waitFor,
} from "@atlas/testkit";
import { type ControlServer, startControl } from "@atlas/control";
import { Agent, AgentConfigFile, type ManagedConfig } from "@atlas/agent";

/** The admin token of {@linkcode startTestControl}. */
export const TOKEN = "test-admin-token";

/** A response read whole. */
export interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

/** A control plane under test, with its files, HTTP helpers and captured log. */
export interface TestControl extends AsyncDisposable, HasLog {
  control: ControlServer;
  url: string;
  /** A temp dir holding `signing.key` and `keys.json` (the trusted keys agents read). */
  dir: string;
  signingKeyFile: string;
  keysFile: string;
  /** One request with the admin token; never throws on a status. */
  call(method: string, path: string, body?: unknown): Promise<Reply>;
  /** One request that must answer `status` (default 200); returns its JSON body. */
  expect<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    status?: number,
  ): Promise<T>;
}

/**
 * Starts a control plane on a random port over `nats`, with the control-plane credentials
 * of the servers there (testkit's `credsFor`).
 */
export async function startTestControl(
  nats: string[],
  options: {
    regions?: string[];
    replicas?: number;
    /** Give it an auth directory, so it enrols and revokes agents. */
    enrolment?: boolean;
    /** TLS towards NATS (the CA, and a client certificate for mutual TLS). */
    natsTls?: ClientTls;
    /**
     * Another control plane's signing key file, for a second one over the same NATS (the
     * key set made by the first names its key). @default a new key
     */
    signingKeyFile?: string;
  } = {},
): Promise<TestControl> {
  const credentials = await credsFor(nats, "control");
  const dir = await tempDir({ prefix: "atlas-test-" });
  const signingKeyFile = options.signingKeyFile ?? `${dir}/signing.key`;
  if (!options.signingKeyFile) {
    await Deno.writeTextFile(signingKeyFile, JSON.stringify(generateSigningKey()));
  }
  // Kept for a failing test to print (ctx.addLog(t)): a provoked 500 must not print a stack.
  const lines: string[] = [];
  let authDir: string | undefined;
  if (options.enrolment) {
    const auth = authOf(nats);
    if (!auth) throw new TypeError("Enrolment needs servers started with auth");
    authDir = `${dir}/auth`;
    await Deno.mkdir(authDir);
    await auth.writeAuthDir(authDir);
  }
  const control = await startControl({
    log: (line) => lines.push(line),
    nats,
    ...(credentials ? { credentials } : {}),
    ...(authDir ? { authDir } : {}),
    port: 0,
    signingKey: signingKeyFile,
    tokens: [tokenFileEntry("tester", "admin", TOKEN)],
    ...(options.regions ? { regions: options.regions } : {}),
    ...(options.replicas ? { replicas: options.replicas } : {}),
    ...(options.natsTls ? { natsTls: options.natsTls } : {}),
  });
  const call = async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const res = await fetch(`${control.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : {} };
  };
  const keysFile = `${dir}/keys.json`;
  await Deno.writeTextFile(keysFile, JSON.stringify((await call("GET", "/v1/keys")).json));
  return {
    control,
    url: control.url,
    dir,
    signingKeyFile,
    keysFile,
    call,
    name: "control plane",
    logTail: (n = 60) => Promise.resolve(lines.slice(-n).join("\n")),
    async expect<T>(method: string, path: string, body?: unknown, status = 200): Promise<T> {
      const reply = await call(method, path, body);
      assert.equal(reply.status, status, `${method} ${path}: ${JSON.stringify(reply.json)}`);
      return reply.json as T;
    },
    [Symbol.asyncDispose]: () => control[Symbol.asyncDispose](),
  };
}

/** An agent under test and the file it manages. */
export interface TestAgent {
  id: string;
  agent: Agent;
  file: string;
}

/** Options of {@linkcode startTestAgents}. */
export interface TestAgentSpec {
  id: string;
  region: string;
  nats: string[];
  /** Config the agent manages. @default "web" */
  config?: string;
  /**
   * Every config the agent manages and how (path defaults to `<dir>/<id>/<name>.json`);
   * replaces `config`. `{}` makes a host that manages none.
   */
  configs?: Record<string, Partial<ManagedConfig>>;
  heartbeatSeconds?: number;
  /** Seconds between alive pings. @default the agent's (60) */
  aliveSeconds?: number;
  reconcileSeconds?: number;
  /** The agent's `.creds` text. @default issued for it by the servers' auth */
  credentials?: string;
  /** agent.json's `tls` (the CA, and a client certificate for mutual TLS). */
  tls?: ClientTls;
  /** Where the agent counts what it does (`agentMetrics()`). */
  metrics?: AgentMetrics;
}

/**
 * Starts real agents trusting `t`'s key, connected and reconciled; their logs go to
 * `addLog` for printing if the test fails. Close them with `Promise.all(a.agent.close())`.
 */
export async function startTestAgents(
  t: TestControl,
  specs: TestAgentSpec[],
  addLog: (log: HasLog) => void,
): Promise<TestAgent[]> {
  return await Promise.all(specs.map(async (spec) => {
    const name = spec.config ?? "web";
    // Each agent its own enrolment, as a real host has: only its acks and heartbeat.
    const creds = spec.credentials ?? await credsFor(spec.nats, {
      kind: "agent",
      region: spec.region,
      agent: spec.id,
    });
    const credentials = `${t.dir}/${spec.id}.creds`;
    if (creds) await Deno.writeTextFile(credentials, creds, { mode: 0o600 });
    const config = AgentConfigFile.parse({
      id: spec.id,
      region: spec.region,
      nats: spec.nats,
      stateDir: `${t.dir}/${spec.id}/state`,
      trustedKeys: t.keysFile,
      ...(creds ? { credentials } : {}),
      ...(spec.heartbeatSeconds ? { heartbeatSeconds: spec.heartbeatSeconds } : {}),
      ...(spec.aliveSeconds ? { aliveSeconds: spec.aliveSeconds } : {}),
      ...(spec.reconcileSeconds ? { reconcileSeconds: spec.reconcileSeconds } : {}),
      ...(spec.tls ? { tls: spec.tls } : {}),
      configs: Object.fromEntries(
        Object.entries(spec.configs ?? { [name]: {} }).map(([config, managed]) => [config, {
          path: `${t.dir}/${spec.id}/${config}.json`,
          ...managed,
        }]),
      ),
    });
    const lines: string[] = [];
    // Enrolled, as `atlas agents enroll` does: only its signed acks count. With auth, its
    // NATS credentials are its identity; without, a throw-away one.
    let identity: AckIdentity | undefined;
    if (creds) {
      const { publicKey } = describeCreds(creds);
      await recordEnrolment(t.control.nats, { region: spec.region, agent: spec.id, publicKey });
    } else {
      identity = (await enrolAgent(t.control.nats, spec.region, spec.id)).identity;
    }
    const agent = await Agent.start(config, {
      ...(identity ? { identity } : {}),
      log: (l) => lines.push(l),
      ...(spec.metrics ? { metrics: spec.metrics } : {}),
    });
    addLog({
      name: `agent ${spec.id}`,
      logTail: (n = 60) => Promise.resolve(lines.slice(-n).join("\n")),
    });
    await agent.whenConnected();
    const first = Object.values(config.configs)[0];
    return { id: spec.id, agent, file: first?.path ?? "" };
  }));
}

/**
 * Coordinators for `regions`, each on its own connection to `urls` with its region's
 * coordinator credentials, stepping every 200 ms until the returned function is called;
 * their logs go to `addLog` (for printing if the test fails) when given.
 */
export async function runCoordinators(
  urls: string[],
  t: TestControl,
  regions: string[],
  addLog?: (log: HasLog) => void,
  options: { metrics?: CoordinatorMetrics; tls?: ClientTls } = {},
): Promise<() => Promise<void>> {
  const signer = await loadSigner(t.signingKeyFile);
  const conns: AtlasNats[] = [];
  const coordinators = await Promise.all(regions.map(async (region) => {
    const lines: string[] = [];
    addLog?.({
      name: `coordinator ${region}`,
      logTail: (n = 60) => Promise.resolve(lines.slice(-n).join("\n")),
    });
    const nats = await connectAs(urls, { kind: "coordinator", region }, {
      name: `coordinator ${region}`,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    conns.push(nats);
    return RegionCoordinator.create(nats, signer, {
      region,
      log: (l) => lines.push(l),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
  }));
  for (const c of coordinators) c.run(200);
  // Rollouts are refused in a region without a live coordinator: be sure each one leads.
  await waitFor(
    "a coordinator leads each region",
    async () =>
      (await Promise.all(regions.map((r, i) => leaseHolder(conns[i]!, r)))).every((l) => l.live),
  );
  return async () => {
    await Promise.all(coordinators.map((c) => c.close()));
    await Promise.all(conns.map((c) => c.close()));
  };
}
