/**
 * Liveness from alive pings, end to end (core/liveness.ts): a SIGKILLed agent (no goodbye)
 * is judged gone once its pings stop, while its record is still fresh; an agent that pings
 * is never gone however old its record; a takeover does not flip the fleet to gone.
 * Short `aliveSeconds` (1 s: gone after 3 × 1 + 5 = 8 s of silence); waits on conditions.
 */
import assert from "node:assert/strict";
import {
  agentIsStale,
  agentKey,
  AgentRecord,
  aliveWindowMs,
  Buckets,
  generateSigningKey,
  Signer,
} from "@atlas/core";
import { RegionCoordinator } from "@atlas/coordinator";
import { livenessSummary, natsTest, waitFor } from "@atlas/testkit";
import type { AtlasNats } from "@atlas/store";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

const REGION = "us-east";

async function record(nats: AtlasNats, id: string): Promise<AgentRecord | undefined> {
  const e = await (await nats.kv(Buckets.agents)).get(agentKey(REGION, id));
  return e?.operation === "PUT" ? AgentRecord.parse(e.json()) : undefined;
}

const summary = (nats: AtlasNats) => livenessSummary(nats, REGION);

natsTest(
  "a SIGKILLed agent is gone after its pings stop while its record is fresh; a live one never",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: [REGION] });
    ctx.addLog(t);
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    const [live] = await startTestAgents(t, [
      { id: "live", region: REGION, nats: ctx.urls, aliveSeconds: 1, heartbeatSeconds: 600 },
    ], ctx.addLog);
    // The doomed agent runs as a process, so it can be SIGKILLed (no goodbye).
    const dir = `${t.dir}/doomed`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/agent.creds`,
      (await ctx.auth.creds({ kind: "agent", region: REGION, agent: "doomed" }))!,
    );
    await Deno.writeTextFile(
      `${dir}/agent.json`,
      JSON.stringify({
        id: "doomed",
        region: REGION,
        nats: ctx.urls,
        credentials: `${dir}/agent.creds`,
        stateDir: `${dir}/state`,
        trustedKeys: t.keysFile,
        aliveSeconds: 1,
        heartbeatSeconds: 600,
        configs: { web: { path: `${dir}/web.json` } },
      }),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../agent/main.ts", import.meta.url).pathname, "--config"]
        .concat(`${dir}/agent.json`),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const stop = await runCoordinators(ctx.urls, t, [REGION], ctx.addLog);
    try {
      await waitFor("the doomed agent's record", () => record(ctx.nats, "doomed"));
      const stale = async (id: string) => {
        const { agents } = await t.expect<{ agents: { id: string; stale: boolean }[] }>(
          "GET",
          `/v1/agents?region=${REGION}`,
        );
        return agents.find((a) => a.id === id)?.stale;
      };
      await waitFor(
        "both agents known live",
        async () => (await stale("doomed")) === false && (await stale("live")) === false,
      );
      child.kill("SIGKILL");
      await child.status;

      await waitFor(
        "the control plane says the SIGKILLed agent is gone",
        async () => (await stale("doomed")) === true,
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      const doomed = (await record(ctx.nats, "doomed"))!;
      assert.equal(doomed.leftAt, undefined, "no goodbye");
      assert.equal(
        agentIsStale(doomed, Date.now()),
        false,
        "by its record's age alone (3 × 600 s + 5 s) it would still be alive",
      );
      const gone = (await summary(ctx.nats))!.gone;
      assert.deepEqual(Object.keys(gone), ["doomed"], "the leader's summary names it alone");
      const status = await t.expect<{ regions: { region: string; agents: { gone: string[] } }[] }>(
        "GET",
        "/v1/configs/web/status",
      );
      const here = status.regions.find((r) => r.region === REGION);
      assert.deepEqual(here?.agents.gone, ["doomed"], JSON.stringify(status));

      // The live agent's record ages past the alive window; its pings keep it alive.
      await waitFor("the live agent's record is older than the alive window", async () => {
        const r = await record(ctx.nats, "live");
        return r !== undefined && Date.now() - Date.parse(r.heartbeatAt) > aliveWindowMs(1);
      }, { timeoutMs: 30_000 });
      assert.equal(await stale("live"), false, "pinging: never gone");
      assert.ok(!("live" in (await summary(ctx.nats))!.gone));
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await stop();
      await live!.agent.close();
    }
  },
);

natsTest(
  "a coordinator that just started or took over does not judge the fleet gone",
  async (ctx) => {
    await using t = await startTestControl(ctx.urls, { regions: [REGION] });
    ctx.addLog(t);
    const agents = await startTestAgents(
      t,
      ["a1", "a2"].map((id) => ({
        id,
        region: REGION,
        nats: ctx.urls,
        aliveSeconds: 1,
        heartbeatSeconds: 600,
      })),
      ctx.addLog,
    );
    // A host whose pings nobody hears (say, beyond a partition): its record is 60 s old.
    const at = new Date(Date.now() - 60_000).toISOString();
    await (await ctx.nats.kv(Buckets.agents)).put(
      agentKey(REGION, "quiet"),
      JSON.stringify(
        AgentRecord.parse({
          id: "quiet",
          region: REGION,
          hostname: "quiet.local",
          pid: 1,
          startedAt: at,
          heartbeatAt: at,
          heartbeatSeconds: 600,
          aliveSeconds: 1,
          configs: {},
        }),
      ),
    );
    const signer = new Signer(generateSigningKey());
    const replica = async (name: string) =>
      await RegionCoordinator.create(
        await ctx.connect({ kind: "coordinator", region: REGION }),
        signer,
        { region: REGION, replica: name, log: () => {}, leaseTtlMs: 2_000 },
      );
    const a = await replica("a");
    const b = await replica("b");
    // b listens from here: only after a full window may its silence count (core/liveness.ts).
    const bListensFrom = Date.now();
    try {
      await a.step();
      assert.ok(a.lease.isLeader);
      const first = (await waitFor("a's first summary", () => summary(ctx.nats)))!;
      assert.deepEqual(
        first.gone,
        {},
        "a coordinator that just started judges by records: nobody is gone yet",
      );
      await waitFor("a judges the quiet host gone after a full window", async () => {
        await a.step();
        return Object.keys((await summary(ctx.nats))?.gone ?? {}).join() === "quiet";
      }, { timeoutMs: 30_000, intervalMs: 200 });

      // b too must have heard pings for a full window, or it judges by records (correctly),
      // and the quiet host's 60 s old record says alive.
      const bWindowLeft = bListensFrom + aliveWindowMs(1) - Date.now();
      if (bWindowLeft > 0) await new Promise((r) => setTimeout(r, bWindowLeft + 200));
      await a.close(); // releases the lease: b takes over
      await waitFor("b leads", async () => {
        await b.step();
        return b.lease.isLeader;
      });
      const taken = (await summary(ctx.nats))!;
      assert.deepEqual(Object.keys(taken.gone), ["quiet"], "the pinging agents stay alive");
      assert.ok(Date.parse(taken.at) >= Date.parse(first.at));
    } finally {
      await a.close();
      await b.close();
      await Promise.all(agents.map((x) => x.agent.close()));
    }
  },
);
