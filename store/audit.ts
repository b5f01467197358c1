/**
 * Appending to the audit log: a JetStream stream that denies delete and purge, one
 * subject per config. Every operator action and every automatic rollback lands here.
 *
 * Every event appended inside {@linkcode withAuditActor} names the API token acting
 * (`actorId`), so the control plane's services, which know only the actor's name, need
 * not carry the token through every call.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { AtlasNats } from "./connect.ts";
import { AuditEvent, Subjects } from "@atlas/core";
import { retryTransient } from "./retry.ts";

/**
 * The fields of an audit event its writer chooses; `id` (default: a random UUID) is also
 * its `Nats-Msg-Id`, so the stream stores one event per id within its duplicate window.
 */
export type AuditInput = Omit<AuditEvent, "id" | "at" | "details" | "recovered"> & {
  details?: Record<string, unknown>;
  id?: string;
  recovered?: true;
};

/** The API token on whose behalf events are appended. */
export interface AuditActor {
  /** The token's id (`tok_…`, `file:<name>`). */
  id: string;
}

const _actor = new AsyncLocalStorage<AuditActor>();

/**
 * Runs `fn` so that every audit event it appends (that sets no `actorId` itself) names
 * `actor.id` as its `actorId`.
 *
 * @example
 * ```ts
 * await withAuditActor({ id: "tok_0123456789abcdef" }, () => publishVersion(ctx, "web", body, "alice"));
 * ```
 */
export function withAuditActor<T>(actor: AuditActor, fn: () => T): T {
  return _actor.run(actor, fn);
}

/**
 * Appends one audit event (retrying through a leader election; deduplicated by id, so a
 * retry never writes it twice). Returns the stored event.
 *
 * @example
 * ```ts
 * await appendAudit(nats, { actor: "alice", action: "version.publish", config: "web", version: 3 });
 * ```
 */
export async function appendAudit(nats: AtlasNats, input: AuditInput): Promise<AuditEvent> {
  return (await appendAuditOnce(nats, input)).event;
}

/**
 * Like {@linkcode appendAudit}, also saying whether the stream had the id already (within
 * its duplicate window), in which case the returned event was not stored again.
 *
 * @example
 * ```ts
 * const { duplicate } = await appendAuditOnce(nats, { id, actor: "alice", action: "x" });
 * ```
 */
export async function appendAuditOnce(
  nats: AtlasNats,
  input: AuditInput,
): Promise<{ event: AuditEvent; duplicate: boolean }> {
  const event = AuditEvent.parse({
    id: crypto.randomUUID(),
    at: new Date().toISOString(),
    details: {},
    ..._actorIdOf(input),
    ...input,
  });
  const ack = await retryTransient(
    () =>
      nats.publisher.publish(Subjects.audit(event.config), JSON.stringify(event), {
        msgID: event.id,
      }),
    { what: "Appending to the audit log" },
  );
  return { event, duplicate: ack.duplicate };
}

/**
 * The API token of the current {@linkcode withAuditActor} scope, if any: for any other
 * writer of audit events, so that every event names the token.
 */
export function currentAuditActor(): AuditActor | undefined {
  return _actor.getStore();
}

/** `{ actorId }` of the token acting now (see {@linkcode withAuditActor}), or `{}`. */
export function currentActorId(): { actorId?: string } {
  const id = currentAuditActor()?.id;
  return id === undefined ? {} : { actorId: id };
}

function _actorIdOf(input: AuditInput): { actorId?: string } {
  const id = currentAuditActor()?.id;
  return id !== undefined && input.actorId === undefined ? { actorId: id } : {};
}
