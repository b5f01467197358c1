/**
 * A real Prometheus (Debian's) scrapes dev mode: every part's /metrics, the rules of
 * deploy/prometheus, and a PromQL query for the propagation histogram after a rollout.
 */
import assert from "node:assert/strict";
import { findPrometheus, reservePort, waitFor } from "@atlas/testkit";

const DEV = new URL("../scripts/dev.ts", import.meta.url).pathname;
const RULES = new URL("../deploy/prometheus/atlas.rules.yml", import.meta.url).pathname;

Deno.test("the shipped rules are valid for promtool", async () => {
  const out = await new Deno.Command("promtool", { args: ["check", "rules", RULES] }).output();
  assert.ok(
    out.success,
    new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout),
  );
  assert.match(new TextDecoder().decode(out.stdout), /SUCCESS: 10 rules found/);
});

/** Runs one promtool rule test (`promtool test rules`) of atlas.rules.yml; fails with its output. */
async function promtoolRuleTest(test: Record<string, unknown>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "atlas-rules-test-" });
  try {
    const tests = `${dir}/tests.yml`;
    const spec = { rule_files: [RULES], evaluation_interval: "1m", tests: [test] };
    await Deno.writeTextFile(tests, JSON.stringify(spec));
    const out = await new Deno.Command("promtool", { args: ["test", "rules", tests] }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text);
    assert.match(text, /SUCCESS/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a leader that does not follow its region alerts after 5 minutes, a standby never", async () => {
  // promtool's rule tests: us-east's leader never follows; eu-west's follows after 2 minutes;
  // ap-south's replica only stands by (no leader there is another alert's business).
  await promtoolRuleTest({
    interval: "1m",
    input_series: [
      { series: 'atlas_coordinator_leader{region="us-east"}', values: "1x10" },
      { series: 'atlas_coordinator_following{region="us-east"}', values: "0x10" },
      { series: 'atlas_coordinator_leader{region="eu-west"}', values: "1x10" },
      { series: 'atlas_coordinator_following{region="eu-west"}', values: "0 0 1x8" },
      { series: 'atlas_coordinator_leader{region="ap-south"}', values: "0x10" },
      { series: 'atlas_coordinator_following{region="ap-south"}', values: "0x10" },
    ],
    alert_rule_test: [
      { eval_time: "4m", alertname: "AtlasCoordinatorNotFollowing", exp_alerts: [] },
      {
        eval_time: "6m",
        alertname: "AtlasCoordinatorNotFollowing",
        exp_alerts: [{
          exp_labels: { severity: "warning", region: "us-east" },
          exp_annotations: {
            summary: "The leader of us-east does not follow its acks and agent records",
            description: "A new leader follows its region within seconds. Until it " +
              "does, each step reads every agent record from NATS, and its acks count " +
              'only once followed. Check its log for "cannot follow" and its connection ' +
              "to the region's JetStream.\n",
          },
        }],
      },
    ],
  });
});

Deno.test("acks waiting for their checks alert only when they stay over 1 000 for 5 minutes", async () => {
  // us-east's checks fall behind for good; eu-west has a wave's burst, cleared in a minute.
  await promtoolRuleTest({
    interval: "1m",
    input_series: [
      {
        series: 'atlas_coordinator_ack_checks_pending{region="us-east"}',
        values: "0 2000 4000 6000 8000 10000 12000 14000 16000 18000",
      },
      {
        series: 'atlas_coordinator_ack_checks_pending{region="eu-west"}',
        values: "0 9000 0 0 9000 0 0 0 0 0",
      },
    ],
    alert_rule_test: [
      { eval_time: "4m", alertname: "AtlasAckChecksBehind", exp_alerts: [] },
      {
        eval_time: "7m",
        alertname: "AtlasAckChecksBehind",
        exp_alerts: [{
          exp_labels: { severity: "warning", region: "us-east" },
          exp_annotations: {
            summary: "The coordinator of us-east falls behind checking its acks' signatures",
            description: "Over 1 000 acks have waited for their signature check for 5 " +
              "minutes: a wave's burst clears in seconds. Until checked, acks do not " +
              "count, and stages wait. Give the coordinator more --ack-check-threads " +
              "and the cores for them.\n",
          },
        }],
      },
    ],
  });
});

