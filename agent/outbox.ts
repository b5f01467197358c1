/**
 * Acks are written to an outbox on disk first and sent from there in order, each with a
 * JetStream message id, so an ack made while NATS is unreachable survives a restart and
 * reaches the acks stream exactly once (the stream drops duplicates by id).
 *
 * @module
 */
import type { AtlasNats } from "@atlas/nats";
import { type AckRecord, Subjects } from "@atlas/nats";
import { writeFileAtomic } from "./atomic.ts";

/** A persistent, ordered queue of acks waiting to be sent. */
export class AckOutbox {
  readonly dir: string;
  #counter = 0;
  #flushing: Promise<void> | undefined;
  #again = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directory and finds where numbering continues. */
  async open(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    for (const name of await this.#pending()) {
      this.#counter = Math.max(this.#counter, Number(name.split(".")[0]));
    }
  }

  /** Number of acks waiting. */
  async size(): Promise<number> {
    return (await this.#pending()).length;
  }

  async #pending(): Promise<string[]> {
    const names: string[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isFile && /^\d{12}\.json$/.test(e.name)) names.push(e.name);
    }
    return names.sort();
  }

  /** Persists an ack; it is sent by the next {@linkcode flush}. */
  async add(ack: AckRecord): Promise<void> {
    const name = `${String(++this.#counter).padStart(12, "0")}.json`;
    await writeFileAtomic(`${this.dir}/${name}`, new TextEncoder().encode(JSON.stringify(ack)), {
      mode: 0o600,
    });
  }

  /**
   * Sends pending acks in order until one fails (it stays, with all after it, for the
   * next flush). Concurrent calls coalesce.
   */
  flush(nats: AtlasNats): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = (async () => {
      try {
        do {
          this.#again = false;
          for (const name of await this.#pending()) {
            const path = `${this.dir}/${name}`;
            const ack = JSON.parse(await Deno.readTextFile(path)) as AckRecord;
            await nats.js.publish(
              Subjects.ack(ack.region, ack.config, ack.agent),
              JSON.stringify(ack),
              {
                msgID: `${ack.agent}/${ack.config}/${ack.seq}/${ack.version}/${ack.status}`,
                timeout: 5_000,
              },
            );
            await Deno.remove(path);
          }
        } while (this.#again);
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }
}
