/**
 * Agent enrolments in the `atlas_enrolments` bucket, `<region>.<agent>` → the public key
 * the agent signs its acks with (core/ack_signature.ts decides what counts).
 *
 * Invariants: records change by compare-and-set; enrolling again replaces the key and
 * clears a revocation, and the replaced key moves to `previousKeys` with the time it stopped
 * counting; revoking keeps the key. So acks stored while a key held still prove what they
 * said. {@linkcode EnrolmentBook} keeps the records in memory, current by one KV watch
 * started before the snapshot is read (nothing written in between is missed), so the
 * coordinator and control plane verify every ack with a map lookup.
 *
 * @module
 */
import { KvWatchInclude } from "@nats-io/kv";
import {
  AckRecord,
  type AckStorage,
  type AckVerdict,
  ackVerdict,
  agentKey,
  AtlasError,
  AtlasErrorCode,
  Buckets,
  EnrolmentRecord,
  isAgentPublicKey,
  parseAckSubject,
} from "@atlas/core";
import type { AtlasNats } from "./connect.ts";
import { casUpdate, readKv } from "./kv_cas.ts";
import { listEntries } from "./compat/list_keys.ts";

/** What {@linkcode recordEnrolment} records. */
export interface EnrolmentInput {
  region: string;
  agent: string;
  /** The agent's nkey user public key (`U...`, from its `.creds` file). */
  publicKey: string;
  /** When, ISO-8601. @default now */
  at?: string;
}

/**
 * Records (or replaces) the enrolment of an agent: from now on its acks count when signed
 * by `publicKey`. Returns the record written.
 *
 * @example
 * ```ts
 * await recordEnrolment(nats, { region: "us-east", agent: "a1", publicKey: id.publicKey });
 * ```
 */
export async function recordEnrolment(
  nats: AtlasNats,
  input: EnrolmentInput,
): Promise<EnrolmentRecord> {
  if (!isAgentPublicKey(input.publicKey)) {
    throw new TypeError(
      `Cannot enrol ${input.region}/${input.agent}: ${JSON.stringify(input.publicKey)} is not ` +
        "an nkey user public key (U...); give the public key of the agent's .creds file",
    );
  }
  const at = input.at ?? new Date().toISOString();
  const kv = await nats.kv(Buckets.enrolments);
  const result = await casUpdate(
    kv,
    agentKey(input.region, input.agent),
    EnrolmentRecord,
    (current) => {
      // The key it replaces keeps proving what was stored while it held (evidence).
      const previous = current && current.publicKey !== input.publicKey
        ? [{ publicKey: current.publicKey, retiredAt: current.revokedAt ?? at }]
        : [];
      const previousKeys = [
        ...previous,
        ...(current?.previousKeys ?? []).filter((k) => k.publicKey !== input.publicKey),
      ].slice(0, 8);
      return EnrolmentRecord.parse({
        region: input.region,
        agent: input.agent,
        publicKey: input.publicKey,
        enrolledAt: at,
        ...(previousKeys.length ? { previousKeys } : {}),
      });
    },
  );
  return result.written ? result.value : result.current!.value;
}

/** Raised when revoking an agent that was never enrolled. */
export class EnrolmentNotFoundError extends AtlasError {
  constructor(region: string, agent: string) {
    super(
      `Agent ${region}/${agent} is not enrolled: nothing to revoke. Check the region and id ` +
        "(atlas agents list)",
      { code: AtlasErrorCode.notFound },
    );
    this.name = "EnrolmentNotFoundError";
  }
}

/**
 * Revokes an agent's enrolment: its acks stored from now on do not count. Revoking again
 * keeps the first `revokedAt`. Throws {@linkcode EnrolmentNotFoundError} when the agent was
 * never enrolled.
 *
 * @example
 * ```ts
 * await revokeEnrolment(nats, { region: "us-east", agent: "a1" });
 * ```
 */
export async function revokeEnrolment(
  nats: AtlasNats,
  input: { region: string; agent: string; at?: string },
): Promise<EnrolmentRecord> {
  const kv = await nats.kv(Buckets.enrolments);
  const key = agentKey(input.region, input.agent);
  const at = input.at ?? new Date().toISOString();
  const result = await casUpdate(kv, key, EnrolmentRecord, (current) => {
    if (!current) throw new EnrolmentNotFoundError(input.region, input.agent);
    return current.revokedAt ? null : { ...current, revokedAt: at };
  });
  return result.written ? result.value : result.current!.value;
}

/** Reads one agent's enrolment (no cache); null when it has none. */
export async function readEnrolment(
  nats: AtlasNats,
  region: string,
  agent: string,
): Promise<EnrolmentRecord | null> {
  const kv = await nats.kv(Buckets.enrolments);
  return (await readKv(kv, agentKey(region, agent), EnrolmentRecord))?.value ?? null;
}

/** Options of {@linkcode EnrolmentBook}. */
export interface EnrolmentBookOptions {
  /** Keep only this region's agents. @default every region */
  region?: string;
}

/** The enrolments in memory, following the bucket; see the module doc. */
export class EnrolmentBook implements AsyncDisposable {
  readonly #nats: AtlasNats;
  readonly #filter: string;
  readonly #entries = new Map<string, { revision: number; value: EnrolmentRecord | null }>();
  #following: Promise<void> | undefined;
  /** A snapshot was loaded once. */
  #loaded = false;
  #stop: (() => void) | undefined;
  #closed = false;
  #revision = 0;

