/**
 * Appending to the audit log: a JetStream stream that denies delete and purge, one
 * subject per config. Every operator action and every automatic rollback lands here.
 *
 * @module
 */
import type { AtlasNats } from "./connect.ts";
import { AuditEvent, Subjects } from "@atlas/core";
import { retryTransient } from "./retry.ts";

/** The fields of an audit event its writer chooses. */
export type AuditInput = Omit<AuditEvent, "id" | "at" | "details"> & {
  details?: Record<string, unknown>;
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
  const event = AuditEvent.parse({
    id: crypto.randomUUID(),
    at: new Date().toISOString(),
    details: {},
    ...input,
  });
  await retryTransient(
    () =>
      nats.publisher.publish(Subjects.audit(event.config), JSON.stringify(event), {
        msgID: event.id,
      }),
    { what: "Appending to the audit log" },
  );
  return event;
}