Deno.test({
  name: "Prometheus scrapes dev mode and graphs propagation per region after a rollout",
  ignore: !findPrometheus(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "atlas-dev-prom-" });
    const promPort = reservePort();
    const dev = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        DEV,
        "--port",
        "0",
        "--data-dir",
        dir,
        "--regions",
        "us-east",
        "--agents-per-region",
        "2",
        "--agent-http",
        "off",
        "--prometheus-port",
        `${promPort}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    for (const stream of [dev.stdout, dev.stderr]) {
      (async () => {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output += chunk;
      })().catch(() => {});
    }
    try {
      await waitFor("dev mode up", () => output.includes("Atlas dev mode is up"), {
        timeoutMs: 90_000,
      });
      const info = JSON.parse(await Deno.readTextFile(`${dir}/dev.json`));
      const token = (await Deno.readTextFile(`${dir}/admin.token`)).trim();
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${info.controlUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const json = await res.json();
        assert.ok(res.ok, `${method} ${path}: ${JSON.stringify(json)}`);
        return json;
      };
      const v1 = await Deno.readTextFile(new URL("../examples/demo.app.json", import.meta.url));
      const v2 = await Deno.readTextFile(new URL("../examples/demo.app.v2.json", import.meta.url));
      const first = await api("POST", "/v1/configs/demo.app/versions", { content: v1 });
      const second = await api("POST", "/v1/configs/demo.app/versions", { content: v2 });
      await api("POST", "/v1/configs/demo.app/activate", { version: first.version });
      // A rollout is refused until the region's coordinator leads: its metrics say when.
      await waitFor("the coordinator leads us-east", async () => {
        const res = await fetch(`http://${info.metrics["coordinator-us-east"]}/metrics`);
        return (await res.text()).includes('atlas_coordinator_leader{region="us-east"} 1');
      }, { timeoutMs: 30_000 });
      const rollout = await api("POST", "/v1/configs/demo.app/rollouts", {
        version: second.version,
        strategy: { name: "canary", canaryPercent: 50, bakeSeconds: 0 },
      });
      await waitFor(
        "rollout succeeded",
        async () => (await api("GET", `/v1/rollouts/${rollout.id}`)).state === "succeeded",
        {
          timeoutMs: 60_000,
        },
      );

      const prom = `http://127.0.0.1:${promPort}`;
      const query = async (expr: string) => {
        const res = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const body = await res.json();
        assert.equal(body.status, "success", JSON.stringify(body));
        return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
      };
      // Every part is scraped and up.
      const up = await waitFor("every target up", async () => {
        const r = await query("up");
        return r.length >= 3 && r.every((s) => s.value[1] === "1") && r;
      });
      assert.deepEqual(
        up.map((s) => s.metric.job).sort(),
        ["agents-us-east", "control", "coordinator-us-east"],
      );
      const p99 = await waitFor("propagation p99 per region", async () => {
        const r = await query(
          'histogram_quantile(0.99, sum by (le, region) (atlas_propagation_seconds_bucket{config="demo.app"}))',
        );
        return r.length === 1 && r;
      });
      assert.equal(p99[0]!.metric.region, "us-east");
      assert.ok(Number(p99[0]!.value[1]) > 0);
      const rules = await (await fetch(`${prom}/api/v1/rules`)).json();
      assert.ok(
        rules.data.groups.some((g: { name: string }) => g.name === "atlas-alerts"),
        "the shipped rules are loaded",
      );
      console.log(
        `  p99 propagation in us-east: ${(Number(p99[0]!.value[1]) * 1000).toFixed(0)} ms`,
      );
    } catch (e) {
      console.error(output.slice(-4_000));
      throw e;
    } finally {
      dev.kill("SIGTERM");
      await dev.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
