/**
 * Who may do what on NATS: the publish and subscribe allow lists of each Atlas role, the
 * one place that decides them. Credentials (credentials.ts) carry these lists in the user
 * JWT and nats-server enforces them; nothing else in Atlas restates them.
 *
 * Invariant: every role gets the least it needs. JetStream API subjects are listed per
 * stream and per operation (`$JS.API.DIRECT.GET.KV_atlas_pointers_us-east`, never
 * `$JS.API.>` outside the control plane); KV writes are publishes to `$KV.<bucket>.<key>`
 * and are allowed per key where the key says whose it is; replies come to an inbox prefix
 * of the role's own ({@linkcode inboxPrefixOf}), the only `_INBOX` a role may subscribe.
 *
 * An agent A of region R may: subscribe to R's notices; read by direct get R's pointers,
 * the trusted keys and its own last acks; read R's blob copy (its stream info, direct
 * gets) and the primary blobs (message gets, no consumer); publish its own acks and alive
 * pings (`atlas.alive.<R>.<A>`) and put its own heartbeat key. Nothing else: no pointer,
 * lease, quarantine, rollout or audit write, no stream or consumer change, no other
 * agent's ack or heartbeat, no other region's notices. The region beacon
 * (`atlas.notify.<R>._beacon`, core/beacon.ts) comes under R's notices: R's coordinator
 * publishes it, its agents may only receive it (agent/beacon_test.ts).
 *
 * A leaf node of region R binds the ATLAS account to the hub with a `leaf` user: its link
 * may carry what R's agents may do, for any agent of R, and nothing else, so a leaf host
 * taken over is no worse than all of R's agents taken over (each agent is still held to
 * its own lists by the leaf it connects to). Every user may connect only as what it is
 * ({@linkcode connectionTypesOf}): a leaf user only as a leaf node, every other user only
 * as a client, so an agent's stolen credentials cannot link a leaf of the attacker's.
 *
 * @module
 */
import {
  agentKey,
  assertSimpleName,
  blobMirrorStream,
  Buckets,
  pointerBucket,
  Streams,
  Subjects,
} from "./names.ts";

/** The kinds of NATS user Atlas issues. */
export const RoleKind = {
  control: "control",
  coordinator: "coordinator",
  agent: "agent",
  reader: "reader",
  leaf: "leaf",
} as const;
export type RoleKind = typeof RoleKind[keyof typeof RoleKind];

/** A role one set of credentials is issued for. */
export type AtlasRole =
  | { kind: "control" }
  | { kind: "coordinator"; region: string }
  | { kind: "agent"; region: string; agent: string }
  | { kind: "reader" }
  | { kind: "leaf"; region: string };

/** Publish and subscribe allow (and deny) lists of one role, as a user JWT carries them. */
export interface RolePermissions {
  pub: { allow: string[]; deny: string[] };
  sub: { allow: string[]; deny: string[] };
}

/**
 * Builds a role from its parts, checking the names: `role("agent", { region, agent })`.
 * Throws a `TypeError` naming what is missing.
 *
 * @example
 * ```ts
 * atlasRole("coordinator", { region: "us-east" }); // { kind: "coordinator", region: "us-east" }
 * ```
 */
export function atlasRole(
  kind: string,
  options: { region?: string | undefined; agent?: string | undefined } = {},
): AtlasRole {
  switch (kind) {
    case "control":
    case "reader":
      return { kind };
    case "coordinator":
    case "leaf": {
      if (!options.region) {
        throw new TypeError(
          `A ${kind === "leaf" ? "leaf node" : kind}'s credentials need a region: ` +
            "pass --region <name>",
        );
      }
      assertSimpleName("region", options.region);
      return { kind, region: options.region };
    }
    case "agent": {
      if (!options.region || !options.agent) {
        throw new TypeError(
          "An agent's credentials need its region and id: pass --region <name> --agent <id>",
        );
      }
      assertSimpleName("region", options.region);
      assertSimpleName("agent", options.agent);
      return { kind, region: options.region, agent: options.agent };
    }
    default:
      throw new TypeError(
        `Unknown role ${JSON.stringify(kind)}: use one of ${Object.values(RoleKind).join(", ")}`,
      );
  }
}

/** A short label of a role, used as the NATS user name: `agent.us-east.web-1`. */
export function roleLabel(role: AtlasRole): string {
  switch (role.kind) {
    case "control":
    case "reader":
      return role.kind;
    case "coordinator":
    case "leaf":
      return `${role.kind}.${role.region}`;
    case "agent":
      return `agent.${role.region}.${role.agent}`;
  }
}

