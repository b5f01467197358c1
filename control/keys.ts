/**
 * Signing-key changes of the control plane: the key set at start, rotate, retire, revoke.
 *
 * Invariants:
 * - every key set is signed by the control plane's signing key *before* the change (a key
 *   agents trust now), stored, announced, and only then signed with: on a rotation agents
 *   learn the new key before anything signed by it reaches them;
 * - retire re-signs, with the signing key, every stored version and every stored pointer
 *   that the retiring key signed, then issues the set: a rollback to an old version still
 *   verifies after retirement; revoke re-signs nothing (what a compromised key signed is
 *   not vouched for again), so a version or pointer signed only by it is refused;
 * - retire waits for running rollouts to end (409); revoke does not;
 * - the signing key itself is never retired or revoked (rotate first), and each change is
 *   audited (`key.rotate`, `key.retire`, `key.revoke`).
 *
 * @module
 */
import {
  activeKeysOf,
  ActiveRollout,
  Buckets,
  endedKeySet,
  firstKeySet,
  generateSigningKey,
  isFinal,
  type KeySetRecord,
  KeySetRecord as KeySetSchema,
  KeyStatus,
  pointerBucket,
  type PointerRecord,
  RolloutRecord,
  rotatedKeySet,
  type Signer,
  type UnsignedKeySet,
  verifierOfKeySet,
  versionKey,
  VersionRecord,
} from "@atlas/core";
import {
  audited,
  fetchKeySet,
  type IntentResolver,
  isCasConflict,
  listKeys,
  readKeySet,
  readKv,
  readPointer,
  retryTransient,
  storeKeySet,
  writePointer,
} from "@atlas/store";
import { type ControlContext, remember } from "./context.ts";
import { ConflictError, NotFoundError, UnprocessableError } from "./errors.ts";
import { regionList } from "./regions.ts";

/** One key as `GET /v1/keys/set` and `atlas keys list` show it. */
export interface KeyView {
  keyId: string;
  status: KeyStatus;
  since: string;
  signing: boolean;
}

/**
 * Reads the newest key set at start, or makes the first one, and signs with the key it
 * names (or, when this process does not hold that key, another active key it holds).
 * Throws saying which key file to give it when it holds no active key.
 *
 * @example
 * ```ts
 * await ensureKeySet(ctx);
 * ```
 */
export async function ensureKeySet(ctx: ControlContext): Promise<KeySetRecord> {
  const held = _held(ctx);
  const found = await fetchKeySet(ctx.nats, {
    current: null,
    bootstrap: [...held.map((s) => s.trustedKey), ...ctx.extraTrustedKeys],
  });
  if (!found || found === "unchanged") {
    const first = firstKeySet(ctx.signer.trustedKey, ctx.extraTrustedKeys, _meta("control"));
    const set = _sign(ctx.signer, first);
    await storeKeySet(ctx.nats, set, await _regions(ctx));
    _use(ctx, set, ctx.signer);
    return set;
  }
  const signer = held.find((s) => s.keyId === found.signing) ??
    [...found.keys].reverse().flatMap((k) =>
      k.status === KeyStatus.active ? held.filter((s) => s.keyId === k.keyId) : []
    )[0];
  if (!signer) {
    throw new Error(
      `Key set ${found.seq} in ${Buckets.keys} signs with ${found.signing}, and this control ` +
        `plane holds ${held.map((s) => s.keyId).join(", ")}, none of them active in it: ` +
        `start it with the current key (${found.signing}.key in --key-dir, or --signing-key ` +
        "<that file>)",
    );
  }
  _use(ctx, found, signer);
  return found;
}

/** The keys of the key set in force, for `GET /v1/keys/set`. */
export async function keySetOf(ctx: ControlContext): Promise<KeySetRecord> {
  return ctx.keySet ?? await ensureKeySet(ctx);
}

/** The keys of `set`, newest first, for a listing. */
export function keyViews(set: KeySetRecord): KeyView[] {
  return [...set.keys].reverse().map((k) => ({
    keyId: k.keyId,
    status: k.status,
    since: k.since,
    signing: k.keyId === set.signing,
  }));
}

/** What a rotation did. */
export interface RotateResult {
  keySet: KeySetRecord;
  keyId: string;
  /** Where the new private key was written: copy it into every coordinator's --key-dir. */
  file: string;
}

