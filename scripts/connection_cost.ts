/**
 * `deno run -A scripts/connection_cost.ts [--clients 1000] [--settle 3]`:
 * what one connected agent costs nats-server in memory, by the permissions its user JWT
 * carries. For each case it starts a fresh authorized nats-server (as `@atlas/testkit`
 * does: operator, accounts, full resolver; its own ephemeral ports and directory), connects
 * N clients, each with its own user JWT, and each subscribes its inbox and its region's
 * notices as an agent does, then reads the server's RSS from /proc. Cases:
 * - `bare`: a user JWT without permission lists (everything allowed);
 * - `before`: the agent's 23 publish + 2 subscribe patterns up to this change (kept here
 *   as a literal, for comparison only);
 * - `now`: the agent's lists as `permissionsOf` gives them today;
 * - `floor`: only its acks, inbox and notices (the least any agent user could carry).
 *
 * `--cases bare,now` picks cases; `--profile <dir>` also writes each server's heap profile
 * there (`heap-<case>.pb.gz`, read with `go tool pprof -top -sample_index=inuse_space`).
 * `--leaf` connects the clients to a leaf node of a one-node hub instead, as agents of a
 * large region do (README, "Large regions: leaf nodes"), and reads both servers' RSS.
 *
 * Prints one row per case: the pattern count and the RSS per connection (RSS with N
 * clients minus RSS before the first, over N; with `--leaf`, the leaf's and the hub's).
 * At most 5 000 clients.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Algorithms, encodeUser, fmtCreds } from "@nats-io/jwt";
import { createUser, fromSeed } from "@nats-io/nkeys";
import { inboxPrefixOf, permissionsOf, type RolePermissions, Subjects } from "@atlas/core";
import { type AtlasNats, connectAtlas } from "@atlas/store";
import { reservePort, startNatsCluster, startNatsServer, TestAuth } from "@atlas/testkit";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    settle: { type: "string", default: "3" },
    cases: { type: "string", default: "bare,before,now,floor" },
    profile: { type: "string" },
    leaf: { type: "boolean", default: false },
  },
});
const n = Number(values.clients);
if (!Number.isInteger(n) || n < 1 || n > 5_000) {
  throw new TypeError(`Cannot run with --clients ${values.clients}: pass an integer 1-5000`);
}
const settleMs = Number(values.settle) * 1_000;
const REGION = "cost";
const log = (m: string) => console.error(`connection_cost: ${m}`);

/** The agent's lists before they were cut to message gets (for comparison only). */
function beforePermissions(region: string, agent: string): RolePermissions {
  const streamRead = (s: string) => [
    `$JS.API.STREAM.INFO.${s}`,
    `$JS.API.STREAM.MSG.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}.>`,
    `$JS.API.CONSUMER.CREATE.${s}`,
    `$JS.API.CONSUMER.CREATE.${s}.>`,
    `$JS.API.CONSUMER.INFO.${s}.>`,
    `$JS.API.CONSUMER.DELETE.${s}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${s}.>`,
    `$JS.FC.${s}.>`,
    `$JS.ACK.${s}.>`,
  ];
  const directRead = (s: string) => [
    `$JS.API.STREAM.INFO.${s}`,
    `$JS.API.DIRECT.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}.>`,
  ];
  const acks = `atlas.ack.${region}.${agent}.>`;
  return {
    pub: {
      allow: [
        acks,
        `$KV.atlas_agents.${region}.${agent}`,
        ...directRead(`KV_atlas_pointers_${region}`),
        ...directRead(`atlas_blobs_${region}`),
        ...directRead("KV_atlas_keys"),
        ...streamRead("OBJ_atlas_blobs"),
        `$JS.API.DIRECT.GET.atlas_acks.${acks}`,
      ],
      deny: [],
    },
    sub: { allow: [`_INBOX_agent.${region}.${agent}.>`, `atlas.notify.${region}.>`], deny: [] },
  };
}