/** How a user may connect to nats-server, as a user JWT's `allowed_connection_types`. */
export type ConnectionType = "STANDARD" | "LEAFNODE";

/**
 * How `role` may connect: a leaf user only as a leaf node, every other user only as a
 * client. nats-server refuses any other kind of connection with those credentials (an
 * agent's credentials dialling a hub's leaf port, a leaf user's connecting as a client).
 *
 * @example
 * ```ts
 * connectionTypesOf({ kind: "leaf", region: "us-east" }); // ["LEAFNODE"]
 * ```
 */
export function connectionTypesOf(role: AtlasRole): ConnectionType[] {
  return role.kind === "leaf" ? LEAF_CONNECTION_TYPES : ["STANDARD"];
}

/** How a leaf node's users connect (both its links): as a leaf node only. */
export const LEAF_CONNECTION_TYPES: ConnectionType[] = ["LEAFNODE"];

/**
 * The inbox prefix of a role (nats.js `inboxPrefix`): replies to its requests come here,
 * and no other role may subscribe to it. Names hold no dots, so the tokens cannot collide.
 *
 * @example
 * ```ts
 * inboxPrefixOf({ kind: "agent", region: "us-east", agent: "a1" }); // "_INBOX_agent.us-east.a1"
 * ```
 */
export function inboxPrefixOf(role: AtlasRole): string {
  return `_INBOX_${roleLabel(role)}`;
}

const kv = (bucket: string) => `KV_${bucket}`;
const BLOBS = `OBJ_${Buckets.blobs}`;

/** Nobody, not even the control plane, may remove or rewrite the audit stream. */
const AUDIT_GUARD = [
  `$JS.API.STREAM.DELETE.${Streams.audit}`,
  `$JS.API.STREAM.PURGE.${Streams.audit}`,
  `$JS.API.STREAM.UPDATE.${Streams.audit}`,
  `$JS.API.STREAM.MSG.DELETE.${Streams.audit}`,
];

/** The JetStream reads every role but the agent makes: every bucket and stream Atlas has. */
function readEverything(): string[] {
  return [
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.>",
    "$JS.API.CONSUMER.CREATE.>",
    "$JS.API.CONSUMER.INFO.>",
    "$JS.API.CONSUMER.DELETE.>",
    "$JS.API.CONSUMER.MSG.NEXT.>",
    "$JS.FC.>",
  ];
}

/**
 * The publish and subscribe lists of `role`.
 *
 * @example
 * ```ts
 * permissionsOf({ kind: "agent", region: "us-east", agent: "a1" }).pub.allow;
 * // ["atlas.ack.us-east.a1.>", "$KV.atlas_agents.us-east.a1", …]
 * ```
 */
export function permissionsOf(role: AtlasRole): RolePermissions {
  const inbox = `${inboxPrefixOf(role)}.>`;
  switch (role.kind) {
    case "control":
      // The control plane provisions streams and buckets, so it has the JetStream API,
      // except the calls that would remove or rewrite the audit log.
      return {
        pub: {
          allow: ["$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.>", "$O.>", "atlas.>"],
          deny: AUDIT_GUARD,
        },
        sub: { allow: [inbox, "atlas.>"], deny: [] },
      };
    case "coordinator": {
      const r = role.region;
      const pointers = pointerBucket(r);
      const copy = blobMirrorStream(r);
      return {
        pub: {
          allow: [
            ...readEverything(),
            // Its region's pointers (and their notices), lease, quarantine and blob copy.
            `$KV.${pointers}.>`,
            `atlas.notify.${r}.>`,
            `$KV.${Buckets.leases}.${r}`,
            `$KV.${Buckets.quarantine}.${r}.>`,
            // Its region's liveness summary (core/liveness.ts), for the control plane.
            `$KV.${Buckets.liveness}.${r}`,
            `$JS.API.STREAM.CREATE.${copy}`,
            `$JS.API.STREAM.DELETE.${copy}`,
            // Rollout records and alerts are keyed by id, not region; audit by config.
            `$KV.${Buckets.rollouts}.>`,
            `$KV.${Buckets.alerts}.>`,
            "atlas.audit.>",
            // Audited changes (store/journal.ts): the intent first, dropped once recorded.
            "atlas.intent.>",
            `$JS.API.STREAM.MSG.DELETE.${Streams.intents}`,
          ],
          deny: AUDIT_GUARD,
        },
        // Its region's key-set notices: the signer (store/key_ring.ts) follows the active key,
        // and its region's alive pings, which tell who is up (core/liveness.ts).
        sub: { allow: [inbox, Subjects.keysNotice(r), Subjects.aliveOf(r)], deny: [] },
      };
    }
    case "agent":
      return {
        pub: { allow: _agentPublishes(role.region, role.agent), deny: [] },
        sub: { allow: [inbox, Subjects.notifyRegion(role.region)], deny: [] },
      };
    case "leaf": {
      // What every agent of the region may do, for any agent of it: the replies to all
      // their inboxes, their notices; nothing of another region, nothing an agent may not.
      const agentsInbox = `${inboxPrefixOf({ kind: "agent", region: role.region, agent: "*" })}.>`;
      return {
        pub: { allow: _agentPublishes(role.region, "*"), deny: [] },
        sub: { allow: [agentsInbox, Subjects.notifyRegion(role.region)], deny: [] },
      };
    }
    case "reader":
      return {
        pub: { allow: readEverything(), deny: [] },
        sub: { allow: [inbox, "atlas.notify.>"], deny: [] },
      };
  }
}

