/**
 * `Idempotency-Key` on publish, activate, rollback and rollout start: a retried call with
 * the same key and the same request returns the first answer instead of doing it again
 * (a second version, a second rollout); the same key with another request is a 422.
 *
 * Answers are kept in KV `atlas_idempotency`, one record per principal, operation and key
 * (hashed into the KV key). The records carry no TTL of their own: nats-server 2.9.10
 * ignores per-message TTLs, so the bucket is bounded by the stream's `max_age` (24 h by
 * default, which 2.9 honours) and `history: 1`. A key is honoured for that long.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import type { KV } from "@nats-io/kv";
import { type AtlasNats, isCasConflict, readKv, retryTransient } from "@atlas/store";
import { sha256Hex } from "@atlas/core";
import { ConflictError, InvalidRequestError, UnprocessableError } from "./errors.ts";
import type { ControlEnv } from "./route_kit.ts";

/** The bucket of remembered answers. */
export const IDEMPOTENCY_BUCKET = "atlas_idempotency";

/** How long an answer is remembered by default: the bucket's `max_age`. */
export const IDEMPOTENCY_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** The `Idempotency-Key` request header, documented. */
export const IDEMPOTENCY_HEADER = z.object({
  "idempotency-key": z.string().regex(/^[\x21-\x7e]{1,255}$/, {
    message: "must be 1 to 255 visible ASCII characters (a UUID, say)",
  }).optional().describe(
    "Retry safely: the same key with the same request within 24 h returns the first " +
      "answer (header `Idempotent-Replayed: true`); with another request it is a 422",
  ),
});

const Remembered = z.object({
  state: z.enum(["pending", "done"]),
  /** sha256 of method, path and body. */
  request: z.string(),
  status: z.number().int().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.string().optional(),
  at: z.string(),
});
type Remembered = z.infer<typeof Remembered>;

/** Options of {@linkcode IdempotencyStore}. */
export interface IdempotencyOptions {
  /** How long answers are kept (the bucket's `max_age`). @default IDEMPOTENCY_MAX_AGE_MS */
  maxAgeMs?: number;
  /** Replicas of the bucket when this store creates it (as every other bucket). @default 1 */
  replicas?: number;
}

/**
 * The bucket of remembered answers, created on first use.
 *
 * @example
 * ```ts
 * const store = new IdempotencyStore(nats);
 * app.post("/x", idempotent(store, "x"), handler);
 * ```
 */
export class IdempotencyStore {
  #kv: Promise<KV> | undefined;
  readonly #nats: AtlasNats;
  readonly maxAgeMs: number;
  readonly replicas: number;

  constructor(nats: AtlasNats, options: IdempotencyOptions = {}) {
    this.#nats = nats;
    this.maxAgeMs = options.maxAgeMs ?? IDEMPOTENCY_MAX_AGE_MS;
    this.replicas = options.replicas ?? 1;
  }

  /**
   * The bucket (created with `ttl` = max age, `history: 1` and the control plane's replicas
   * when missing: with one replica, losing its node would refuse every idempotent request).
   * One that exists is opened as it is.
   */
  kv(): Promise<KV> {
    this.#kv ??= retryTransient(
      async () =>
        await this.#nats.streamInfo(`KV_${IDEMPOTENCY_BUCKET}`)
          ? await this.#nats.kvm.open(IDEMPOTENCY_BUCKET)
          : await this.#nats.kvm.create(IDEMPOTENCY_BUCKET, {
            ttl: this.maxAgeMs,
            history: 1,
            replicas: this.replicas,
          }),
      { what: `Opening ${IDEMPOTENCY_BUCKET}` },
    ).catch((e) => {
      this.#kv = undefined;
      throw e;
    });
    return this.#kv;
  }
}

const KEPT_HEADERS = ["content-type", "etag", "location"];

/**
 * Middleware of an idempotent operation `op`; runs after `jsonBody` (it hashes the body
 * text). Without the header it does nothing. With it: the first request claims the key
 * and its 2xx answer is remembered (a failure releases the key, so it can be retried);
 * a retry gets the remembered answer; a retry while the first still runs is a 409; the
 * key with another request is a 422.
 */
export function idempotent(store: IdempotencyStore, op: string): MiddlewareHandler<ControlEnv> {
  return async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined) return await next();
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new InvalidRequestError(
        `Invalid Idempotency-Key ${JSON.stringify(key)}: use 1 to 255 visible ASCII ` +
          `characters, a UUID for instance`,
      );
    }
    const id = sha256Hex(new TextEncoder().encode(`${c.var.principal.name}\n${op}\n${key}`));
    const request = sha256Hex(
      new TextEncoder().encode(`${c.req.method} ${c.req.path}\n${c.var.bodyText ?? ""}`),
    );
    const kv = await store.kv();
    const pending: Remembered = { state: "pending", request, at: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await retryTransient(() => kv.create(id, JSON.stringify(pending)), {
          what: "Claiming an Idempotency-Key",
        });
        break;
      } catch (e) {
        if (!isCasConflict(e)) throw e;
      }
      const stored = await retryTransient(() => readKv(kv, id, Remembered), {
        what: "Reading an Idempotency-Key",
      });
      if (!stored) continue;
      const found = stored.value;
      if (found.request !== request) {
        throw new UnprocessableError(
          `Idempotency-Key ${JSON.stringify(key)} was used for a different request (another ` +
            `body or path) in the last ${Math.round(store.maxAgeMs / 3_600_000)} h: use a new ` +
            `key for a new request`,
        );
      }
      if (found.state === "pending") {
        throw new ConflictError(
          `A request with Idempotency-Key ${JSON.stringify(key)} is still running: retry ` +
            `in a moment to get its answer`,
        );
      }
      return new Response(found.body ?? null, {
        status: found.status ?? 200,
        headers: { ...found.headers, "Idempotent-Replayed": "true" },
      });
    }
    try {
      await next();
    } catch (e) {
      await kv.delete(id).catch(() => {});
      throw e;
    }
    const res = c.res;
    if (res.status < 200 || res.status > 299) {
      await retryTransient(() => kv.delete(id), { what: "Releasing an Idempotency-Key" });
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const done: Remembered = {
      state: "done",
      request,
      status: res.status,
      headers,
      body: await res.clone().text(),
      at: pending.at,
    };
    await retryTransient(() => kv.put(id, JSON.stringify(done)), {
      what: "Remembering an idempotent answer",
    });
  };
}
