/**
 * The ack outbox: acks waiting to be sent, in order, each with a JetStream message id so
 * the acks stream drops a resent duplicate.
 *
 * The queue is persisted inside the agent's saved state (`outbox`, see state.ts), written
 * in the same atomic write as the applied version it acks: one file write per apply, and
 * no crash can leave an apply without its ack or an ack without its apply. A sent ack
 * leaves the file at the next state write, not at once (that would be a second write per
 * apply), so after a crash the file may still list acks already sent. Those are
 * "restored": before any is sent again, the outbox reads the last ack stored for that
 * config and agent in the acks stream and drops every restored ack up to it. Acks are sent
 * in order, so that last stored ack is the only one that can tell. Every ack reaches the
 * stream exactly once, even after a crash followed by a downtime longer than the stream's
 * duplicate window.
 *
 * Each ack is signed with the agent's identity as it is sent (core/ack_signature.ts); the
 * message id leaves the signature out, so a resent ack is still the same ack.
 *
 * {@linkcode AckOutbox.send} keeps trying every 2 s while sending fails; no timer runs
 * while nothing waits, and none after `close()`.
 *
 * @module
 */
import type { AtlasNats } from "@atlas/store";
import { type AckIdentity, AckRecord, Streams, Subjects } from "@atlas/core";

/** The JetStream message id of an ack: the same ack always gets the same id. */
export function ackMessageId(ack: AckRecord): string {
  return `${ack.agent}/${ack.config}/${ack.seq}/${ack.version}/${ack.status}`;
}

interface Entry {
  ack: AckRecord;
  /** Loaded from disk: may have been sent before the restart. */
  restored: boolean;
}

/** An ordered queue of acks, persisted by the owner's state writes. */
export class AckOutbox {
  readonly #queue: Entry[];
  #flushing: Promise<void> | undefined;
  #running = false;
  #again = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #identity: AckIdentity | undefined;

  /**
   * `pending`: the acks a previous run left in the state file. `identity` signs each ack
   * as it is sent (none: sent unsigned, and they do not count).
   */
  constructor(pending: readonly AckRecord[] = [], identity?: AckIdentity) {
    this.#queue = pending.map((ack) => ({ ack, restored: true }));
    this.#identity = identity;
  }

  /** Number of acks not known to be in the acks stream. */
  get size(): number {
    return this.#queue.length;
  }

  /** What the state file must hold: every ack not known to be sent, in order. */
  pending(): AckRecord[] {
    return this.#queue.map((e) => e.ack);
  }

  /** Queues an ack; the caller persists it with its next state write, then flushes. */
  add(ack: AckRecord): void {
    this.#queue.push({ ack, restored: false });
  }

  /**
   * Sends queued acks in order until one fails (it stays, with all after it, for the next
   * flush). Restored acks are first checked against the acks stream. A call during a
   * flush joins it: the running flush sends what was added, too.
   */
  flush(nats: AtlasNats): Promise<void> {
    this.#again = true;
    if (this.#running) return this.#flushing!;
    // `#running` is cleared in the same synchronous step as the last look at `#again`:
    // a call can never slip in between and see a flush that will not look again. (It
    // could when the flag was the promise, cleared one microtask later: an ack added in
    // that gap waited for the next reconcile, 30 s, at 10 000 agents.)
    this.#running = true;
    this.#flushing = (async () => {
      try {
        while (this.#again) {
          this.#again = false;
          while (this.#queue.length > 0) {
            const { ack, restored } = this.#queue[0]!;
            if (restored) {
              await this.#dropDelivered(nats, ack);
              continue;
            }
            await nats.publisher.publish(
              Subjects.ack(ack.region, ack.config, ack.agent),
              // Bytes, not a string: the client would encode it with TextEncoder, four
              // times the time of Buffer in Deno (measured).
              Buffer.from(JSON.stringify(this.#identity ? this.#identity.sign(ack) : ack)),
              { msgID: ackMessageId(ack), timeoutMs: 5_000 },
            );
            this.#queue.shift();
          }
        }
      } finally {
        this.#running = false;
      }
    })();
    return this.#flushing;
  }

  /**
   * For the subject of restored `ack`: drops the restored acks up to the one the stream
   * holds last (already delivered), and marks the rest of them as never sent. Throws
   * (the flush stops and retries later) when the stream cannot be read.
   */
  async #dropDelivered(nats: AtlasNats, ack: AckRecord): Promise<void> {
    const subject = Subjects.ack(ack.region, ack.config, ack.agent);
    const mine = this.#queue.filter((e) =>
      e.restored && Subjects.ack(e.ack.region, e.ack.config, e.ack.agent) === subject
    );
    const last = await nats.jsm.direct.getMessage(Streams.acks, { last_by_subj: subject });
    const stored = last ? ackMessageId(AckRecord.parse(last.json())) : undefined;
    const delivered = mine.findLastIndex((e) => ackMessageId(e.ack) === stored);
    for (const [i, e] of mine.entries()) {
      if (i <= delivered) this.#queue.splice(this.#queue.indexOf(e), 1);
      else e.restored = false;
    }
  }

  /**
   * Sends the waiting acks. When that fails (the acks stream unreachable), tries again
   * every 2 s until they are sent; nothing runs while none waits (a timer per agent every
   * 2 s was a tenth of an idle bench agent's CPU). A no-op once closed.
   */
  send(nats: AtlasNats): void {
    if (this.#closed) return;
    this.flush(nats).catch(() => {
      if (this.#retry !== undefined || this.#closed) return;
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.send(nats);
      }, 2_000);
    });
  }

  /** Cancels the retries of {@linkcode send}; {@linkcode flush} still sends. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }
}
