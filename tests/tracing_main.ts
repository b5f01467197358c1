/**
 * The traced side of `tracing_test.ts`, run as its own process because Deno turns its
 * OpenTelemetry on at start (`OTEL_DENO=true`): a control plane, a coordinator and an
 * agent in one process over the nats-server named by the arguments; it activates v1, then
 * rolls out v2 (immediate), waits for the agent to apply each, and exits (Deno flushes the
 * spans on exit). Prints the rollout id on stdout; its logs on failure.
 *
 * Usage: `deno run -A tests/tracing_main.ts nats://127.0.0.1:4222`
 */
import type { AuthSetup, RolloutRecord } from "@atlas/core";
import { type HasLog, TestAuth, useAuth, waitFor } from "@atlas/testkit";
import { runCoordinators, startTestAgents, startTestControl } from "./harness.ts";

const urls = Deno.args;
// The test's servers run with auth: its setup comes in ATLAS_TEST_AUTH.
const auth = TestAuth.from(JSON.parse(Deno.env.get("ATLAS_TEST_AUTH")!) as AuthSetup);
useAuth(urls, auth);
const logs: HasLog[] = [];
await using t = await startTestControl(urls, { regions: ["us-east"] });
logs.push(t);
const [web] = await startTestAgents(t, [
  {
    id: "web-1",
    region: "us-east",
    nats: urls,
    heartbeatSeconds: 1,
    configs: { web: { reload: "true" } },
  },
], (l) => logs.push(l));
const stop = await runCoordinators(urls, t, ["us-east"], (l) => logs.push(l));
try {
  await t.expect("PUT", "/v1/configs/web", {}, 201);
  await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":1}' }, 201);
  await t.expect("POST", "/v1/configs/web/versions", { content: '{"v":2}' }, 201);
  await t.expect("POST", "/v1/configs/web/activate", { version: 1 });
  await waitFor("v1 applied", () => web!.agent.stateOf("web").applied?.version === 1);
  const rollout = await t.expect<RolloutRecord>("POST", "/v1/configs/web/rollouts", {
    version: 2,
    strategy: { name: "immediate" },
    regions: ["us-east"],
  }, 201);
  await waitFor("v2 applied", () => web!.agent.stateOf("web").applied?.version === 2);
  console.log(JSON.stringify({ rolloutId: rollout.id }));
} catch (e) {
  for (const l of logs) console.error(`--- ${l.name}\n${await l.logTail()}`);
  throw e;
} finally {
  await stop();
  await web!.agent.close();
}
