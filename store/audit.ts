/**
 * Appending to the audit log: a JetStream stream that denies delete and purge, one
 * subject per config. Every operator action and every automatic rollback lands here.
 *
 * @module
 */
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
