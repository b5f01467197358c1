/**
 * What the agent has applied, persisted under its state dir so a restart applies nothing
 * twice and nothing older.
 *
 * The state lives in two slots, `state.a` and `state.b`, written in turn and each in
 * place: a header line `atlas-agent-state <generation> <length> <sha256 of the body>`,
 * then the body (JSON). A save overwrites the slot that does not hold the newest
 * generation and fdatasyncs it; a load takes the valid slot with the highest generation.
 * A crash mid-save tears only the slot being written, so the load finds the state before
 * that save: the same old-or-new guarantee as writing a temp file and renaming it, with
 * three system calls on two files kept open instead of eight and a new file per save.
 * Measured with 1 000 agents: the rename-based save was a sixth of an apply's CPU.
 *
 * @module
 */
import { z } from "zod";
import { AckRecord, AgentConfigState, ConfigName, sha256Hex } from "@atlas/core";
import { syncDir } from "@atlas/store";

/** Persisted state of one config. */
export const ConfigState = AgentConfigState.extend({
  /** Highest pointer `seq` accepted so far; lower ones are replays and are refused. */
  maxSeq: z.number().int().nonnegative(),
});
export type ConfigState = z.infer<typeof ConfigState>;

/** The whole persisted state. */
export const AgentState = z.object({
  configs: z.record(ConfigName, ConfigState),
  /** Acks not known to be in the acks stream yet, in order (see outbox.ts). */
  outbox: z.array(AckRecord).default([]),
});
export type AgentState = z.infer<typeof AgentState>;

/** An empty config state. */
export function emptyConfigState(): ConfigState {
  return { applied: null, diskDigest: null, lastAck: null, maxSeq: 0 };
}

const SLOTS = ["state.a", "state.b"] as const;
const MAGIC = "atlas-agent-state";
const decoder = new TextDecoder();

/** What one slot holds: nothing yet, a valid save, or a torn or corrupt one. */
type SlotContent =
  | { kind: "empty" }
  | { kind: "valid"; generation: number; body: unknown }
  | { kind: "invalid"; why: string };

function readSlot(bytes: Uint8Array): SlotContent {
  if (bytes.length === 0) return { kind: "empty" };
  const nl = bytes.indexOf(10);
  if (nl < 0) return { kind: "invalid", why: "no state header" };
  const [magic, generation, length, digest] = decoder.decode(bytes.subarray(0, nl)).split(" ");
  if (magic !== MAGIC || !(Number(generation) > 0)) {
    return { kind: "invalid", why: "no state header" };
  }
  const body = bytes.subarray(nl + 1, nl + 1 + Number(length));
  if (body.length !== Number(length) || sha256Hex(body) !== digest) {
    return { kind: "invalid", why: "checksum mismatch (torn write)" };
  }
  try {
    return {
      kind: "valid",
      generation: Number(generation),
      body: JSON.parse(decoder.decode(body)),
    };
  } catch {
    return { kind: "invalid", why: "not JSON" };
  }
}

/** The two state slots of an agent, open for saving. */
export class StateStore {
  readonly dir: string;
  readonly #files: Deno.FsFile[];
  /** Bytes in each slot, to cut a slot down when a save is shorter than its content. */
  readonly #lengths: number[];
  #generation: number;

  private constructor(dir: string, files: Deno.FsFile[], lengths: number[], generation: number) {
    this.dir = dir;
    this.#files = files;
    this.#lengths = lengths;
    this.#generation = generation;
  }

  /**
   * Opens (creating them if needed) the slots of `dir` and returns the newest state saved
   * there (an empty state when there is none).
   */
  static open(dir: string): { store: StateStore; state: AgentState } {
    Deno.mkdirSync(dir, { recursive: true });
    const files: Deno.FsFile[] = [];
    const contents: SlotContent[] = [];
    const lengths: number[] = [];
    let created = false;
    for (const name of SLOTS) {
      const path = `${dir}/${name}`;
      let bytes = new Uint8Array();
      try {
        bytes = Deno.readFileSync(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        created = true;
      }
      files.push(Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 }));
      contents.push(readSlot(bytes));
      lengths.push(bytes.length);
    }
    if (created) syncDir(dir); // the slots' names must outlive a crash too
    const close = () => files.forEach((f) => f.close());
    const valid: { generation: number; body: unknown }[] = [];
    const invalid: string[] = [];
    contents.forEach((c, i) => {
      if (c.kind === "valid") valid.push(c);
      else if (c.kind === "invalid") invalid.push(`${SLOTS[i]}: ${c.why}`);
    });
    // One crash tears one slot, the one being written: the other holds the state before
    // that save, or is empty when it was the first save. Two bad slots are not a crash.
    if (valid.length === 0 && invalid.length === SLOTS.length) {
      close();
      throw new Error(
        `Agent state in ${dir} is unreadable (${invalid.join("; ")}); move the state dir ` +
          `aside to start fresh (the agent then re-applies the active versions)`,
      );
    }
    const newest = valid.sort((a, b) => b.generation - a.generation)[0];
    let state: AgentState = { configs: {}, outbox: [] };
    if (newest) {
      try {
        state = AgentState.parse(newest.body);
      } catch (cause) {
        close();
        throw new Error(
          `Agent state in ${dir} does not match this agent's format; move the state dir ` +
            `aside to start fresh (the agent then re-applies the active versions)`,
          { cause },
        );
      }
    }
    return { store: new StateStore(dir, files, lengths, newest?.generation ?? 0), state };
  }

  /** Saves `state` durably: when this returns, a crash cannot lose it. */
  save(state: AgentState): void {
    const generation = this.#generation + 1;
    // One UTF-8 encoding of header and body together, through `Buffer` (a quarter of
    // `TextEncoder`'s time in Deno, measured); the digest of a string is that of its UTF-8.
    const body = JSON.stringify(state);
    const header = `${MAGIC} ${generation} ${Buffer.byteLength(body)} ${sha256Hex(body)}\n`;
    const data: Uint8Array = Buffer.from(header + body);
    const slot = generation % SLOTS.length;
    const file = this.#files[slot]!;
    file.seekSync(0, Deno.SeekMode.Start);
    for (let view = data; view.length > 0;) view = view.subarray(file.writeSync(view));
    if (this.#lengths[slot]! > data.length) file.truncateSync(data.length);
    file.syncDataSync();
    this.#lengths[slot] = data.length;
    this.#generation = generation;
  }

  /** Closes the slot files. */
  close(): void {
    for (const f of this.#files) {
      try {
        f.close();
      } catch {
        // closed already
      }
    }
  }
}
