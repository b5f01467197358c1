/**
 * The agent's counters.
 *
 * Invariant: counters only grow; each names one kind of event (see the fields).
 *
 * @module
 */

/** Counters an operator (or a test) can read, from `Agent.stats`. */
export interface AgentStats {
  notices: number;
  reconciles: number;
  applies: number;
  noops: number;
  rejects: number;
  failures: number;
  refusedReplays: number;
  inlineHits: number;
  cacheHits: number;
  /** Blobs read from the region's copy of the object store. */
  regionCopyHits: number;
  /** Blobs fetched from the primary object store (across a gateway in a supercluster). */
  fetches: number;
  driftHealed: number;
  /** Preflight candidates checked (fetched, verified, `verify` run) without installing. */
  preflights: number;
  /** Region beacons that named a newer pointer than this agent had read (each a reconcile). */
  beaconsBehind: number;
}

/** All counters at zero. */
export function emptyStats(): AgentStats {
  return {
    notices: 0,
    reconciles: 0,
    applies: 0,
    noops: 0,
    rejects: 0,
    failures: 0,
    refusedReplays: 0,
    inlineHits: 0,
    cacheHits: 0,
    regionCopyHits: 0,
    fetches: 0,
    driftHealed: 0,
    preflights: 0,
    beaconsBehind: 0,
  };
}