/**
 * Makes a new signing key (written to the key directory, mode 0600), issues the key set
 * that adds it as the signing key (signed by the key in force), announces it, and signs
 * with the new key from then on. The old key stays active until retired.
 */
export async function rotateKey(ctx: ControlContext, actor: string): Promise<RotateResult> {
  const ring = ctx.keyRing;
  if (!ring?.dir) {
    throw new UnprocessableError(
      "This control plane has no key directory to write a new key to: start it with " +
        "--key-dir <dir> (default: keys/ beside --signing-key)",
    );
  }
  const current = await keySetOf(ctx);
  const key = generateSigningKey();
  const next = _sign(ctx.signer, rotatedKeySet(current, key, _meta(actor)));
  const file = await ring.add(key);
  const regions = await _regions(ctx);
  // The key set and its audit event are one change (store/journal.ts).
  await audited(ctx.nats, {
    actor,
    action: "key.rotate",
    details: { keyId: key.keyId, previous: current.signing, keySet: next.seq },
  }, () => storeKeySet(ctx.nats, next, regions));
  _use(ctx, next, ring.get(key.keyId)!);
  return { keySet: next, keyId: key.keyId, file };
}

/** What retiring or revoking a key did. */
export interface EndKeyResult {
  keySet: KeySetRecord;
  /** Versions and pointers re-signed with the signing key first (retire only). */
  resigned: { versions: number; pointers: number };
}

/**
 * Retires (`retired`: what it signed is re-signed first) or revokes (`revoked`: nothing
 * re-signed) `keyId`, by a key set signed with the signing key.
 */
export async function endKey(
  ctx: ControlContext,
  keyId: string,
  status: typeof KeyStatus.retired | typeof KeyStatus.revoked,
  actor: string,
): Promise<EndKeyResult> {
  const current = await keySetOf(ctx);
  if (!current.keys.some((k) => k.keyId === keyId)) {
    throw new NotFoundError(
      `Key ${keyId} is not in key set ${current.seq}: list the keys with \`atlas keys list\``,
    );
  }
  let unsigned: UnsignedKeySet;
  try {
    unsigned = endedKeySet(current, keyId, status, _meta(actor));
  } catch (e) {
    throw new ConflictError((e as Error).message, { cause: e });
  }
  const resigned = { versions: 0, pointers: 0 };
  if (status === KeyStatus.retired) {
    await _requireNoRollout(ctx, keyId);
    resigned.versions = await _resignVersions(ctx, keyId);
    resigned.pointers = await _resignPointers(ctx, keyId, actor);
  }
  const next = _sign(ctx.signer, unsigned);
  const regions = await _regions(ctx);
  await audited(ctx.nats, {
    actor,
    action: `key.${status === KeyStatus.retired ? "retire" : "revoke"}`,
    details: { keyId, keySet: next.seq, resigned },
  }, () => storeKeySet(ctx.nats, next, regions));
  _use(ctx, next, ctx.signer);
  return { keySet: next, resigned };
}

/**
 * The resolver of `key.rotate`, `key.retire` and `key.revoke` intents (store/journal.ts):
 * the change happened when the key set it announced (`details.keySet`) is stored.
 */
export function resolveKeyIntent(ctx: ControlContext): IntentResolver {
  return async (intent) => {
    const seq = Number(intent.event.details?.keySet);
    const stored = Number.isInteger(seq) ? await readKeySet(ctx.nats, seq) : null;
    return stored
      ? { happened: true, event: intent.event }
      : { happened: false, reason: `key set ${seq} was not stored` };
  };
}

/** Re-signs every stored version signed by `keyId` (compare-and-set on each). */
async function _resignVersions(ctx: ControlContext, keyId: string): Promise<number> {
  const kv = await ctx.nats.kv(Buckets.versions);
  let count = 0;
  const keys = await retryTransient(() => listKeys(ctx.nats, Buckets.versions), {
    what: "Listing versions",
  });
  for (const key of keys) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await retryTransient(() => readKv(kv, key, VersionRecord), {
        what: `Reading version ${key}`,
      });
      if (!found || found.value.keyId !== keyId) break;
      const { keyId: _k, signature: _s, ...body } = found.value;
      const record = VersionRecord.parse(ctx.signer.sign(body));
      try {
        await retryTransient(
          () => ctx.nats.kvWrite(Buckets.versions, key, JSON.stringify(record), found.revision),
          { what: `Re-signing version ${key}` },
        );
      } catch (e) {
        if (isCasConflict(e)) continue;
        throw e;
      }
      remember(ctx.versionRecords, key, record);
      count++;
      break;
    }
  }
  return count;
}

