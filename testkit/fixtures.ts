/**
 * Test fixtures that act as the control plane at the level of the NATS contract:
 * store a blob, create a signed version, move a pointer. Agent tests use them so they
 * do not depend on the HTTP layer; they are also handy for tampering on purpose.
 *
 * @module
 */
import {
  type AtlasNats,
  readPointer,
  recordEnrolment,
  storeBlob,
  writePointer,
} from "@atlas/store";
import { createAccount, createUser, encodeUser, fmtCreds } from "@nats-io/jwt";
import {
  AckIdentity,
  type AgentConfigState,
  type AgentRecord,
  Buckets,
  type ContentType,
  parseCredsText,
  pointerBucket,
  PointerRecord,
  sha256Hex,
  type Signer,
  versionKey,
  VersionRecord,
} from "@atlas/core";
import { authOf } from "./auth.ts";

/**
 * Moves `version.config`'s pointer in `region` to `version` without publishing its notice:
 * a notice lost on the way, which only a reconcile (a beacon, a reconnect) makes up for.
 */
export async function moveWithoutNotice(
  nats: AtlasNats,
  signer: Signer,
  region: string,
  version: VersionRecord,
): Promise<PointerRecord> {
  const cur = await readPointer(nats, region, version.config);
  const pointer = PointerRecord.parse(signer.sign({
    config: version.config,
    region,
    seq: (cur?.pointer.seq ?? 0) + 1,
    active: version,
    history: cur ? [cur.pointer.active.version] : [],
    reason: "test: the notice is lost",
    issuedAt: new Date().toISOString(),
    issuedBy: "test",
  }));
  await nats.kvWrite(pointerBucket(region), version.config, JSON.stringify(pointer), cur?.revision);
  return pointer;
}

/** Stores `content` as version `version` of `config`, signed by `signer`. */
export async function storeVersion(
  nats: AtlasNats,
  signer: Signer,
  config: string,
  version: number,
  content: string | Uint8Array,
  contentType: ContentType = "application/json",
): Promise<VersionRecord> {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const digest = sha256Hex(bytes);
  await storeBlob(nats, digest, bytes);
  const record = VersionRecord.parse(signer.sign({
    config,
    version,
    digest,
    size: bytes.length,
    contentType,
    author: "fixture",
    message: `v${version}`,
    createdAt: new Date().toISOString(),
  }));
  const versions = await nats.kv(Buckets.versions);
  await versions.put(versionKey(config, version), JSON.stringify(record));
  return record;
}

/** Options of {@linkcode activateVersion}. */
export interface ActivateOptions {
  /** Inline the content in the notice. @default true */
  inline?: boolean;
  /** Content bytes to inline (required when inline is true). */
  content?: string | Uint8Array;
  candidate?: PointerRecord["candidate"];
}

/** Moves the pointer of `config` in `region` to `version` (pushing history). */
export function activateVersion(
  nats: AtlasNats,
  signer: Signer,
  region: string,
  version: VersionRecord,
  options: ActivateOptions = {},
): Promise<PointerRecord | null> {
  const content = options.content;
  const inline = options.inline !== false && content !== undefined
    ? {
      [version.digest]: typeof content === "string" ? new TextEncoder().encode(content) : content,
    }
    : {};
  return writePointer(nats, signer, region, version.config, (cur) => ({
    active: version,
    history: cur ? [cur.active.version, ...cur.history].slice(0, 32) : [],
    reason: `activate v${version.version}`,
    ...(options.candidate ? { candidate: options.candidate } : {}),
  }), { issuedBy: "fixture", inline });
}

/**
 * An agent's heartbeat record for tests that judge or scan agents without running one:
 * every config starts with nothing applied, nothing on disk and no ack, unless `configs`
 * says otherwise.
 *
 * @example
 * ```ts
 * agentRecord("a1", "us-east", { web: { applied: null } });
 * ```
 */
export function agentRecord(
  id: string,
  region: string,
  configs: Record<string, Partial<AgentConfigState>>,
  options: { at?: string; heartbeatSeconds?: number } = {},
): AgentRecord {
  const at = options.at ?? new Date().toISOString();
  return {
    id,
    region,
    labels: {},
    hostname: "test",
    pid: 1,
    startedAt: at,
    heartbeatAt: at,
    heartbeatSeconds: options.heartbeatSeconds ?? 15,
    configs: Object.fromEntries(
      Object.entries(configs).map(([name, c]) => [name, {
        applied: null,
        diskDigest: null,
        lastAck: null,
        ...c,
      }]),
    ),
  };
}

/** An agent's test credentials: a standard `.creds` file and the identity in it. */
export interface TestCredentials {
  /** The `.creds` file text (a user JWT signed by a throw-away account, and the seed). */
  creds: string;
  identity: AckIdentity;
}

/**
 * Makes credentials for agent `id` the way enrolment does (nkey user, JWT, `.creds`
 * format), with a throw-away account as issuer: for tests and insecure mode, where no
 * NATS authorization checks the JWT but acks must still be signed.
 *
 * @example
 * ```ts
 * const { creds, identity } = await makeCredentials("a1");
 * await Deno.writeTextFile("agent.creds", creds, { mode: 0o600 });
 * ```
 */
export async function makeCredentials(id: string): Promise<TestCredentials> {
  const user = createUser();
  const jwt = await encodeUser(id, user, createAccount());
  const creds = new TextDecoder().decode(fmtCreds(jwt, user));
  return { creds, identity: new AckIdentity(new TextDecoder().decode(user.getSeed())) };
}

function _credentialsOf(creds: string): TestCredentials {
  return { creds, identity: new AckIdentity(parseCredsText(creds).seed) };
}

/**
 * Enrols agent `region/id` with fresh credentials (as the enrolment route does) and
 * returns them; pass `identity` to `Agent.start`, or write `creds` where agent.json's
 * `credentials` points.
 *
 * @example
 * ```ts
 * const { identity } = await enrolAgent(nats, "us-east", "a1");
 * await using agent = await Agent.start(config, { identity });
 * ```
 */
export async function enrolAgent(
  nats: AtlasNats,
  region: string,
  id: string,
): Promise<TestCredentials> {
  // With auth on, credentials the servers accept (issued by their operator); without, a
  // throw-away account's.
  const server = nats.nc.getServer();
  const auth = authOf([`nats://${server}`, `tls://${server}`]);
  const made = auth
    ? _credentialsOf(await auth.creds({ kind: "agent", region, agent: id }))
    : await makeCredentials(id);
  await recordEnrolment(nats, { region, agent: id, publicKey: made.identity.publicKey });
  return made;
}

/**
 * A small seeded random generator (mulberry32), numbers in [0, 1): the same run every
 * time, so a failing seed replays.
 */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `target` with its member `name` replaced by `replace(original)` (the original bound to
 * `target` when it is a method), every other member as it is: how a test fails or hooks one
 * call of a real connection or KV handle, below the seam, and lets the rest through.
 *
 * @example
 * ```ts
 * const refusing = withMember(kv, "put", () => () => Promise.reject(new Error("busy")));
 * ```
 */
export function withMember<T extends object, K extends keyof T>(
  target: T,
  name: K,
  replace: (original: T[K]) => T[K],
): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      const own = typeof v === "function" ? v.bind(t) : v;
      return prop === name ? replace(own) : own;
    },
  });
}
