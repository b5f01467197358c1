/**
 * Versions: the publish pipeline, reading versions and their content back, and diffs.
 *
 * Publishing checks everything before it stores anything: size, parse by content type,
 * JSON Schema; only then is the blob stored (deduplicated by digest) and a version number
 * allocated by create-only KV writes, so two concurrent publishers get distinct,
 * gapless numbers and neither is lost.
 *
 * The checks run against the in-memory copy of the config (bucket_cache.ts) while the
 * config is read from its bucket, and the blob put and the audit intent start at once with
 * that read. No version is created before the read confirms the copy (the same record but
 * for `latestVersion`, which only rises): otherwise the attempt is dropped (its intent
 * forgotten) and the publish starts over from the stored config. So a version is checked
 * against the config as stored after the request began, as before; the one thing a
 * schema changed at that moment can leave is a blob nothing refers to (content-addressed,
 * never served without a version).
 *
 * @module
 */
import { createTwoFilesPatch } from "diff";
import {
  audited,
  type AuditInput,
  type IntentResolver,
  isCasConflict,
  listKeys,
  readKv,
  retryTransient,
  storeBlob,
  type Stored,
} from "@atlas/store";
import {
  blobName,
  Buckets,
  type ConfigRecord,
  sha256Hex,
  versionKey,
  VersionRecord,
} from "@atlas/core";
import { encodeContent, parseContent } from "./content.ts";
import { type ControlContext, remember } from "./context.ts";
import {
  configNotFound,
  raiseInBackground,
  raiseLatestVersion,
  readCachedConfig,
  readConfig,
  requireConfig,
} from "./configs.ts";
import { ConflictError, IntegrityError, NotFoundError, PayloadTooLargeError } from "./errors.ts";

/** What a publisher sends. */
export interface PublishInput {
  /** A string (bytes preserved) or, for JSON configs, any JSON value. */
  content: unknown;
  message?: string | undefined;
  /**
   * Number literals of the request a JavaScript number does not hold exactly (the HTTP
   * layer's scan): content given as a JSON value with any of them is refused (422), since
   * it is stored re-serialised. A string is stored byte for byte, numbers and all.
   */
  inexactNumbers?: readonly string[] | undefined;
}

/** Allocation attempts before a publish gives up (each lost race costs one). */
const MAX_ALLOCATION_ATTEMPTS = 1_000;

/**
 * Publishes a new version of `name`: size limit, parse, JSON Schema, digest, blob put
 * (deduplicated), version number by create-only write, `latestVersion` raised by
 * compare-and-set, audit. Returns the signed version record.
 *
 * @example
 * ```ts
 * const v = await publishVersion(ctx, "web", { content: '{"a":1}' }, "alice");
 * ```
 */
export async function publishVersion(
  ctx: ControlContext,
  name: string,
  input: PublishInput,
  author: string,
): Promise<VersionRecord> {
  // The read every version is based on, sent now; the in-memory copy lets the checks, the
  // blob put and the intent go while it travels (see the module doc).
  const fresh = readConfig(ctx, name);
  fresh.catch(() => {}); // awaited in every path below
  const cached = await readCachedConfig(ctx, name).catch(() => null);
  if (cached) {
    try {
      return await _publish(ctx, name, input, author, cached, fresh);
    } catch (e) {
      if (!(e instanceof _NothingStored)) throw e;
      if (e.cause !== undefined) throw e.cause;
    }
  }
  const stored = await fresh;
  if (!stored) throw configNotFound(name);
  return await _publish(ctx, name, input, author, stored, Promise.resolve(stored));
}

/**
 * A publish stopped before it created anything: the in-memory copy it started from is not
 * the stored config (start over from that), or reading the config failed (`cause`). Not a
 * transient error, so its intent is forgotten rather than left for recovery.
 */
class _NothingStored extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "_NothingStored";
  }
}

/** Whether `stored` is `basis` but for a higher or equal `latestVersion`. */
function _confirms(basis: ConfigRecord, stored: ConfigRecord): boolean {
  return stored.latestVersion >= basis.latestVersion &&
    JSON.stringify({ ...stored, latestVersion: 0 }) ===
      JSON.stringify({ ...basis, latestVersion: 0 });
}

/**
 * Checks and stores a version of `basis` once `confirmed` (the config read from its
 * bucket) confirms it; throws {@linkcode _NothingStored} (having created no version) otherwise.
 */
