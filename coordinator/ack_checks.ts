/**
 * The Ed25519 checks of a region's acks, off the coordinator's JavaScript thread.
 *
 * Every ack counts only once its signature verifies (core/ack_signature.ts): ~40 µs each,
 * so a wave of 10 000 acks is 0.4 s of CPU and one of 1 000 000 is 40 s. Done where the
 * acks arrive, that work landed in whichever step was waiting on NATS (a step holding a
 * wave's acks took 90–140 ms at 10 000 agents) and it would stall the steps of a larger
 * region for seconds. Here bursts go to worker threads in batches (each ack costs the
 * JavaScript thread ~2 µs to hand over and take back, measured); a few acks at a time are
 * still checked in place, where a thread would cost more to start than it saves, and so are
 * acks past {@linkcode PENDING_MAX} waiting: a flood from a hostile host slows the follow
 * that reads it, as it did before threads, instead of growing a queue.
 *
 * Invariants: each submitted check gets exactly one answer, `done(index)` with the index of
 * the key that made the signature or -1 (`signedBy`, the same function either way); a
 * thread that fails has its checks done in place, and no thread is started after it; after `close`,
 * answers still owed are dropped.
 *
 * @module
 */
import { type AckSignatureCheck, signedBy } from "@atlas/core";
import { threadCpuMicros } from "./thread_cpu.ts";

/** Fewer acks than this at once are checked in place: no thread is started for them. */
export const THREAD_BATCH_MIN = 32;
/** At most this many acks go to a thread in one message. */
const BATCH_MAX = 256;
/**
 * With this many checks waiting, the next are checked in place: a host flooding acks then
 * slows the follow that reads them (as before threads), instead of growing a queue.
 */
export const PENDING_MAX = 20_000;
const WORKER = new URL("./ack_checks_worker.ts", import.meta.url).href;

/** What a checking thread is sent: a batch, its bytes packed in one transferred buffer. */
export interface CheckRequest {
  id: number;
  /** Per check: u32 length of the signed bytes, u32 length of the signature, then both. */
  packed: ArrayBuffer;
  /** Per check, the keys that may have made its signature. */
  keys: string[][];
}

type Signed = Pick<AckSignatureCheck, "bytes" | "signature" | "keys">;

/**
 * Packs the batch's bytes into one buffer, to be transferred. Sent one by one, each check's
 * bytes (views on Node's 8 KiB Buffer pool) were cloned with their whole pool: 11 ms of a
 * coordinator step went to `postMessage` (profile, 10 000 agents).
 */
export function packChecks(checks: readonly Signed[]): ArrayBuffer {
  let size = 0;
  for (const c of checks) size += 8 + c.bytes.length + c.signature.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const c of checks) {
    view.setUint32(at, c.bytes.length);
    view.setUint32(at + 4, c.signature.length);
    out.set(c.bytes, at + 8);
    out.set(c.signature, at + 8 + c.bytes.length);
    at += 8 + c.bytes.length + c.signature.length;
  }
  return out.buffer;
}

/** The checks {@linkcode packChecks} packed (views on `packed`, not copies). */
export function unpackChecks(packed: ArrayBuffer, keys: string[][]): Signed[] {
  const view = new DataView(packed);
  const out: Signed[] = [];
  let at = 0;
  for (const k of keys) {
    const n = view.getUint32(at);
    const m = view.getUint32(at + 4);
    out.push({
      bytes: new Uint8Array(packed, at + 8, n),
      signature: new Uint8Array(packed, at + 8 + n, m),
      keys: k,
    });
    at += 8 + n + m;
  }
  return out;
}
/** What it answers: `signedBy` of each check, in order, and its thread id. */
export interface CheckReply {
  id: number;
  signedBy: Int8Array;
  /** The thread's id (Linux), where its owner reads its CPU, also while it works. */
  tid?: number;
}

type Done = (signedBy: number) => void;

/** A thread's CPU now (from /proc), else as last read; kept as the last read; µs. */
function _threadCpuNow(t: { tid?: number; cpuMicros: number }): number {
  const now = t.tid === undefined ? undefined : threadCpuMicros(t.tid);
  if (now !== undefined) t.cpuMicros = Math.max(t.cpuMicros, now);
  return t.cpuMicros;
}

interface Thread {
  worker: Worker;
  /** Batches sent and not answered yet, by id. */
  owed: Map<number, { checks: Signed[]; dones: Done[] }>;
  owedChecks: number;
  /** Its CPU when last read, µs (a thread that ended keeps it). */
  cpuMicros: number;
  tid?: number;
}

/**
 * Checks ack signatures for one coordinator: in place, or on up to `threads` worker
 * threads, started on the first burst.
 *
 * @example
 * ```ts
 * const checks = new AckChecks({ threads: 2 });
 * checks.submit(check, (i) => count(ackVerdictSignedBy(check, i)));
 * checks.close();
 * ```
 */
export class AckChecks {
  /** Threads that may run: fewer once one failed (none is started again after that). */
  #threadsMax: number;
  readonly #onThreadError: (e: Error) => void;
  readonly #workerUrl: string;
  readonly #pendingMax: number;
  readonly #threads: Thread[] = [];
  #queue: { check: AckSignatureCheck; done: Done }[] = [];
  #flushing = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 0;
  #closed = false;
  #submitted = 0;
  #answered = 0;
  #cpuOfGone = 0;