  constructor(nats: AtlasNats, options: EnrolmentBookOptions = {}) {
    this.#nats = nats;
    this.#filter = options.region === undefined ? ">" : `${options.region}.*`;
  }

  /** A bucket entry as the book keeps it: a deletion, or an enrolment that does not parse, as none. */
  #applyEntry(e: { key: string; revision: number; operation: string; json<T>(): T }): void {
    const parsed = e.operation === "PUT" ? EnrolmentRecord.safeParse(e.json()) : null;
    this.#apply(e.key, e.revision, parsed?.success ? parsed.data : null);
  }

  #apply(key: string, revision: number, value: EnrolmentRecord | null): void {
    const cur = this.#entries.get(key);
    if (!cur || cur.revision < revision) {
      this.#entries.set(key, { revision, value });
      this.#revision++;
    }
  }

  /**
   * Grows whenever an enrolment is added, changed or removed: what a caller derived from
   * the book holds while this stays the same.
   */
  get revision(): number {
    return this.#revision;
  }

  /**
   * Resolves once the snapshot is loaded (the follow starts on first call). When the follow
   * ends (the connection dropped, the primary out of reach), the next call starts it again:
   * in the background once a snapshot was loaded (what is known stays usable through a
   * partition; a change made meanwhile is seen when it heals), else awaited.
   */
  ready(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#following) return this.#following;
    const following = this.#follow();
    this.#following = following;
    following.then(() => (this.#loaded = true), () => {
      if (this.#following === following) this.#following = undefined;
    });
    if (this.#loaded) {
      following.catch(() => {}); // retried on the next call
      return Promise.resolve();
    }
    return following;
  }

  async #follow(): Promise<void> {
    const kv = await this.#nats.kv(Buckets.enrolments);
    const watch = await kv.watch({ key: this.#filter, include: KvWatchInclude.UpdatesOnly });
    this.#stop = () => watch.stop();
    if (this.#closed) watch.stop(); // closed while this was being set up
    (async () => {
      for await (const e of watch) this.#applyEntry(e);
    })().catch(() => {}).finally(() => {
      if (!this.#closed) this.#following = undefined; // start again on next use
    });
    try {
      for (const e of await listEntries(this.#nats, Buckets.enrolments, this.#filter)) {
        this.#applyEntry(e);
      }
    } catch (e) {
      watch.stop(); // the next call follows again: one watch at a time
      throw e;
    }
  }

  /** The enrolment of an agent as last seen (call {@linkcode ready} first). */
  get(region: string, agent: string): EnrolmentRecord | undefined {
    return this.#entries.get(`${region}.${agent}`)?.value ?? undefined;
  }

  /**
   * Reads one agent's enrolment from the bucket into the book, for an agent the follow may
   * have missed: a watch can go silent through a partition without ending (nats-server
   * 2.9.10), and the book would then never learn of an agent enrolled meanwhile. When the
   * read finds what the book lacked, the follow is restarted too (on the next `ready`).
   * Resolves true when it found news.
   */
  async lookUp(region: string, agent: string): Promise<boolean> {
    const kv = await this.#nats.kv(Buckets.enrolments);
    const e = await kv.get(agentKey(region, agent));
    if (!e) return false;
    const before = this.#revision;
    this.#applyEntry(e);
    if (this.#revision === before) return false;
    this.#stop?.(); // the follow missed it: follow again from a fresh snapshot
    return true;
  }

  /** How many agents the book knows (revoked and removed ones included). */
  get size(): number {
    return this.#entries.size;
  }

  /** Every enrolment seen, revoked ones included. */
  list(): EnrolmentRecord[] {
    return [...this.#entries.values()].flatMap((e) => (e.value ? [e.value] : []));
  }

  /** Whether a stored ack counts ({@linkcode ackVerdict} with this book's enrolments). */
  verdict(ack: AckRecord, stored: AckStorage): AckVerdict {
    return ackVerdict(ack, stored, this.get(ack.region, ack.agent));
  }

  /** Stops following. */
  close(): void {
    this.#closed = true;
    this.#stop?.();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** A stored ack as the acks stream delivered it. */
export interface StoredAck {
  ack: AckRecord;
  /** Where and when the stream stored it (the verdict's evidence, not the agent's word). */
  storage: AckStorage;
}

/**
 * Parses a message of the acks stream (consumer message or direct get); undefined when it
 * is not an ack (a malformed body or a subject outside `atlas.ack.>`).
 *
 * @example
 * ```ts
 * const stored = storedAck(m);
 * if (stored && book.verdict(stored.ack, stored.storage).counts) use(stored.ack);
 * ```
 */
export function storedAck(
  m: { subject: string; time: Date; json<T>(): T },
): StoredAck | undefined {
  const subject = parseAckSubject(m.subject);
  if (!subject) return undefined;
  let body: unknown;
  try {
    body = m.json();
  } catch {
    return undefined;
  }
  const ack = AckRecord.safeParse(body);
  if (!ack.success) return undefined;
  return { ack: ack.data, storage: { subject, storedAt: m.time.getTime() } };
}