type Case = { name: string; perms: (agent: string) => RolePermissions | undefined };
const allCases: Case[] = [
  { name: "bare", perms: () => undefined },
  { name: "before", perms: (a) => beforePermissions(REGION, a) },
  { name: "now", perms: (a) => permissionsOf({ kind: "agent", region: REGION, agent: a }) },
  {
    // The least any agent user could carry (its acks, inbox and notices): the floor of
    // per-user lists, for comparison only.
    name: "floor",
    perms: (a) => {
      const { sub } = permissionsOf({ kind: "agent", region: REGION, agent: a });
      return { pub: { allow: [Subjects.acksBy(REGION, a)], deny: [] }, sub };
    },
  },
];

const wanted = values.cases!.split(",");
const cases = allCases.filter((c) => wanted.includes(c.name));
if (cases.length !== wanted.length) {
  throw new TypeError(
    `Cannot run cases ${values.cases}: pick from ${allCases.map((c) => c.name).join(",")}`,
  );
}
const profileDir = values.profile;
if (profileDir) await Deno.mkdir(profileDir, { recursive: true });

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = status.match(/^VmRSS:\s+(\d+) kB/m);
  if (!m) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

async function creds(auth: TestAuth, agent: string, perms?: RolePermissions): Promise<string> {
  const user = createUser();
  const signer = fromSeed(new TextEncoder().encode(auth.setup.atlas.signingSeed));
  const jwt = await encodeUser(
    `agent.${REGION}.${agent}`,
    user,
    auth.setup.atlas.publicKey,
    perms ? { pub: perms.pub, sub: perms.sub } : {},
    { algorithm: Algorithms.v2, signer },
  );
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

const rows: Record<string, unknown>[] = [];
for (const c of cases) {
  const auth = await TestAuth.create();
  const profPort = profileDir ? reservePort() : undefined;
  await using cluster = values.leaf
    ? await startNatsCluster({ nodes: 1, leafNodes: 1, region: REGION, auth })
    : undefined;
  await using single = cluster ? undefined : await startNatsServer({
    serverName: `cost-${c.name}`,
    auth,
    ...(profPort ? { extraConfig: `prof_port: ${profPort}` } : {}),
  });
  // The server the clients connect to, and (with --leaf) the hub behind it.
  const server = cluster ? cluster.leaves[0]! : single!;
  const hub = cluster?.servers[0];
  const pid = server.pid!;
  const issued: string[] = [];
  for (let i = 0; i < n; i++) issued.push(await creds(auth, `a${i}`, c.perms(`a${i}`)));
  const patterns = c.perms("a0");
  await new Promise((r) => setTimeout(r, settleMs));
  const before = rssKiB(pid);
  const hubBefore = hub ? rssKiB(hub.pid!) : 0;
  const clients: AtlasNats[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const nats = await connectAtlas(server.url, { credentials: issued[i]!, timeoutMs: 10_000 });
      clients.push(nats);
      // What an agent holds: its inbox (nats.js's request mux) and its region's notices.
      const inbox = inboxPrefixOf({ kind: "agent", region: REGION, agent: `a${i}` });
      nats.nc.subscribe(`${inbox}.mux.*`, { callback: () => {} });
      nats.nc.subscribe(Subjects.notifyRegion(REGION), { callback: () => {} });
      if (i % 100 === 99) await nats.nc.flush();
    }
    for (const nats of clients) await nats.nc.flush();
    await new Promise((r) => setTimeout(r, settleMs));
    const after = rssKiB(pid);
    const hubAfter = hub ? rssKiB(hub.pid!) : 0;
    if (profPort) {
      // Read with `go tool pprof -top -sample_index=inuse_space <file>`.
      const heap = await fetch(`http://127.0.0.1:${profPort}/debug/pprof/heap`);
      await Deno.writeFile(`${profileDir}/heap-${c.name}.pb.gz`, await heap.bytes());
    }
    const row = {
      case: c.name,
      clients: n,
      pubPatterns: patterns?.pub.allow.length ?? 0,
      subPatterns: patterns?.sub.allow.length ?? 0,
      rssBeforeKiB: before,
      rssAfterKiB: after,
      perConnectionKiB: Math.round(((after - before) / n) * 10) / 10,
      ...(hub ? { hubPerConnectionKiB: Math.round(((hubAfter - hubBefore) / n) * 10) / 10 } : {}),
    };
    log(JSON.stringify(row));
    rows.push(row);
  } finally {
    for (const nats of clients) await nats.nc.close().catch(() => {});
  }
}
console.table(rows);