async function _publish(
  ctx: ControlContext,
  name: string,
  input: PublishInput,
  author: string,
  basis: Stored<ConfigRecord>,
  confirmed: Promise<Stored<ConfigRecord> | null>,
): Promise<VersionRecord> {
  const config = basis.value;
  const bytes = encodeContent(input.content, config.contentType, {
    inexactNumbers: input.inexactNumbers ?? [],
  });
  if (bytes.byteLength > ctx.maxContentBytes) {
    throw new PayloadTooLargeError(
      `Content of ${name} is ${bytes.byteLength} bytes, over the limit of ` +
        `${ctx.maxContentBytes} bytes: split the config or raise --max-content-bytes`,
    );
  }
  const parsed = parseContent(new TextDecoder().decode(bytes), config.contentType);
  if (config.schema) ctx.validators.validate(config.schema, parsed, `Content of ${name}`);

  const digest = sha256Hex(bytes);
  // Deduplicated by digest: a blob stored already is left as it is. Stored while the audit
  // intent is written (neither needs the other); the version record, which agents follow
  // to the blob, is created only once both are.
  const blobStored = retryTransient(() => storeBlob(ctx.nats, digest, bytes), {
    what: `Storing blob ${blobName(digest)}`,
  });
  blobStored.catch(() => {}); // awaited in the change; a failure is thrown there
  const createdAt = new Date().toISOString();
  const fields: VersionFields = {
    digest,
    size: bytes.byteLength,
    contentType: config.contentType,
    author,
    message: input.message ?? "",
    createdAt,
  };
  // Signed now for the number the copy expects, while the blob's round trips travel; signed
  // again should that number turn out to be taken.
  const presigned = _signVersion(ctx, name, config.latestVersion + 1, fields);
  // The intent names the version before it has a number: its digest, author and creation
  // time, and the latestVersion its number comes after (see resolvePublishIntent). The
  // basis's latestVersion is at most the stored one (it only rises), so the version is
  // after it.
  const planned = {
    actor: author,
    action: "version.publish",
    config: name,
    details: { digest, size: bytes.byteLength, createdAt, after: config.latestVersion },
  };
  const version = await audited(ctx.nats, planned, async () => {
    const stored = await confirmed.catch((e) => {
      throw new _NothingStored(`Reading config ${name} failed`, { cause: e });
    });
    if (!stored) throw configNotFound(name);
    if (!_confirms(config, stored.value)) {
      throw new _NothingStored(`The in-memory copy of config ${name} is stale`);
    }
    await blobStored;
    ctx.recentBlobs.set(digest, bytes);
    const version = await _allocate(ctx, name, stored.value.latestVersion, fields, presigned);
    // The version exists from here on: the publish happened. Its audit event is appended
    // and latestVersion raised without waiting (this process's reads of the config wait for
    // the raise; recovery and start-up raise it too, were this to fail).
    raiseInBackground(ctx, name, version.version, stored);
    return version;
  }, { record: (version) => _publishEvent(author, version), eventInBackground: true });
  return version;
}

function _publishEvent(actor: string, version: VersionRecord): AuditInput {
  return {
    actor,
    action: "version.publish",
    config: version.config,
    version: version.version,
    details: { digest: version.digest, size: version.size },
  };
}

/**
 * Resolves a `version.publish` intent left by a crash: the version it created is the one
 * after `details.after` (numbers are gapless) with its digest, author and creation time.
 * When found, `latestVersion` is raised to it too (the crash may have come before that).
 *
 * @example
 * ```ts
 * await recoverIntents(ctx.nats, { "version.publish": resolvePublishIntent(ctx) });
 * ```
 */
export function resolvePublishIntent(ctx: ControlContext): IntentResolver {
  return async (intent) => {
    const name = intent.event.config;
    const { digest, createdAt, after } = intent.event.details;
    if (name === undefined || typeof after !== "number") {
      return { happened: false, reason: "the intent does not name a config and a number" };
    }
    const kv = await ctx.nats.kv(Buckets.versions);
    for (let n = after + 1;; n++) {
      const found = await retryTransient(() => readKv(kv, versionKey(name, n), VersionRecord), {
        what: `Reading version ${name}@v${n}`,
      });
      if (!found) return { happened: false, reason: `no version after v${after} is this one` };
      const v = found.value;
      if (v.digest === digest && v.createdAt === createdAt && v.author === intent.event.actor) {
        await raiseLatestVersion(ctx, name, n);
        return { happened: true, event: _publishEvent(intent.event.actor, v) };
      }
    }
  };
}

type VersionFields = Omit<VersionRecord, "config" | "version" | "keyId" | "signature">;

function _signVersion(
  ctx: ControlContext,
  name: string,
  n: number,
  fields: VersionFields,
): VersionRecord {
  return VersionRecord.parse(ctx.signer.sign({ config: name, version: n, ...fields }));
}

