/**
 * The metrics as Prometheus reads them: a rollout on a mixed fleet (two agents manage the
 * config, one manages nothing), then every endpoint's output checked by Debian's
 * `promtool check metrics` and read for the numbers an operator graphs.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";
import { agentMetrics, coordinatorMetrics } from "@atlas/store";
import type { RolloutRecord } from "@atlas/core";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** `promtool check metrics` of `text`: its complaints (empty when it has none). */
async function promtoolCheck(text: string): Promise<string> {
  const child = new Deno.Command(PROMTOOL!, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return out.success ? dec.decode(out.stdout).trim() : `failed: ${dec.decode(out.stderr)}`;
}

/** The value of the series `name{labels…}` in an exposition (labels in any order). */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_:]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[3] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

natsTest("a rollout on a mixed fleet shows in metrics promtool accepts", async (ctx) => {
  await using t = await startTestControl(ctx.urls, { regions: ["us-east"] });
  ctx.addLog(t);
  const agentsMetrics = agentMetrics();
  const coordinatorsMetrics = coordinatorMetrics();
  const agents = await startTestAgents(t, [
    { id: "web-1", region: "us-east", nats: ctx.urls, heartbeatSeconds: 1, metrics: agentsMetrics },
    { id: "web-2", region: "us-east", nats: ctx.urls, heartbeatSeconds: 1, metrics: agentsMetrics },
    {
      id: "batch",
      region: "us-east",
      nats: ctx.urls,
      heartbeatSeconds: 1,
      configs: {},
      metrics: agentsMetrics,
    },
  ], ctx.addLog);
  const stop = await runCoordinators(ctx.urls, t, ["us-east"], ctx.addLog, {
    metrics: coordinatorsMetrics,
  });
  try {
    await t.expect("PUT", "/v1/configs/web", {}, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
    await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
    await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
    await waitFor(
      "v1 on both web hosts",
      () => agents.slice(0, 2).every((a) => a.agent.stateOf("web").applied?.version === 1),
    );
    const rollout = await t.expect<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
      version: 2,
      strategy: { name: "canary", canaryPercent: 50, bakeSeconds: 0 },
      regions: ["us-east"],
    }, 201);
    await waitFor(
      "rollout succeeded",
      async () =>
        (await t.expect<RolloutRecord>("GET", `/v1/rollouts/${rollout.id}`)).state === "succeeded",
    );
    // The drift view comes from heartbeats: wait for both web hosts to report v2.
    await waitFor(
      "heartbeats report v2",
      async () =>
        sample(await coordinatorsMetrics.registry.metrics(), "atlas_agents", {
          config: "web",
          version: "2",
        }) === 2,
    );

    const control = await (await fetch(`${t.url}/metrics`)).text();
    const coordinator = await coordinatorsMetrics.registry.metrics();
    const agent = await agentsMetrics.registry.metrics();

    // Coordinator: propagation of every applied ack since it started (the rollout's 2
    // hosts, each acking a candidate and then the promoted pointer), skew, stages, drift.
    const applied = { region: "us-east", config: "web", status: "applied" };
    assert.ok((sample(coordinator, "atlas_propagation_seconds_count", applied) ?? 0) >= 2);
    assert.ok((sample(coordinator, "atlas_acks_total", applied) ?? 0) >= 2);
    assert.ok(sample(coordinator, "atlas_ack_skew_seconds", { config: "web" }) !== undefined);
    assert.ok(
      (sample(coordinator, "atlas_rollout_stage_seconds_count", { result: "done" }) ?? 0) >= 2,
    );
    assert.equal(sample(coordinator, "atlas_rollbacks_total"), undefined, "no rollback happened");
    assert.equal(sample(coordinator, "atlas_coordinator_leader", { region: "us-east" }), 1);
    assert.equal(sample(coordinator, "atlas_coordinator_following", { region: "us-east" }), 1);
    // A few acks at a time: checked in place, none waiting, no thread started for them.
    const region = { region: "us-east" };
    assert.equal(sample(coordinator, "atlas_coordinator_ack_checks_pending", region), 0);
    assert.equal(sample(coordinator, "atlas_coordinator_ack_check_threads", region), 0);
    assert.equal(sample(coordinator, "atlas_coordinator_ack_check_cpu_seconds", region), 0);
    assert.equal(sample(coordinator, "atlas_agents", { config: "web", version: "1" }), undefined);
    // The batch host manages nothing: it is in no config's count.
    assert.doesNotMatch(coordinator, /batch/);
    // No agent ids on the coordinator's endpoint.
    assert.doesNotMatch(coordinator, /web-1|web-2/);

    // Agents: per agent, in their own process's endpoint.
    for (const id of ["web-1", "web-2"]) {
      assert.equal(sample(agent, "atlas_agent_applied_version", { agent: id, config: "web" }), 2);
      assert.ok(
        (sample(agent, "atlas_agent_applies_total", { agent: id, result: "applied" }) ?? 0) >= 2,
      );
      assert.ok((sample(agent, "atlas_agent_propagation_seconds_count", { agent: id }) ?? 0) >= 2);
    }
    assert.equal(
      sample(agent, "atlas_agent_applies_total", { agent: "batch", result: "applied" }),
      0,
    );

    // Control plane: API latency by route pattern, never by config name or agent id.
    assert.ok(
      (sample(control, "atlas_http_request_duration_seconds_count", {
        method: "POST",
        route: "/v1/configs/:name/rollouts",
        status: "201",
      }) ?? 0) >= 1,
    );
    assert.doesNotMatch(control, /route="\/v1\/configs\/web/);
    assert.equal(sample(control, "atlas_jetstream_write_failures_total"), 0);

    if (PROMTOOL) {
      for (
        const [what, text] of [["control", control], ["coordinator", coordinator], ["agent", agent]]
      ) {
        assert.equal(await promtoolCheck(text!), "", `promtool on the ${what}'s metrics`);
      }
    } else {
      console.warn("  promtool not installed (apt-get install prometheus): format not checked");
    }
  } finally {
    await stop();
    await Promise.all(agents.map((a) => a.agent.close()));
  }
}, { regions: ["us-east"] });
