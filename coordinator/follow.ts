/**
 * A follow of a stream's subjects under a filter: the last message of every subject, then
 * every new one, through an ordered consumer (no durable state on the server). The leader
 * keeps its region's acks and agent records in memory this way instead of reading them
 * each step.
 *
 * Invariants: at most one consumer runs per follow; `ready` is true only once the backlog
 * that existed at the start was delivered (or there was none); `current` is false while
 * the consumer is not heard from; after `stop()` or a failure the next `start()` begins
 * again from the last message of every subject, with `onReset` called first so nothing
 * stale survives.
 *
 * @module
 */
import { DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { AtlasNats } from "@atlas/store";

/** Messages a follow asks for at a time (it holds up to twice as many unread). */
const PULL_BATCH = 100;

/**
 * How long each pull waits on the server; it sends a heartbeat every half of it, and two
 * missed ones make the client recreate its consumer. With the client's default 30 s a
 * consumer recreated on the far side of a partition delivered nothing for 30-45 s after the
 * heal, and a stage's 60 s ack timeout failed every member of a healthy region
 * (tests/fault_gateway_test.ts, one run in five). 5 s finds it within ~5 s.
 */
export const FOLLOW_PULL_EXPIRES_MS = 5_000;

/**
 * A timed `onMessage` longer than this was preempted: an ack's parse and signature check
 * take ~0.05 ms.
 */
const PREEMPTED_MS = 1;

/** Consumer status events after which what a follow delivered may be behind its stream. */
const QUIET: ReadonlySet<string> = new Set([
  "heartbeats_missed",
  "reset",
  "no_responders",
  "consumer_not_found",
  "stream_not_found",
]);

/** Options of {@linkcode SubjectFollow}. */
export interface SubjectFollowOptions {
  stream: string;
  /** Subject filter, e.g. `atlas.ack.us-east.>`. */
  filter: string;
  /** Called for each message, in stream order. */
  onMessage: (m: JsMsg) => void;
  /** Called before each (re)start: drop what the previous follow delivered. */
  onReset?: () => void;
  /**
   * Time each `onMessage` for {@linkcode FollowStats.busyMs} (benchmarks). Off by default;
   * costs two clock readings a message.
   */
  timed?: boolean;
}

/** What a follow's `onMessage` has cost so far (see {@linkcode SubjectFollow.stats}). */
export interface FollowStats {
  /** Messages handed to `onMessage`. */
  messages: number;
  /**
   * Milliseconds spent inside `onMessage` when the follow is `timed` (0 otherwise): the
   * synchronous call's wall time (`performance.now()`, 0.1 µs a reading), where a call over
   * {@linkcode PREEMPTED_MS} counts as the mean so far (its thread was preempted, which on a
   * loaded machine made the follows' sum exceed the process's CPU). Not
   * `process.cpuUsage()`: a `getrusage` over all the process's threads cost 10–30 µs a
   * reading while thousands of acks arrived, a quarter of what it measured, and a tenth of
   * the coordinator's CPU in a rollout (bench/coordinator_steps.ts).
   */
  busyMs: number;
}

/** A restartable follow; see the module doc. */
export class SubjectFollow implements AsyncDisposable {
  readonly #nats: AtlasNats;
  readonly #options: SubjectFollowOptions;
  #messages: { stop: () => void } | undefined;
  #starting = false;
  #ready = false;
  #lastMessageAt = 0;
  #loop: Promise<void> | undefined;
  #closed = false;
  /** The consumer was heard from (a message, a heartbeat) since it last went quiet. */
  #heard = true;
  /** What the last message read said was still to be delivered after it. */
  #behind = 0;
  #setup: Promise<void> | undefined;
  readonly #stats: FollowStats = { messages: 0, busyMs: 0 };

  constructor(nats: AtlasNats, options: SubjectFollowOptions) {
    this.#nats = nats;
    this.#options = options;
  }

  /** True while a consumer runs (or is being set up). */
  get following(): boolean {
    return this.#starting || this.#messages !== undefined;
  }

  /** What `onMessage` has cost since this follow was made (all its starts together). */
  get stats(): Readonly<FollowStats> {
    return this.#stats;
  }

  /** True once the backlog at the start was delivered. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * True while ready, the consumer is heard from, and the last message delivered had none
   * after it on the server: false from a missed heartbeat (or a consumer being recreated)
   * until the next message or heartbeat, and while a burst is being read (at 1 000 000
   * agents a wave of acks took minutes to read, and a stage's ack timeout failed every
   * member whose ack was stored but not read yet).
   */
  get current(): boolean {
    return this.#ready && this.#heard && this.#behind === 0;
  }

  /** Messages that were still to be delivered after the last one read (its `info.pending`). */
  get behind(): number {
    return this.#behind;
  }

  /** Milliseconds since the last message (or the start), while following. */
  silentMs(now: number = Date.now()): number {
    return now - this.#lastMessageAt;
  }

  /**
   * Starts following unless already; resolves once the consumer is set up. Throws what
   * setting it up threw (the next call tries again).
   */
  start(): Promise<void> {
    if (this.following || this.#closed) return this.#setup ?? Promise.resolve();
    this.#setup = this.#start();
    return this.#setup;
  }

  async #start(): Promise<void> {
    this.#starting = true;
    this.#ready = false;
    this.#options.onReset?.();
    try {
      const consumer = await this.#nats.js.consumers.get(this.#options.stream, {
        filter_subjects: this.#options.filter,
        deliver_policy: DeliverPolicy.LastPerSubject,
      });
      // Pulls of 100 messages: the client's default (100 held, pulling again below 75)
      // sent a pull request per 25 messages, and at 10 000 acks a rollout those socket
      // writes were the largest item of the coordinator's profile. Pulls of 500 cost less
      // still in writes, but their bursts landed in single steps (bench/coordinator_steps.ts).
      const messages = await consumer.consume({
        max_messages: PULL_BATCH * 2,
        threshold_messages: PULL_BATCH,
        expires: FOLLOW_PULL_EXPIRES_MS,
      });
      this.#messages = messages;
      this.#lastMessageAt = Date.now();
      this.#heard = true;
      this.#behind = 0;
      (async () => {
        for await (const s of messages.status()) {
          if (this.#messages !== messages) break;
          if (s.type === "heartbeat") this.#heard = true;
          else if (QUIET.has(s.type)) this.#heard = false;
        }
      })().catch(() => {});
      if (this.#closed) messages.stop();
      // Nothing to deliver when the consumer was made (its info from that moment): ready at
      // once. A follow of an empty filter was otherwise never ready, and asking the stream
      // for its keys instead listed every one (10 000 at 10 000 agents).
      if ((await consumer.info(true)).num_pending === 0) this.#ready = true;
      const timed = this.#options.timed === true;
      this.#loop = (async () => {
        for await (const m of messages) {
          this.#lastMessageAt = Date.now();
          this.#heard = true;
          const t0 = timed ? performance.now() : 0;
          try {
            this.#options.onMessage(m);
          } finally {
            const stats = this.#stats;
            if (timed) {
              const ms = performance.now() - t0;
              stats.busyMs += ms <= PREEMPTED_MS || stats.messages === 0
                ? ms
                : stats.busyMs / stats.messages;
            }
            stats.messages++;
          }
          this.#behind = m.info.pending;
          if (m.info.pending === 0) this.#ready = true;
        }
      })().catch(() => {}).finally(() => {
        if (this.#messages !== messages) return; // replaced by a newer follow
        this.#messages = undefined;
        this.#ready = false;
      });
    } finally {
      this.#starting = false;
    }
  }

  /** Ends the consumer; the next {@linkcode start} follows again from scratch. */
  stop(): void {
    const messages = this.#messages;
    this.#messages = undefined;
    this.#ready = false;
    messages?.stop();
  }

  /** Stops for good and waits for the consumer's loop to end. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#setup?.catch(() => {}); // a consumer being set up stops itself once it is
    this.stop();
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
