/**
 * Config records: create, update, read and list, each write a compare-and-set on the
 * KV revision so concurrent writers never lose an update.
 *
 * @module
 */
import {
  audited,
  type AuditInput,
  CasContentionError,
  casUpdate,
  type IntentResolver,
  listKeys,
  readKv,
  retryTransient,
  type Stored,
} from "@atlas/store";
import { Buckets, ConfigRecord, versionKey } from "@atlas/core";
import type { ConfigPutBody } from "./api.ts";
import { schemaApplies } from "./content.ts";
import { checkConfigName, type ControlContext } from "./context.ts";
import { ConflictError, InvalidRequestError, NotFoundError } from "./errors.ts";

/** Reads a config by name, or null; a bad name is a request error. */
export async function readConfig(
  ctx: ControlContext,
  name: string,
): Promise<Stored<ConfigRecord> | null> {
  checkConfigName(name);
  await _raised(ctx, name);
  const kv = await ctx.nats.kv(Buckets.configs);
  return await retryTransient(() => readKv(kv, name, ConfigRecord), {
    what: `Reading config ${name}`,
  });
}

/**
 * Reads a config by name; throws {@linkcode NotFoundError} saying how to create it.
 *
 * @example
 * ```ts
 * const { value: config } = await requireConfig(ctx, "web");
 * ```
 */
export async function requireConfig(
  ctx: ControlContext,
  name: string,
  options: { cached?: boolean; existence?: boolean } = {},
): Promise<Stored<ConfigRecord>> {
  const found = options.cached
    ? await readCachedConfig(ctx, name, { existence: options.existence ?? false })
    : await readConfig(ctx, name);
  if (!found) throw configNotFound(name);
  return found;
}

/** The refusal of a config that does not exist, saying how to create it. */
export function configNotFound(name: string): NotFoundError {
  return new NotFoundError(
    `Config ${JSON.stringify(name)} does not exist: create it with PUT /v1/configs/${name} ` +
      `(\`deno task atlas configs create ${name}\`)`,
  );
}

/**
 * Reads a config from the in-memory copy (see bucket_cache.ts): for read endpoints and
 * existence checks, never for a value a write is based on. It reflects this process's
 * publishes (waits for their `latestVersion` raises), but for an `existence` check, which
 * needs no number.
 */
export async function readCachedConfig(
  ctx: ControlContext,
  name: string,
  options: { existence?: boolean } = {},
): Promise<Stored<ConfigRecord> | null> {
  checkConfigName(name);
  if (!options.existence) await _raised(ctx, name);
  return await retryTransient(() => ctx.configs.get(name), { what: `Reading config ${name}` });
}

/** Once a publish's raise of `latestVersion` of `name` that nobody waited for is done. */
async function _raised(ctx: ControlContext, name: string): Promise<void> {
  const pending = ctx.raising.get(name);
  if (pending) await pending;
}

/**
 * Raises `latestVersion` of `name` to `version` without the caller waiting: this
 * process's reads of the config wait for it (so a client reads what it published), other
 * processes may read the lower number for a round trip, as they could before the raise was
 * sent. A raise that fails leaves `latestVersion` behind its newest version, which is
 * harmless (numbers are allocated by create-only writes, and the next publish skips the
 * taken one) and repaired at start-up (`repairLatestVersions`).
 */
export function raiseInBackground(
  ctx: ControlContext,
  name: string,
  version: number,
  known?: Stored<ConfigRecord>,
): void {
  const raised = raiseLatestVersion(ctx, name, version, known).catch(() => {});
  // Chained, so that a read waits for every raise still pending, not only the newest.
  const before = ctx.raising.get(name);
  const all: Promise<void> = (before ? Promise.all([before, raised]).then(() => {}) : raised)
    .finally(() => {
      if (ctx.raising.get(name) === all) ctx.raising.delete(name);
    });
  ctx.raising.set(name, all);
  ctx.nats.background(all);
}

/** Every config, sorted by name. */
export async function listConfigs(ctx: ControlContext): Promise<ConfigRecord[]> {
  await Promise.all(ctx.raising.values());
  return await retryTransient(() => ctx.configs.list(), { what: "Listing configs" });
}

function _nextRecord(
  name: string,
  body: ConfigPutBody,
  current: ConfigRecord | undefined,
  ctx: ControlContext,
): ConfigRecord {
  const now = new Date().toISOString();
  const contentType = body.contentType ?? current?.contentType ?? "application/json";
  if (current && current.latestVersion > 0 && contentType !== current.contentType) {
    throw new ConflictError(
      `Config ${name} already has ${current.latestVersion} version(s) of type ` +
        `${current.contentType}, so its content type cannot become ${contentType}: create a ` +
        `new config instead`,
    );
  }
  const schema = body.schema === null ? undefined : body.schema ?? current?.schema;
  if (schema !== undefined) {
    if (!schemaApplies(contentType)) {
      throw new InvalidRequestError(
        `A JSON Schema only applies to JSON and YAML configs, and ${name} is ${contentType}: ` +
          `send "schema": null to remove it, or choose another content type`,
      );
    }
    ctx.validators.compile(schema);
  }
  return ConfigRecord.parse({
    name,
    description: body.description ?? current?.description ?? "",
    contentType,
    ...(schema !== undefined ? { schema } : {}),
    latestVersion: current?.latestVersion ?? 0,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  });
}

