/**
 * `deno task bench:rollout [--agents 10] [--rounds 3]`: how long a three-region canary
 * takes through the real coordinators, with a preflight stage and without, in one run.
 *
 * One nats-server, the control plane, a coordinator per region (stepping every 200 ms)
 * and `--agents` real agents per region in this process. Each round publishes a new
 * version and rolls it out (canary 30 % of the first region, then all of it, then each
 * further region; no bake), alternating with and without `preflight`; the time is from the
 * start call to the rollout record's `succeeded`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { RolloutRecord } from "@atlas/core";
import { startNatsServer } from "@atlas/testkit";
import { runCoordinators, startTestAgents, startTestControl } from "../tests/harness.ts";
import { ms, summarize, table } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    agents: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
  },
});
const perRegion = Number(values.agents);
const rounds = Number(values.rounds);
const regions = ["us-east", "eu-west", "ap-south"];

await using server = await startNatsServer({ jetstream: true });
await using t = await startTestControl([server.url], { regions });
const agents = await startTestAgents(
  t,
  regions.flatMap((region) =>
    Array.from({ length: perRegion }, (_, i) => ({
      id: `${region}-${i}`,
      region,
      nats: [server.url],
      heartbeatSeconds: 1,
    }))
  ),
  () => {},
);
const stop = await runCoordinators([server.url], t, regions);
try {
  await t.expect("PUT", "/v1/configs/web", {}, 201);
  await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":0}' }, 201);
  await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
  const times: Record<"with" | "without", number[]> = { with: [], without: [] };
  let version = 1;
  for (let round = 0; round < rounds * 2; round++) {
    const preflight = round % 2 === 0;
    version++;
    await t.expect("POST", "/v1/configs/web/versions", { content: `{"v":${version}}` }, 201);
    const started = performance.now();
    const rollout = await t.expect<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
      version,
      strategy: { name: "canary", canaryPercent: 30, bakeSeconds: 0 },
      regions,
      preflight,
    }, 201);
    for (;;) {
      const r = await t.expect<RolloutRecord>("GET", `/v1/rollouts/${rollout.id}`);
      if (r.state === "succeeded") break;
      if (r.state !== "running") {
        throw new Error(`rollout ${r.id} ended ${r.state}: ${r.transitions.at(-1)?.reason}`);
      }
      await new Promise((res) => setTimeout(res, 25));
    }
    const took = performance.now() - started;
    times[preflight ? "with" : "without"].push(took);
    console.log(
      `round ${round + 1}: v${version} ${preflight ? "with" : "without"} preflight ${ms(took)} ms`,
    );
  }
  console.log(
    `\nThree-region canary (30 % of ${regions[0]}, then all, then each region; no bake), ` +
      `${perRegion} agents per region, coordinators stepping every 200 ms:\n`,
  );
  console.log(table(
    ["rollout", "stages", "rounds", "p50", "max"],
    (["without", "with"] as const).map((k) => {
      const s = summarize(times[k]);
      return [
        `${k} preflight`,
        String(regions.length + 1 + (k === "with" ? 1 : 0)),
        String(times[k].length),
        ms(s.p50),
        ms(s.max),
      ];
    }),
  ));
} finally {
  await stop();
  await Promise.all(agents.map((a) => a.agent.close()));
}
