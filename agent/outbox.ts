/**
 * Acks are written to an outbox on disk first and sent from there in order, each with a
 * JetStream message id, so an ack made while NATS is unreachable survives a restart and
 * reaches the acks stream exactly once (the stream drops duplicates by id).
 *
 * @module
 */
import type { AtlasNats } from "@atlas/nats";
import { AckRecord, Subjects } from "@atlas/nats";
import { writeFileAtomic } from "./atomic.ts";

/** A persistent, ordered queue of acks waiting to be sent. */
export class AckOutbox {
  readonly dir: string;
  #counter = 0;
  /** Pending acks in order, mirrored by one file each. */
  readonly #queue: { file: string; ack: AckRecord }[] = [];
  #flushing: Promise<void> | undefined;
  #again = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directory and loads what a previous run left unsent. */
  async open(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const names: string[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isFile && /^\d{12}\.json$/.test(e.name)) names.push(e.name);
    }
    for (const name of names.sort()) {
      const file = `${this.dir}/${name}`;
      const ack = AckRecord.safeParse(
        JSON.parse(await Deno.readTextFile(file).catch(() => "null")),
      );
      if (ack.success) this.#queue.push({ file, ack: ack.data });
      else await Deno.remove(file).catch(() => {}); // a torn write of an ack never sent
      this.#counter = Math.max(this.#counter, Number(name.split(".")[0]));
    }
  }

  /** Number of acks waiting. */
  get size(): number {
    return this.#queue.length;
  }

  /** Persists an ack; it is sent by the next {@linkcode flush}. */
  async add(ack: AckRecord): Promise<void> {
    const file = `${this.dir}/${String(++this.#counter).padStart(12, "0")}.json`;
    await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(ack)), { mode: 0o600 });
    this.#queue.push({ file, ack });
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
    const run = async () => {
      do {
        this.#again = false;
        while (this.#queue.length > 0) {
          const { file, ack } = this.#queue[0]!;
          await nats.js.publish(
            Subjects.ack(ack.region, ack.config, ack.agent),
            JSON.stringify(ack),
            {
              msgID: `${ack.agent}/${ack.config}/${ack.seq}/${ack.version}/${ack.status}`,
              timeout: 5_000,
            },
          );
          this.#queue.shift();
          await Deno.remove(file).catch(() => {});
        }
      } while (this.#again);
    };
    // `.finally` runs after this assignment even when `run` finishes synchronously.
    this.#flushing = run().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }
}
