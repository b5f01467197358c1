import assert from "node:assert/strict";
import {
  cutoffOfRanked,
  inCandidateShare,
  preflightOf,
  rankShareHashes,
  shareCutoff,
  targetOf,
} from "./share.ts";
import type { PointerRecord, VersionRecord } from "./schemas.ts";

Deno.test("candidate share is stable and grows monotonically", () => {
  const agents = Array.from({ length: 1000 }, (_, i) => `a${i}`);
  const at = (p: number) =>
    new Set(
      agents.filter((a) => inCandidateShare(a, "r1", { percent: p, agents: [], exclude: [] })),
    );
  const five = at(5);
  const fifty = at(50);
  assert.ok(five.size > 20 && five.size < 80, `5% chose ${five.size} of 1000`);
  for (const a of five) assert.ok(fifty.has(a));
  assert.equal(at(100).size, 1000);
  assert.ok(!inCandidateShare("a1", "r1", { percent: 100, agents: [], exclude: ["a1"] }));
});
Deno.test("agents carrying every label of the selector are chosen, quarantined ones never", () => {
  const selector = {
    percent: 0,
    agents: [],
    exclude: ["q1"],
    labels: { tier: "canary", zone: "a" },
  };
  assert.ok(inCandidateShare("a1", "r1", selector, { tier: "canary", zone: "a", extra: "x" }));
  assert.ok(!inCandidateShare("a2", "r1", selector, { tier: "canary" }), "one label missing");
  assert.ok(!inCandidateShare("q1", "r1", selector, { tier: "canary", zone: "a" }), "excluded");
  assert.ok(
    !inCandidateShare("a3", "r1", { percent: 0, agents: [], exclude: [] }, { tier: "canary" }),
  );
});
Deno.test("an exact share takes ceil(p × n) agents, at least one, and keeps them as it grows", () => {
  const agents = Array.from({ length: 11 }, (_, i) => `a${i}`);
  const chosen = (percent: number) => {
    const cutoff = shareCutoff("r-1", agents, percent);
    return agents.filter((a) =>
      inCandidateShare(a, "r-1", {
        percent,
        agents: [],
        exclude: [],
        ...(cutoff === undefined ? {} : { hashCutoff: cutoff }),
      })
    );
  };
  assert.equal(chosen(30).length, 4);
  assert.equal(chosen(1).length, 1);
  assert.equal(chosen(50).length, 6);
  assert.equal(chosen(100).length, 11);
  assert.equal(chosen(0).length, 0);
  for (const a of chosen(30)) assert.ok(chosen(50).includes(a), `${a} stays as the share grows`);
  assert.equal(shareCutoff("r-1", [], 30), undefined, "no agent: no cutoff");
});

Deno.test("one ranking gives every percent's cutoff, as shareCutoff computes it", () => {
  const agents = Array.from({ length: 2_345 }, (_, i) => `a${i}`);
  const ranked = rankShareHashes("r-2", agents);
  for (const p of [0, 0.1, 1, 10, 33.3, 99.99, 100]) {
    assert.equal(cutoffOfRanked(ranked, p), shareCutoff("r-2", agents, p), `${p} %`);
  }
  assert.equal(cutoffOfRanked(ranked, 1), ranked[23], "ceil(1 % of 2 345) = 24th lowest");
  assert.ok(ranked.every((h, i) => i === 0 || ranked[i - 1]! <= h), "ascending");
});
Deno.test("a preflight candidate is checked, never installed", () => {
  const v = (version: number) => ({ version }) as VersionRecord;
  const selector = { percent: 100, agents: [], exclude: ["b"] };
  const pointer = (preflight: boolean) =>
    ({
      active: v(1),
      candidate: { version: v(2), rolloutId: "r", selector, ...(preflight ? { preflight } : {}) },
    }) as unknown as PointerRecord;
  assert.equal(targetOf(pointer(true), "a").version, 1);
  assert.equal(preflightOf(pointer(true), "a")?.version, 2);
  assert.equal(preflightOf(pointer(true), "b"), undefined, "outside the share: nothing to check");
  assert.equal(targetOf(pointer(false), "a").version, 2);
  assert.equal(preflightOf(pointer(false), "a"), undefined);
});