  /**
   * `threads`: how many worker threads at most (0: every check in place).
   * `onThreadError`: told when a thread fails (its checks are then done in place).
   */
  constructor(
    options: {
      threads: number;
      onThreadError?: (e: Error) => void;
      /** Test hook: the module each thread runs. @default ack_checks_worker.ts */
      workerUrl?: string;
      /** Test hook: {@linkcode PENDING_MAX}. */
      pendingMax?: number;
    },
  ) {
    if (!(Number.isInteger(options.threads) && options.threads >= 0)) {
      throw new RangeError(
        `Cannot check acks on ${options.threads} threads: give a whole number, 0 for none`,
      );
    }
    this.#threadsMax = options.threads;
    this.#onThreadError = options.onThreadError ?? (() => {});
    this.#workerUrl = options.workerUrl ?? WORKER;
    this.#pendingMax = options.pendingMax ?? PENDING_MAX;
  }

  /** Checks submitted so far. */
  get submitted(): number {
    return this.#submitted;
  }

  /** Checks submitted and not answered yet. */
  get waiting(): number {
    return this.#submitted - this.#answered;
  }

  /** Checks answered so far (each submitted one is, once, unless closed first). */
  get answered(): number {
    return this.#answered;
  }

  /** Threads running now. */
  get threads(): number {
    return this.#threads.length;
  }

  /**
   * The CPU the checking threads have used, µs (Linux; 0 elsewhere or before any ran): read
   * from /proc now, so a batch still being checked counts as far as it got.
   */
  get cpuMicros(): number {
    return this.#threads.reduce((sum, t) => sum + _threadCpuNow(t), this.#cpuOfGone);
  }

  /**
   * Starts the first thread now, if one may run and none does: its start (~100 ms of CPU,
   * loading its modules and compiling them) then lands before the first burst, not in it.
   */
  warm(): void {
    if (!this.#closed && this.#threads.length === 0 && this.#threadsMax > 0) this.#start();
  }

  /** Checks `check` and calls `done` with {@linkcode signedBy}'s answer, now or later. */
  submit(check: AckSignatureCheck, done: Done): void {
    if (this.#closed) return;
    this.#submitted++;
    if (
      (this.#threadsMax === 0 && this.#threads.length === 0) ||
      this.waiting > this.#pendingMax
    ) return this.#inPlace(check, done);
    this.#queue.push({ check, done });
    if (this.#queue.length >= BATCH_MAX) return this.#flush();
    if (this.#flushing) return;
    this.#flushing = true;
    // Acks arrive in bursts, many from one socket read, each delivered in a microtask of its
    // own (the follow's async iterator): a timer collects the burst, to hand it over whole.
    this.#timer = setTimeout(() => this.#flush(), 0);
  }

  #inPlace(check: AckSignatureCheck, done: Done): void {
    this.#answered++;
    done(signedBy(check));
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#flushing = false;
    const queue = this.#queue;
    this.#queue = [];
    if (this.#closed) return;
    if (queue.length < THREAD_BATCH_MIN && this.#threads.length === 0) {
      for (const { check, done } of queue) this.#inPlace(check, done);
      return;
    }
    for (let i = 0; i < queue.length; i += BATCH_MAX) {
      const batch = queue.slice(i, i + BATCH_MAX);
      const thread = this.#leastOwed();
      if (!thread) {
        for (const { check, done } of batch) this.#inPlace(check, done);
        continue;
      }
      const id = this.#nextId++;
      const checks = batch.map((b) => b.check);
      thread.owed.set(id, { checks, dones: batch.map((b) => b.done) });
      thread.owedChecks += checks.length;
      const packed = packChecks(checks);
      const request: CheckRequest = { id, packed, keys: checks.map((c) => c.keys) };
      thread.worker.postMessage(request, [packed]);
    }
  }

  /** The thread with the fewest checks owed, starting one while under the limit. */
  #leastOwed(): Thread | undefined {
    let best = this.#threads[0];
    for (const t of this.#threads) if (t.owedChecks < best!.owedChecks) best = t;
    if ((!best || best.owedChecks > 0) && this.#threads.length < this.#threadsMax) {
      return this.#start() ?? best;
    }
    return best;
  }

  #start(): Thread | undefined {
    let worker: Worker;
    try {
      worker = new Worker(this.#workerUrl, { type: "module", name: "atlas ack checks" });
    } catch (e) {
      this.#onThreadError(e as Error);
      return undefined;
    }
    const thread: Thread = { worker, owed: new Map(), owedChecks: 0, cpuMicros: 0 };
    worker.onmessage = (e: MessageEvent<CheckReply>) => {
      const batch = thread.owed.get(e.data.id);
      if (!batch) return;
      thread.owed.delete(e.data.id);
      thread.owedChecks -= batch.dones.length;
      if (e.data.tid !== undefined) thread.tid = e.data.tid;
      this.#answered += batch.dones.length;
      for (let i = 0; i < batch.dones.length; i++) batch.dones[i]!(e.data.signedBy[i]!);
    };
    const fail = (e: Event) => {
      e.preventDefault();
      this.#lose(thread, (e as ErrorEvent).error ?? new Error((e as ErrorEvent).message));
    };
    worker.onerror = fail;
    worker.onmessageerror = fail;
    this.#threads.push(thread);
    return thread;
  }

  /** A failed thread: stopped, never used again, and what it owed done in place. */
  #lose(thread: Thread, error: Error): void {
    const i = this.#threads.indexOf(thread);
    if (i < 0) return;
    this.#threads.splice(i, 1);
    this.#threadsMax = this.#threads.length;
    this.#cpuOfGone += _threadCpuNow(thread);
    thread.worker.terminate();
    this.#onThreadError(error);
    for (const { checks, dones } of thread.owed.values()) {
      for (let k = 0; k < checks.length; k++) {
        this.#answered++;
        dones[k]!(signedBy(checks[k]!));
      }
    }
    thread.owed.clear();
  }

  /** Stops the threads; answers still owed are dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#queue = [];
    for (const t of this.#threads) t.worker.terminate();
    this.#threads.length = 0;
  }
}