/**
 * Re-signs every stored pointer that `keyId` signed or whose embedded versions it signed,
 * embedding the re-signed versions. Agents find the same version applied: a no-op.
 */
async function _resignPointers(ctx: ControlContext, keyId: string, actor: string): Promise<number> {
  let count = 0;
  const versions = await ctx.nats.kv(Buckets.versions);
  const fresh = new Map<string, VersionRecord>();
  const freshOf = async (v: VersionRecord) => {
    if (v.keyId !== keyId) return;
    const key = versionKey(v.config, v.version);
    const found = await readKv(versions, key, VersionRecord);
    if (found && found.value.keyId !== keyId) fresh.set(key, found.value);
  };
  const swap = (v: VersionRecord) => fresh.get(versionKey(v.config, v.version)) ?? v;
  const signedBy = (p: PointerRecord) =>
    p.keyId === keyId || p.active.keyId === keyId || p.candidate?.version.keyId === keyId;
  for (const { name: region } of await regionList(ctx)) {
    const configs = await retryTransient(() => listKeys(ctx.nats, pointerBucket(region)), {
      what: `Listing pointers of ${region}`,
    });
    for (const config of configs) {
      const stored = await readPointer(ctx.nats, region, config);
      if (!stored || !signedBy(stored.pointer)) continue;
      await freshOf(stored.pointer.active);
      if (stored.pointer.candidate) await freshOf(stored.pointer.candidate.version);
      let wrote = false;
      await writePointer(ctx.nats, ctx.signer, region, config, (cur) => {
        if (!cur || !signedBy(cur)) return null;
        wrote = true;
        return {
          active: swap(cur.active),
          history: cur.history,
          ...(cur.candidate
            ? { candidate: { ...cur.candidate, version: swap(cur.candidate.version) } }
            : {}),
          reason: `re-signed: key ${keyId} retired`,
        };
      }, {
        issuedBy: actor,
        onStored: (s) => remember(ctx.lastPointers, `${region}/${config}`, s),
      });
      if (wrote) count++;
    }
  }
  return count;
}

/**
 * Throws {@linkcode ConflictError} while a rollout runs: re-signing its pointer would be a
 * new `seq` under a stage whose acks count from the one before.
 */
async function _requireNoRollout(ctx: ControlContext, keyId: string): Promise<void> {
  const kv = await ctx.nats.kv(Buckets.rollouts);
  const running: string[] = [];
  const keys = await retryTransient(() => listKeys(ctx.nats, Buckets.rollouts, "active.>"), {
    what: "Listing active rollouts",
  });
  for (const key of keys) {
    const held = await retryTransient(() => readKv(kv, key, ActiveRollout), { what: key });
    if (!held) continue;
    const id = held.value.rolloutId;
    const rollout = await retryTransient(() => readKv(kv, id, RolloutRecord), { what: id });
    if (rollout && !isFinal(rollout.value.state)) running.push(`${id} (${rollout.value.config})`);
  }
  if (running.length > 0) {
    throw new ConflictError(
      `Cannot retire key ${keyId} while rollouts run: ${running.join(", ")}. Retire it once ` +
        "they end (or abort them: `atlas rollout abort <id>`); revoke does not wait",
    );
  }
}

function _held(ctx: ControlContext): Signer[] {
  const ring = ctx.keyRing;
  const held = ring ? ring.keyIds.map((id) => ring.get(id)!) : [];
  return held.some((s) => s.keyId === ctx.signer.keyId) ? held : [ctx.signer, ...held];
}

function _sign(signer: Signer, set: UnsignedKeySet): KeySetRecord {
  return KeySetSchema.parse(signer.sign(set));
}

function _use(ctx: ControlContext, set: KeySetRecord, signer: Signer): void {
  ctx.keySet = set;
  ctx.signer = signer;
  ctx.trustedKeys = activeKeysOf(set);
  ctx.verifier = verifierOfKeySet(set, { remember: 1_024 });
}

function _meta(by: string): { at: string; by: string } {
  return { at: new Date().toISOString(), by };
}

async function _regions(ctx: ControlContext): Promise<string[]> {
  return (await regionList(ctx)).map((r) => r.name);
}
