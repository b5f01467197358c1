/**
 * `deno run -A scripts/idle_cost.ts [--agents 1000] [--window 60] [--agent '{"k":v}']
 * [--no-coordinator]`:
 * what idle agents cost nats-server. Starts a nats-server (no auth), the control plane, one
 * coordinator of the region and N agents in this process, applies one version, lets the
 * wave settle, then reads the server's CPU time (/proc) over a quiet window and prints it
 * as % of one core and µs per agent per second. `--agent` merges keys into every
 * agent.json (e.g. the old defaults `{"heartbeatSeconds":15,"reconcileSeconds":30}`).
 *
 * The window should span several heartbeat and reconcile periods (default 60 s); CPU time
 * is fairly robust to other load on the machine, wall-clock times are not.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createUser } from "@nats-io/nkeys";
import { AckIdentity, generateSigningKey, Signer, tokenFileEntry, Verifier } from "@atlas/core";
import { startNatsServer } from "@atlas/testkit";
import { startControl } from "@atlas/control";
import { connectAtlas } from "@atlas/store";
import { Agent, AgentConfigFile } from "@atlas/agent";
import { RegionCoordinator } from "@atlas/coordinator";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "1000" },
    window: { type: "string", default: "60" },
    settle: { type: "string", default: "20" },
    agent: { type: "string", default: "{}" },
    "no-coordinator": { type: "boolean", default: false },
  },
});
const n = Number(values.agents);
const windowS = Number(values.window);
const extra = JSON.parse(values.agent!) as Record<string, unknown>;
const REGION = "bench";
const CONFIG = "idle.cfg";
const TOKEN = "idle-token";
const log = (m: string) => console.error(`idle: ${m}`);

const root = await Deno.makeTempDir({ prefix: "atlas-idle-" });
const server = await startNatsServer({ serverName: "idle", auth: false });
const key = generateSigningKey();
const keyFile = `${root}/signing.key`;
await Deno.writeTextFile(keyFile, JSON.stringify(key));
const signer = new Signer(key);
const control = await startControl({
  nats: server.url,
  port: 0,
  signingKey: keyFile,
  tokens: [tokenFileEntry("idle", "admin", TOKEN)],
  regions: [REGION],
});
async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${control.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}
await api("PUT", `/v1/configs/${CONFIG}`, { description: "idle cost" });
const v = await api("POST", `/v1/configs/${CONFIG}/versions`, { content: '{"idle":1}' });
await api("POST", `/v1/configs/${CONFIG}/activate`, { version: v.version, regions: [REGION] });

// The region's coordinator (it follows the agent records and sends the beacon), unless
// --no-coordinator: then what the agents alone cost.
const coordNats = await connectAtlas(server.url, { name: "idle coordinator" });
const coordinator = values["no-coordinator"] ? undefined : await RegionCoordinator.create(
  coordNats,
  signer,
  { region: REGION, log: () => {} },
);
coordinator?.run(500);

const verifier = new Verifier([signer.trustedKey]);
const agents: Agent[] = [];
for (let i = 0; i < n; i += 50) {
  agents.push(
    ...await Promise.all(Array.from({ length: Math.min(50, n - i) }, async (_, j) => {
      const id = `agent-${i + j}`;
      const agent = await Agent.start(
        AgentConfigFile.parse({
          id,
          region: REGION,
          nats: server.url,
          stateDir: `${root}/${id}/state`,
          trustedKeys: "(in memory)",
          configs: { [CONFIG]: { path: `${root}/${id}/${CONFIG}.json` } },
          ...extra,
        }),
        {
          verifier,
          log: () => {},
          identity: new AckIdentity(new TextDecoder().decode(createUser().getSeed())),
        },
      );
      await agent.whenConnected();
      return agent;
    })),
  );
}
log(`${n} agents connected; settling ${values.settle} s`);
await new Promise((r) => setTimeout(r, Number(values.settle) * 1000));

async function serverCpuMicros(): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${server.pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}
const applied = agents.filter((a) => a.stateOf(CONFIG).applied).length;
const reconcilesBefore = agents.reduce((s, a) => s + a.stats.reconciles, 0);
const cpu0 = await serverCpuMicros();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, windowS * 1000));
const cpuMicros = (await serverCpuMicros()) - cpu0;
const seconds = (performance.now() - t0) / 1000;
const reconciles = agents.reduce((s, a) => s + a.stats.reconciles, 0) - reconcilesBefore;
const result = {
  agents: n,
  applied,
  agentJson: extra,
  coordinator: !values["no-coordinator"],
  windowSeconds: +seconds.toFixed(1),
  natsServerIdleCpuPercent: +((cpuMicros / (seconds * 1e6)) * 100).toFixed(2),
  natsServerMicrosPerAgentPerSecond: +(cpuMicros / n / seconds).toFixed(2),
  reconcilesPerAgentPerMinute: +((reconciles / n / seconds) * 60).toFixed(2),
};
console.log(JSON.stringify(result));

await Promise.all(agents.map((a) => a.close()));
await coordinator?.close();
await coordNats.close();
await control[Symbol.asyncDispose]();
await server.stop();
await Deno.remove(root, { recursive: true }).catch(() => {});
