/**
 * Test helpers: real nats-server per test, logs printed only when the test fails, and
 * `waitFor` on explicit conditions instead of sleeps.
 *
 * @module
 */
import {
  type NatsCluster,
  type NatsServer,
  serverTls,
  startNatsCluster,
  startNatsServer,
} from "./server.ts";
import { makePki, type Pki } from "./pki.ts";
import { type RoleSpec, TestAuth } from "./auth.ts";
import {
  type AtlasNats,
  checkBlobCopy,
  type ConnectOptions,
  provision,
  provisionRegion,
  readKv,
  readMirroredBlob,
  rebuildBlobCopy,
} from "@atlas/store";
import { AckRecord, Buckets, LivenessRecord, Streams, Subjects } from "@atlas/core";

/** A TCP proxy that can refuse and cut links: also a way to cut one client off its server. */

const EXPIRED = Symbol("expired");

/** Options of {@linkcode waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds. @default 15_000 */
  timeoutMs?: number;
  /** Poll interval. @default 20 */
  intervalMs?: number;
}

/**
 * Polls `condition` until it returns a truthy value (returned) or the deadline passes
 * (throws with `what` and the last error, if any).
 *
 * @example
 * ```ts
 * await waitFor("agent file updated", async () => (await Deno.readTextFile(p)) === "v2");
 * ```
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, false | 0 | "" | null | undefined>> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let lastError: unknown;
  while (true) {
    // A condition that never settles (a hung request) must not outlive the deadline.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<typeof EXPIRED>((r) => {
      timer = setTimeout(() => r(EXPIRED), Math.max(0, deadline - Date.now()));
    });
    try {
      const v = await Promise.race([Promise.resolve().then(condition), expired]);
      if (v !== EXPIRED && v) return v as Exclude<T, false | 0 | "" | null | undefined>;
    } catch (e) {
      lastError = e;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 20));
  }
}

/**
 * Waits until `region`'s blob copy serves the blob of `digest`, and returns its bytes.
 * nats-server 2.9.10 can start a fresh mirror past the origin's first messages; a region's
 * coordinator rebuilds such a copy, and so does this helper, so tests of what reads the
 * copy do not inherit that server race.
 */
export function waitForBlobCopy(
  nats: AtlasNats,
  region: string,
  digest: string,
  options: WaitForOptions = {},
): Promise<Uint8Array> {
  return waitFor(`blob ${digest.slice(0, 12)} in the ${region} copy`, async () => {
    const bytes = await readMirroredBlob(nats, region, digest).catch(() => null);
    if (bytes) return bytes;
    if (!(await checkBlobCopy(nats, region)).complete) await rebuildBlobCopy(nats, region);
    return null;
  }, options);
}

/**
 * Waits until `region`'s blob copy is found complete ({@linkcode checkBlobCopy}), rebuilding
 * it when it is not, as the region's coordinator would: for tests that need a healthy copy
 * to start from, not to inherit the 2.9.10 race above.
 */
export function waitForCompleteBlobCopy(
  nats: AtlasNats,
  region: string,
  options: WaitForOptions = {},
): Promise<true> {
  return waitFor(`the ${region} blob copy found complete`, async () => {
    if ((await checkBlobCopy(nats, region)).complete) return true;
    await rebuildBlobCopy(nats, region);
    return false;
  }, options);
}

/** The liveness summary the leader of `region` stored (core/liveness.ts), if any. */
export async function livenessSummary(
  nats: AtlasNats,
  region: string,
): Promise<LivenessRecord | undefined> {
  return (await readKv(await nats.kv(Buckets.liveness), region, LivenessRecord))?.value;
}

/** The acks of `agent` for `config` in `region`, in the order the acks stream holds them. */
export async function acksOf(
  nats: AtlasNats,
  region: string,
  config: string,
  agent: string,
): Promise<AckRecord[]> {
  const subject = Subjects.ack(region, config, agent);
  const out: AckRecord[] = [];
  // Only this agent's messages: each direct get finds the next one on its subject.
  for (let seq = 1;;) {
    const m = await nats.jsm.direct.getMessage(Streams.acks, { seq, next_by_subj: subject });
    if (!m) return out;
    out.push(AckRecord.parse(m.json()));
    seq = m.seq + 1;
  }
}

/** Something whose log is worth printing when a test fails. */
export interface HasLog {
  name: string;
  logTail(lines?: number): Promise<string>;
}

/**
 * Runs `fn`; if it throws, prints the log tail of every `sources` entry, then rethrows.
 */
export async function printLogsOnFailure<T>(
  sources: () => HasLog[],
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    for (const s of sources()) {
      console.error(`\n===== log of ${s.name} =====\n${await s.logTail(80)}`);
    }
    throw e;
  }
}