async function _allocate(
  ctx: ControlContext,
  name: string,
  latestVersion: number,
  fields: VersionFields,
  presigned?: VersionRecord,
): Promise<VersionRecord> {
  const versions = await ctx.nats.kv(Buckets.versions);
  let n = latestVersion + 1;
  for (let attempt = 1; attempt <= MAX_ALLOCATION_ATTEMPTS; attempt++) {
    const record = presigned?.version === n ? presigned : _signVersion(ctx, name, n, fields);
    const key = versionKey(name, n);
    let tries = 0;
    try {
      await retryTransient(() => {
        tries++;
        return ctx.nats.kvWrite(Buckets.versions, key, JSON.stringify(record), 0);
      }, { what: `Creating version ${key}` });
      remember(ctx.versionRecords, key, record);
      return record;
    } catch (e) {
      if (!isCasConflict(e)) throw e;
    }
    // A create whose reply was lost and then retried finds its own record: keep it.
    if (tries > 1) {
      const existing = await readKv(versions, key, VersionRecord);
      if (existing?.value.signature === record.signature) return record;
    }
    // Number n is taken. Every number up to a config's latestVersion is taken too (it is
    // raised after the create), so the in-memory copy may skip ahead; it is only a guess,
    // the create-only write decides, and no number is skipped.
    const latest = (await readCachedConfig(ctx, name))?.value.latestVersion ?? 0;
    n = Math.max(n + 1, latest + 1);
  }
  throw new ConflictError(
    `Could not allocate a version number for ${name} in ${MAX_ALLOCATION_ATTEMPTS} attempts ` +
      `(too many concurrent publishers): try again`,
  );
}

/** Every version of `name`, ascending. */
export async function listVersions(ctx: ControlContext, name: string): Promise<VersionRecord[]> {
  await requireConfig(ctx, name);
  const kv = await ctx.nats.kv(Buckets.versions);
  // `name.*` matches `name.1` but not `name.sub.1` (a dotted config of its own).
  const keys = await retryTransient(() => listKeys(ctx.nats, Buckets.versions, `${name}.*`), {
    what: `Listing versions of ${name}`,
  });
  const numbers = keys.map((k) => Number(k.slice(name.length + 1)))
    .filter((n) => Number.isSafeInteger(n) && n > 0)
    .sort((a, b) => a - b);
  const records = await Promise.all(
    numbers.map((n) => readKv(kv, versionKey(name, n), VersionRecord)),
  );
  return records.filter((r) => r !== null).map((r) => r.value);
}

/**
 * Reads version `version` of `name`; throws {@linkcode NotFoundError} when the config or
 * the version does not exist. Version records never change, so once read (or published)
 * they are served from memory.
 */
export async function getVersion(
  ctx: ControlContext,
  name: string,
  version: number,
): Promise<VersionRecord> {
  const key = versionKey(name, version);
  const known = ctx.versionRecords.get(key);
  if (known) return known;
  const kv = await ctx.nats.kv(Buckets.versions);
  const found = await retryTransient(
    () => readKv(kv, key, VersionRecord),
    { what: `Reading version ${name}@v${version}` },
  );
  if (!found) {
    const { value: config } = await requireConfig(ctx, name);
    throw new NotFoundError(
      `Version ${version} of ${name} does not exist (latest is ${config.latestVersion}): ` +
        `list them with GET /v1/configs/${name}/versions`,
    );
  }
  remember(ctx.versionRecords, key, found.value);
  return found.value;
}

/**
 * The content of a version, re-hashed on read: throws {@linkcode IntegrityError} when the
 * blob is missing or its bytes do not hash to the recorded digest.
 */
export async function readContent(
  ctx: ControlContext,
  version: VersionRecord,
): Promise<Uint8Array> {
  const blobs = await ctx.nats.blobs();
  const name = blobName(version.digest);
  const what = `Content of ${version.config}@v${version.version} (blob ${name})`;
  let bytes: Uint8Array | null;
  try {
    bytes = await retryTransient(() => blobs.getBlob(name), { what: `Reading blob ${name}` });
  } catch (e) {
    if (!/corrupt|digests do not match/i.test((e as Error).message)) throw e;
    throw new IntegrityError(`${what} is corrupt in the object store: republish it`, {
      cause: e,
    });
  }
  if (!bytes) throw new IntegrityError(`${what} is missing from the object store: republish it`);
  const actual = sha256Hex(bytes);
  if (actual !== version.digest) {
    throw new IntegrityError(
      `${what} hashes to ${actual}, not to its recorded digest ${version.digest}: the stored ` +
        `bytes were altered; republish the content and activate the new version`,
    );
  }
  return bytes;
}

/**
 * A unified diff between two versions of `name`, labelled `<name>@v<from>` and
 * `<name>@v<to>`.
 *
 * @example
 * ```ts
 * const patch = await diffVersions(ctx, "web", 1, 2);
 * ```
 */
export async function diffVersions(
  ctx: ControlContext,
  name: string,
  from: number,
  to: number,
): Promise<string> {
  const [a, b] = await Promise.all([from, to].map(async (n) => {
    const bytes = await readContent(ctx, await getVersion(ctx, name, n));
    return new TextDecoder().decode(bytes);
  }));
  return createTwoFilesPatch(`${name}@v${from}`, `${name}@v${to}`, a!, b!);
}
