/**
 * A thread of {@linkcode AckChecks} (ack_checks.ts): answers each batch of ack signature
 * checks with `signedBy` of each, and its own CPU so far.
 *
 * @module
 */
import { signedBy } from "@atlas/core";
import { type CheckReply, type CheckRequest, unpackChecks } from "./ack_checks.ts";

/** This thread's CPU in µs (Linux), or undefined where /proc does not say. */
function threadCpuMicros(): number | undefined {
  try {
    const ns = Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]);
    return Number.isFinite(ns) ? ns / 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The worker's global scope (this module runs only as a worker). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<CheckRequest>) => void) | null;
  postMessage(reply: CheckReply): void;
};

/** This thread's id (Linux), for the CPU its owner reads while it works; else undefined. */
function threadId(): number | undefined {
  try {
    return Number(Deno.readLinkSync("/proc/thread-self").split("/").pop());
  } catch {
    return undefined;
  }
}
const tid = threadId();

scope.onmessage = (e) => {
  const { id, packed, keys } = e.data;
  const checks = unpackChecks(packed, keys);
  const answers = new Int8Array(checks.length);
  for (let i = 0; i < checks.length; i++) answers[i] = signedBy(checks[i]!);
  const cpuMicros = threadCpuMicros();
  const reply: CheckReply = {
    ...(tid === undefined ? {} : { tid }),
    id,
    signedBy: answers,
    ...(cpuMicros === undefined ? {} : { cpuMicros }),
  };
  scope.postMessage(reply);
};
