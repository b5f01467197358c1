/**
 * Atomic file replacement, kept under its old path for the agent's modules: the code
 * lives in `@atlas/store` (store/atomic.ts), which the SDK shares.
 *
 * @module
 */
export {
  type AtomicWriteOptions,
  commitStaged,
  discardStaged,
  readFileOrNull,
  removeStaleTemps,
  type StagedFile,
  stageFile,
  syncDir,
  writeFileAtomic,
} from "@atlas/store";
