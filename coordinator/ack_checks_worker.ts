/**
 * A thread of {@linkcode AckChecks} (ack_checks.ts): answers each batch of ack signature
 * checks with `signedBy` of each, and its thread id (its owner reads its CPU from that).
 *
 * @module
 */
import { signedBy } from "@atlas/core";
import { type CheckReply, type CheckRequest, unpackChecks } from "./ack_checks.ts";
import { threadId } from "./thread_cpu.ts";

/** The worker's global scope (this module runs only as a worker). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<CheckRequest>) => void) | null;
  postMessage(reply: CheckReply): void;
};

const tid = threadId();

scope.onmessage = (e) => {
  const { id, packed, keys } = e.data;
  const checks = unpackChecks(packed, keys);
  const answers = new Int8Array(checks.length);
  for (let i = 0; i < checks.length; i++) answers[i] = signedBy(checks[i]!);
  const reply: CheckReply = { id, signedBy: answers, ...(tid === undefined ? {} : { tid }) };
  scope.postMessage(reply);
};
