/**
 * Atomic file replacement, kept under its old path for the agent's modules: the code
 * lives in `@atlas/nats` (nats/atomic.ts), which the SDK shares.
 *
 * @module
 */
export {
  type AtomicWriteOptions,
  readFileOrNull,
  removeStaleTemps,
  syncDir,
  writeFileAtomic,
} from "@atlas/nats";
