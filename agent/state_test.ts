import assert from "node:assert/strict";
import { type AgentState, StateStore } from "./state.ts";

function stateAt(version: number, note = ""): AgentState {
  return {
    configs: {
      web: {
        applied: {
          version,
          digest: "d".repeat(64),
          seq: version,
          appliedAt: "2026-01-01T00:00:00Z",
        },
        diskDigest: "d".repeat(64),
        lastAck: {
          version,
          seq: version,
          status: "applied",
          at: "2026-01-01T00:00:00Z",
          reason: note,
        },
        maxSeq: version,
      },
    },
    outbox: [],
  };
}

function reopen(dir: string): AgentState {
  const { store, state } = StateStore.open(dir);
  store.close();
  return state;
}

Deno.test("the state store starts empty and returns the newest save after a restart", async () => {
  const dir = await Deno.makeTempDir();
  const { store, state } = StateStore.open(dir);
  assert.deepEqual(state, { configs: {}, outbox: [] });
  for (const v of [1, 2, 3]) store.save(stateAt(v));
  store.close();
  assert.equal(reopen(dir).configs.web?.applied?.version, 3);
  // Saves alternate between the two slots: each holds one of the last two generations.
  const headers = ["a", "b"].map((s) => Deno.readTextFileSync(`${dir}/state.${s}`).split("\n")[0]);
  assert.match(headers[0]!, /^atlas-agent-state 2 /);
  assert.match(headers[1]!, /^atlas-agent-state 3 /);
  // A store reopened on them goes on from generation 3, into the older slot.
  const again = StateStore.open(dir).store;
  again.save(stateAt(4));
  again.close();
  assert.match(Deno.readTextFileSync(`${dir}/state.a`), /^atlas-agent-state 4 /);
  assert.equal(reopen(dir).configs.web?.applied?.version, 4);
});

Deno.test("a save torn by a crash loses only that save", async () => {
  const dir = await Deno.makeTempDir();
  const { store } = StateStore.open(dir);
  store.save(stateAt(1));
  store.save(stateAt(2, "x".repeat(500)));
  store.close();
  // The crash cut the newest slot (state.a, generation 2) short.
  const newest = Deno.readFileSync(`${dir}/state.a`);
  Deno.writeFileSync(`${dir}/state.a`, newest.subarray(0, newest.length - 100));
  assert.equal(reopen(dir).configs.web?.applied?.version, 1);
  // One flipped byte is caught by the checksum as well.
  const flipped = new Uint8Array(newest);
  flipped[flipped.length - 3] = flipped[flipped.length - 3]! ^ 1;
  Deno.writeFileSync(`${dir}/state.a`, flipped);
  assert.equal(reopen(dir).configs.web?.applied?.version, 1);
  // The next save overwrites the torn slot, and a shorter save leaves no stale tail.
  const next = StateStore.open(dir).store;
  next.save(stateAt(3));
  next.close();
  assert.equal(reopen(dir).configs.web?.applied?.version, 3);
  const text = Deno.readTextFileSync(`${dir}/state.a`);
  assert.equal(text.length, text.indexOf("\n") + 1 + Number(text.split(" ")[2]));
});

Deno.test("a torn first save starts empty; two bad slots are refused with what to do", async () => {
  const dir = await Deno.makeTempDir();
  StateStore.open(dir).store.close();
  Deno.writeTextFileSync(`${dir}/state.b`, "atlas-agent-state 1 999 abc\n{");
  assert.deepEqual(reopen(dir), { configs: {}, outbox: [] });
  Deno.writeTextFileSync(`${dir}/state.a`, "garbage");
  assert.throws(
    () => StateStore.open(dir),
    /state\.a: no state header; state\.b: checksum mismatch \(torn write\)\); move the state dir aside/,
  );
});
