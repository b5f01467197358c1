/**
 * Test helpers of the control plane: {@linkcode controlTest} gives a test its own
 * nats-server (through `natsTest`) and an app over it, with an admin and a reader token.
 *
 * @module
 */
import {
  type AgentConfigState,
  agentKey,
  type AgentRecord,
  Buckets,
  generateSigningKey,
  Signer,
  tokenFileEntry,
} from "@atlas/core";
import type { AtlasNats } from "@atlas/store";
import { natsTest, type NatsTestContext } from "@atlas/testkit";
import { type ControlApp, createApp } from "./app.ts";
import type { ControlLimits } from "./context.ts";

/** Token of the `alice` admin in tests. */
export const ADMIN_TOKEN = "admin-secret-for-tests";
/** Token of the `rob` reader in tests. */
export const READER_TOKEN = "reader-secret-for-tests";

/** A response read whole. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  bytes: Uint8Array;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** Options of {@linkcode Api.call}. */
export interface CallOptions {
  /** JSON-encoded unless a string or bytes. */
  body?: unknown;
  /** Bearer token; null sends none. @default ADMIN_TOKEN */
  token?: string | null;
  headers?: Record<string, string>;
}

/** Calls an app in-process. */
export class Api {
  constructor(readonly app: ControlApp) {}

  /**
   * Sends one request.
   *
   * @example
   * ```ts
   * const res = await api.call("PUT", "/v1/configs/web", { body: {} });
   * ```
   */
  async call(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
    const headers = new Headers(options.headers);
    const token = options.token === undefined ? ADMIN_TOKEN : options.token;
    if (token !== null) headers.set("Authorization", `Bearer ${token}`);
    let body: BodyInit | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" || options.body instanceof Uint8Array
        ? options.body as BodyInit
        : JSON.stringify(options.body);
      if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    }
    const res = await this.app.request(path, { method, headers, ...(body ? { body } : {}) });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, bytes, json };
  }

  /** Sends one request and fails unless the status is `expected`; returns the JSON. */
  async ok<T = Record<string, unknown>>(
    expected: number,
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<T> {
    const res = await this.call(method, path, options);
    if (res.status !== expected) {
      throw new Error(`${method} ${path}: expected ${expected}, got ${res.status}: ${res.text}`);
    }
    return res.json as T;
  }
}

/** What {@linkcode controlTest} hands to a test body. */
export interface ControlTestContext extends NatsTestContext {
  app: ControlApp;
  api: Api;
  signer: Signer;
}

/**
 * Declares a test with its own nats-server (regions us-east and eu-west) and a control
 * app over it (tokens: {@linkcode ADMIN_TOKEN} as `alice`, {@linkcode READER_TOKEN} as
 * `rob`).
 *
 * @example
 * ```ts
 * controlTest("configs start empty", async ({ api }) => {
 *   assert.deepEqual(await api.ok(200, "GET", "/v1/configs"), { configs: [] });
 * });
 * ```
 */
export function controlTest(
  name: string,
  fn: (ctx: ControlTestContext) => Promise<void>,
  limits: ControlLimits = {},
): void {
  natsTest(name, async (ctx) => {
    const signer = new Signer(generateSigningKey());
    // Printed only if the test fails (a test that provokes a 500 must not print its stack).
    const lines: string[] = [];
    ctx.addLog({
      name: "control plane",
      logTail: (n = 60) => Promise.resolve(lines.slice(-n).join("\n")),
    });
    const app = createApp({
      ...limits,
      log: (line) => lines.push(line),
      nats: ctx.nats,
      signer,
      tokens: [
        tokenFileEntry("alice", "admin", ADMIN_TOKEN),
        tokenFileEntry("rob", "reader", READER_TOKEN),
      ],
    });
    await fn({ ...ctx, app, api: new Api(app), signer });
  });
}

/** Puts a JSON config with an optional schema. */
export async function createConfig(
  api: Api,
  name: string,
  body: Record<string, unknown> = {},
): Promise<void> {
  await api.ok(201, "PUT", `/v1/configs/${name}`, { body });
}

/** Publishes content and returns the version number. */
export async function publish(api: Api, name: string, content: unknown): Promise<number> {
  const v = await api.ok<{ version: number }>(201, "POST", `/v1/configs/${name}/versions`, {
    body: { content },
  });
  return v.version;
}

/**
 * Writes an agent's heartbeat record as the agent would, `ageMs` in the past.
 *
 * @example
 * ```ts
 * await writeHeartbeat(nats, "us-east", "a1", {}, 91_000); // a stale agent
 * ```
 */
export async function writeHeartbeat(
  nats: AtlasNats,
  region: string,
  id: string,
  configs: Record<string, AgentConfigState> = {},
  ageMs = 0,
  overrides: Partial<AgentRecord> = {},
): Promise<void> {
  const at = new Date(Date.now() - ageMs).toISOString();
  const record: AgentRecord = {
    id,
    region,
    labels: {},
    hostname: `${id}.local`,
    pid: 1,
    startedAt: at,
    heartbeatAt: at,
    heartbeatSeconds: 15,
    configs,
    ...overrides,
  };
  const kv = await nats.kv(Buckets.agents);
  await kv.put(agentKey(region, id), JSON.stringify(record));
}

/**
 * Writes a fresh coordinator lease for each of `regions`, as a leading coordinator does
 * (live for 15 s by `leaseHolder`), so rollouts may start there.
 *
 * @example
 * ```ts
 * await holdLeases(nats, ["us-east", "eu-west"]);
 * ```
 */
export async function holdLeases(nats: AtlasNats, regions: readonly string[]): Promise<void> {
  const kv = await nats.kv(Buckets.leases);
  for (const region of regions) {
    await kv.put(region, JSON.stringify({ holder: `test-${region}`, term: 1 }));
  }
}