/** Options of {@linkcode putConfig}. */
export interface PutConfigOptions {
  /**
   * Called with the stored record (null: none) before each write attempt; throwing stops
   * the write. The write is a compare-and-set on that record's revision, so what `check`
   * saw is what gets replaced (the HTTP layer checks `If-Match` here).
   */
  check?: (current: Stored<ConfigRecord> | null) => void;
}

/**
 * Creates a config or updates the fields given in `body` (omitted fields keep their
 * value; `schema: null` removes the schema). Compare-and-set on the KV revision, so a
 * concurrent publish raising `latestVersion` is never undone.
 *
 * @example
 * ```ts
 * const { created } = await putConfig(ctx, "web", { contentType: "application/yaml" }, "alice");
 * ```
 */
export async function putConfig(
  ctx: ControlContext,
  name: string,
  body: ConfigPutBody,
  actor: string,
  options: PutConfigOptions = {},
): Promise<{ config: ConfigRecord; created: boolean; revision: number }> {
  checkConfigName(name);
  const kv = await ctx.nats.kv(Buckets.configs);
  const planned = { actor, action: "config.put", config: name, details: {} };
  const result = await audited(ctx.nats, planned, async () => {
    try {
      return await casUpdate(kv, name, ConfigRecord, (_value, current) => {
        options.check?.(current);
        return _nextRecord(name, body, current?.value, ctx);
      }, { attempts: 20, what: `config ${name}` });
    } catch (e) {
      if (!(e instanceof CasContentionError)) throw e;
      throw new ConflictError(
        `Config ${name} kept changing while it was being written: try again`,
        { cause: e },
      );
    }
  }, {
    record: (r) => r.written ? _putEvent(actor, r.value, !r.previous) : null,
  });
  if (!result.written) throw new Error("unreachable: putConfig always writes");
  const { value: config, revision, previous } = result;
  ctx.configs.note(name, { value: config, revision });
  return { config, created: !previous, revision };
}

function _putEvent(actor: string, config: ConfigRecord, created: boolean): AuditInput {
  return {
    actor,
    action: "config.put",
    config: config.name,
    details: { created, contentType: config.contentType, schema: !!config.schema },
  };
}

/**
 * Resolves a `config.put` intent left by a crash: the write happened when the config was
 * updated at or after the intent (created: when it was also created then).
 */
export function resolveConfigPutIntent(ctx: ControlContext): IntentResolver {
  return async (intent) => {
    const found = intent.event.config && await readConfig(ctx, intent.event.config);
    if (!found || found.value.updatedAt < intent.at) {
      return { happened: false, reason: "the config was not written after the intent" };
    }
    const created = found.value.createdAt >= intent.at;
    return { happened: true, event: _putEvent(intent.event.actor, found.value, created) };
  };
}

/**
 * Raises every config's `latestVersion` to its newest version (a publish that died
 * between creating its version and raising the number left it behind): probes the
 * numbers after it, which are gapless. Run at start-up, before serving. Returns the
 * configs repaired.
 */
export async function repairLatestVersions(ctx: ControlContext): Promise<string[]> {
  const repaired: string[] = [];
  const configs = await ctx.nats.kv(Buckets.configs);
  const versions = await ctx.nats.kv(Buckets.versions);
  for (const name of await listKeys(ctx.nats, Buckets.configs)) {
    const found = await retryTransient(() => readKv(configs, name, ConfigRecord), {
      what: `Reading config ${name}`,
    });
    if (!found) continue;
    let newest = found.value.latestVersion;
    while (
      await retryTransient(() => versions.get(versionKey(name, newest + 1)), {
        what: `Reading version ${name}@v${newest + 1}`,
      }).then((e) => e?.operation === "PUT")
    ) newest++;
    if (newest > found.value.latestVersion) {
      await raiseLatestVersion(ctx, name, newest, found);
      repaired.push(name);
    }
  }
  return repaired;
}

/**
 * Raises `latestVersion` of a config to at least `version` (compare-and-set; it only ever
 * increases). `known` is the record as the caller last read it: the first attempt uses
 * it, and the record is only read again if that attempt loses a race.
 */
export async function raiseLatestVersion(
  ctx: ControlContext,
  name: string,
  version: number,
  known?: Stored<ConfigRecord>,
): Promise<void> {
  const kv = await ctx.nats.kv(Buckets.configs);
  // Unbounded: every lost write raised latestVersion or changed another field, and the
  // loop ends once latestVersion reaches `version`.
  const result = await casUpdate(kv, name, ConfigRecord, (current) => {
    if (!current) throw configNotFound(name);
    return current.latestVersion >= version ? null : { ...current, latestVersion: version };
  }, {
    attempts: Infinity,
    ...(known ? { known } : {}),
    write: (data, revision) => ctx.nats.kvWrite(Buckets.configs, name, data, revision),
    what: `config ${name}`,
  });
  if (result.written) ctx.configs.note(name, { value: result.value, revision: result.revision });
}