/** What {@linkcode natsTest} hands to a test body. */
export interface NatsTestContext {
  /** The servers (one, or the cluster's nodes). */
  servers: NatsServer[];
  /** The cluster, when `nodes > 1`. */
  cluster?: NatsCluster;
  /** Client URLs of every node. */
  urls: string[];
  /** A provisioned connection as the control plane (closed after the test). */
  nats: AtlasNats;
  /** The operator and accounts the servers trust: `auth.creds(role)` issues `.creds`. */
  auth: TestAuth;
  /** A new connection to the servers as `role`, closed after the test (if still open). */
  connect(role: RoleSpec, options?: ConnectOptions): Promise<AtlasNats>;
  /** The throw-away PKI, when the test runs with `tls`; `nats` uses its client certificate. */
  pki?: Pki;
  /** What a client needs to connect (empty without TLS). */
  clientTls: { caFile?: string; certFile?: string; keyFile?: string };
  /** Register another log source (an agent process, …) to print on failure. */
  addLog(source: HasLog): void;
  t: Deno.TestContext;
}

/** Options of {@linkcode natsTest}. */
export interface NatsTestOptions {
  /** 1 for a single server, 3 for a cluster. @default 1 */
  nodes?: number;
  /** Regions to provision. @default ["us-east", "eu-west"] */
  regions?: string[];
  /** Servers require TLS (with a throw-away CA); `mutual` also requires client certificates. */
  tls?: { mutual?: boolean };
  /** Skip the test (with its reason printed). */
  ignore?: boolean;
}

/**
 * Declares a test that gets its own provisioned nats-server (or cluster) on ephemeral
 * ports, with server logs printed only if it fails.
 *
 * @example
 * ```ts
 * natsTest("pointer survives a restart", async ({ nats, servers }) => { ... });
 * ```
 */
export function natsTest(
  name: string,
  fn: (ctx: NatsTestContext) => Promise<void>,
  options: NatsTestOptions = {},
): void {
  Deno.test({
    name,
    ignore: options.ignore ?? false,
    fn: async (t) => {
      const made: string[] = [];
      _tempDirs = made;
      const nodes = options.nodes ?? 1;
      const auth = await TestAuth.create();
      const pki = options.tls ? await makePki(await tempDir({ prefix: "atlas-pki-" })) : undefined;
      const tls = pki ? serverTls(pki, { verifyClients: options.tls?.mutual ?? false }) : undefined;
      const cluster = nodes > 1
        ? await startNatsCluster({ nodes, auth, ...(tls ? { tls } : {}) })
        : undefined;
      const servers = cluster
        ? cluster.servers
        : [await startNatsServer({ auth, ...(tls ? { tls } : {}) })];
      const clientTls = pki
        ? {
          caFile: pki.caFile,
          ...(options.tls?.mutual ? { certFile: pki.clientCert, keyFile: pki.clientKey } : {}),
        }
        : {};
      const withTls = pki ? { tls: clientTls } : {};
      const logs: HasLog[] = [...servers];
      try {
        await printLogsOnFailure(() => logs, async () => {
          const urls = servers.map((s) => s.url);
          await using nats = await auth.connect(urls, "control", {
            name: `test ${name}`,
            ...withTls,
          });
          const opened: AtlasNats[] = [];
          await using _closeOpened = {
            [Symbol.asyncDispose]: () => Promise.all(opened.map((c) => c.close())).then(() => {}),
          };
          await provision(nats, { replicas: nodes > 1 ? 3 : 1 });
          for (const r of options.regions ?? ["us-east", "eu-west"]) {
            await provisionRegion(nats, r, { replicas: nodes > 1 ? 3 : 1 });
          }
          await fn({
            servers,
            ...(cluster ? { cluster } : {}),
            urls,
            nats,
            auth,
            connect: async (role, o) => {
              const c = await auth.connect(urls, role, { name: `test ${name}`, ...withTls, ...o });
              opened.push(c);
              return c;
            },
            ...(pki ? { pki } : {}),
            clientTls,
            addLog: (s) => logs.push(s),
            t,
          });
        });
      } finally {
        if (cluster) await cluster[Symbol.asyncDispose]();
        else await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
        _tempDirs = undefined;
        for (const dir of made) await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  });
}

/** Directories made by {@linkcode tempDir} during the running {@linkcode natsTest}. */
let _tempDirs: string[] | undefined;

/**
 * A new temp directory, removed when the {@linkcode natsTest} running now ends (tests of a
 * file run one at a time; files run in processes of their own). Outside one, the caller
 * removes it.
 *
 * @example
 * ```ts
 * const dir = await tempDir({ prefix: "atlas-agent-test-" });
 * ```
 */
export async function tempDir(options?: Deno.MakeTempOptions): Promise<string> {
  const dir = await Deno.makeTempDir(options);
  _tempDirs?.push(dir);
  return dir;
}