/**
 * What agent `a` of region `r` may publish; with `a` `*`, any agent of `r` (a leaf's link).
 * As few patterns as will do: nats-server keeps each allow pattern per connection (about
 * 1.2-1.8 KiB each), and an agent needs no consumer and no KV handle.
 */
function _agentPublishes(r: string, a: string): string[] {
  const copy = blobMirrorStream(r);
  // For a leaf, `atlas.ack.<r>.>`: nats-server 2.9.10 sends a leaf no interest in
  // `atlas.ack.>` (the acks stream) under a `…*.>` pattern.
  const acks = a === "*" ? Subjects.acksIn(r) : Subjects.acksBy(r, a);
  return [
    acks,
    // Its own alive pings only: a forged ping can claim no other host alive.
    a === "*" ? Subjects.aliveOf(r) : Subjects.alive(r, a),
    Subjects.kvKey(Buckets.agents, a === "*" ? `${r}.*` : agentKey(r, a)),
    // Its region's pointers and the key sets, by subject (store readKvDirect).
    `$JS.API.DIRECT.GET.${kv(pointerBucket(r))}.>`,
    `$JS.API.DIRECT.GET.${kv(Buckets.keys)}.>`,
    // Its region's blob copy: whether it exists, then direct gets (JSON form).
    `$JS.API.STREAM.INFO.${copy}`,
    `$JS.API.DIRECT.GET.${copy}`,
    // The primary blobs, when the copy lacks one: gets the stream leader answers.
    `$JS.API.STREAM.MSG.GET.${BLOBS}`,
    // Its own last acks (the outbox's check), by subject only.
    `$JS.API.DIRECT.GET.${Streams.acks}.${acks}`,
  ];
}

/**
 * What a leaf node's link to the hub may carry in the system account (its second remote):
 * revocations and account updates in (the control plane's `$SYS.REQ.CLAIMS.UPDATE`, the
 * servers' update events, the answers to the leaf's own lookups), and out only its answers
 * to other servers' requests, its resolver's lookups and syncs, and its events (not its
 * answers to the control plane's pushes: one server's answer is enough, and a taken leaf
 * could otherwise answer in the hub's name). No monitoring request of another
 * server (`$SYS.REQ.SERVER.>`: every connection's name and address, and on current
 * nats-server kick and lame-duck mode), no account JWT pushed: a leaf host taken over holds
 * these credentials, not the system user's.
 */
export const LEAF_SYSTEM_PERMISSIONS: RolePermissions = {
  pub: {
    allow: [
      "$SYS._INBOX.>",
      "$SYS._INBOX_.>",
      "$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP",
      "$SYS.REQ.CLAIMS.PACK",
      "$SYS.ACCOUNT.*.CONNECT",
      "$SYS.ACCOUNT.*.DISCONNECT",
      "$SYS.ACCOUNT.*.LEAFNODE.CONNECT",
      "$SYS.ACCOUNT.*.SERVER.CONNS",
      "$SYS.SERVER.ACCOUNT.*.CONNS",
      "$SYS.SERVER.*.STATSZ",
      "$SYS.SERVER.*.SHUTDOWN",
    ],
    deny: [],
  },
  sub: {
    allow: [
      "$SYS.REQ.CLAIMS.UPDATE",
      "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE",
      "$SYS.ACCOUNT.*.CLAIMS.UPDATE",
      "$SYS._INBOX.>",
      "$SYS._INBOX_.>",
      "$SYS.REQ.SERVER.PING",
      "$SYS.REQ.SERVER.PING.>",
    ],
    deny: [],
  },
};
