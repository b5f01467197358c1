/**
 * The parts an agent's apply is split into in a CPU profile (`bench:apply --profile`,
 * `bench:lone-agent --profile`), and the table both print. One list, so the two benches
 * name and order the parts alike.
 *
 * @module
 */
import type { busyMsByPart, ProfileFrame, ProfilePart } from "./profile.ts";

/**
 * Where an apply's CPU goes, by the frames on a sample's stack (the first part that takes
 * it): the checks and writes no agent may skip first, then the messaging every agent needs,
 * then what this agent's code and its runtime add. The bench's own activations and counting
 * run in this process too and are told apart.
 */
export const APPLY_PARTS: readonly ProfilePart[] = (() => {
  type Stack = readonly ProfileFrame[];
  const op = (f: ProfileFrame) => /^op_(fs_|write_sync|close|read_sync)/.test(f.functionName);
  const inFile = (s: Stack, re: RegExp) => s.some((f) => re.test(f.url));
  return [
    {
      name: "Ed25519: verify the pointer, sign the ack (native)",
      match: (s: Stack) => /ed25519|asymmetric_key/.test(s[0]!.functionName),
    },
    {
      name: "the bench's own (versions, activations, counting)",
      match: (s: Stack) =>
        inFile(s, /\/(bench|testkit)\//) ||
        s.some((f) => /^(_?writePointer|storeBlob|storeVersion)$/.test(f.functionName)),
    },
    {
      name: "durable writes: staged file, rename, fsyncs, state",
      match: (s: Stack) => op(s[0]!) && inFile(s, /\/(store\/atomic|agent\/state)\.ts$/),
    },
    {
      name: "signed bytes and keys (canonical JSON, JS side)",
      match: (s: Stack) => inFile(s, /\/core\/(crypto|ack_signature|nkeys|verify)\.ts$/),
    },
    {
      name: "blob cache write",
      match: (s: Stack) => op(s[0]!) && inFile(s, /\/agent\/cache\.ts$/),
    },
    {
      name: "looks at the file (stat, drift check)",
      match: (s: Stack) => op(s[0]!) && inFile(s, /\/agent\/disk_digests\.ts$/),
    },
    {
      name: "garbage collection",
      match: (s: Stack) => s[0]!.functionName === "(garbage collector)",
    },
    {
      name: "schema checks of what arrives (zod)",
      match: (s: Stack) => /\/zod\//.test(s[0]!.url),
    },
    {
      name: "logging",
      match: (s: Stack) => inFile(s, /\/store\/log\.ts$/),
    },
    {
      name: "messaging: NATS client, socket reads and writes",
      match: (s: Stack) =>
        /@nats-io/.test(s[0]!.url) || s[0]!.functionName === "writeBuffer" ||
        inFile(s, /(stream_base_commons|node_transport|\/net)\.(ts|js)$/),
    },
    {
      name: "agent code (JS)",
      match: (s: Stack) => /\/(agent|core|store)\//.test(s[0]!.url),
    },
    {
      name: "runtime: timers, buffers, promises, other ops",
      match: (s: Stack) => s[0]!.url === "" || /^(ext|node):/.test(s[0]!.url),
    },
  ];
})();

/**
 * The parts of `split` per apply over `applies`, one line each, under the busy total. The
 * profile samples wall time, so the total is near the measured CPU, not equal to it.
 */
export function applyPartsTable(split: ReturnType<typeof busyMsByPart>, applies: number): string {
  const us = (ms: number) => ((ms * 1000) / applies).toFixed(1).padStart(7);
  return [
    `the profiled run, busy ${us(split.busyMs).trim()} µs per apply:`,
    ...split.byPart.map(([name, ms]) => `${us(ms)} µs  ${name}`),
  ].join("\n");
}
