/**
 * Metric gates against a real Prometheus scraping a small service whose error counter the
 * test raises: a breach during the bake rolls the region back quarantining nobody; a quiet
 * service lets the rollout succeed; a query Prometheus refuses holds the stage, its error
 * in the note.
 */
import assert from "node:assert/strict";
import { natsTest, startPrometheus, waitFor } from "@atlas/testkit";
import { Buckets, MetricGate, planStages, Strategy } from "@atlas/core";
import { coordinatorMetrics, listKeys } from "@atlas/store";
import { type MetricSource, PrometheusSource } from "./prometheus_source.ts";
import {
  coordinator,
  FakeClock,
  readOr,
  rollout,
  startFleet,
  startRollout,
  stepUntil,
  succeeded,
  V1,
  V2,
} from "./test_helpers.ts";

/** A service exposing an error and a request counter for us-east, raised by the test. */
function startService(): {
  counts: { errors: number; requests: number };
  server: Deno.HttpServer<Deno.NetAddr>;
} {
  const counts = { errors: 0, requests: 0 };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(
        "# TYPE app_errors_total counter\n" +
          `app_errors_total{region="us-east"} ${counts.errors}\n` +
          "# TYPE app_requests_total counter\n" +
          `app_requests_total{region="us-east"} ${counts.requests}\n`,
        { headers: { "content-type": "text/plain; version=0.0.4" } },
      ),
  );
  return { counts, server };
}

const ERRORS = 'sum(increase(app_errors_total{region="$region"}[10s]))';
const ERRORS_US = ERRORS.replace("$region", "us-east");

natsTest(
  "a metric gate rolls a region back when the service's errors rise during the bake",
  async (ctx) => {
    const service = startService();
    try {
      await using prom = await startPrometheus({
        jobs: [{ job: "app", targets: [`127.0.0.1:${service.server.addr.port}`] }],
      });
      const source = PrometheusSource.fromUrl(prom.url);
      // Two scrapes: increase() has a value.
      await waitFor("prometheus has the error counter", async () => {
        const got = await prom.query(ERRORS_US);
        return got.length === 1 && got[0]!.value === 0;
      }, { timeoutMs: 30_000 });

      // A mixed region: one host manages web, one does not.
      await using f = await startFleet(ctx, [
        { id: "web-0", region: "us-east", configs: { web: {} } },
        { id: "cache-0", region: "us-east", configs: { cache: {} } },
      ]);
      const clock = new FakeClock();
      const metrics = coordinatorMetrics();
      await using us = await coordinator(ctx, "us-east", clock, {
        metricSource: source,
        metrics,
      });
      const gate = MetricGate.parse({ query: ERRORS, max: 5, forSeconds: 1 });
      const plan = (bakeSeconds: number, metricGates = [gate]) =>
        planStages(
          Strategy.parse({ name: "canary", canaryPercent: 50, bakeSeconds }),
          ["us-east"],
          { ackTimeoutSeconds: 20, metrics: metricGates },
        );

      await startRollout(ctx.nats, "r-errors", plan(3600));
      await stepUntil("the canary bakes", [us], async () => {
        const r = await rollout(ctx.nats, "r-errors");
        assert.equal(r.state, "running", r.transitions.at(-1)?.reason);
        return r.regions["us-east"]!.healthySince !== undefined;
      }, { clock, advanceMs: 0, timeoutMs: 30_000 });
      assert.equal(await readOr(f.get("web-0").files.web!), V2, "the canary took v2");

      service.counts.errors += 20;
      service.counts.requests += 100;
      await stepUntil("rolled back on the errors", [us], async () => {
        return (await rollout(ctx.nats, "r-errors")).state === "rolled_back";
      }, { clock, advanceMs: 200, timeoutMs: 30_000 });
      const reason = (await rollout(ctx.nats, "r-errors")).transitions.at(-1)!.reason;
      assert.match(
        reason,
        /^metric gate breached in us-east at stage 1: sum\(increase\(app_errors_total\{region="us-east"\}\[10s\]\)\) = [\d.]+, not <= 5 for 1 s; no agent was quarantined$/,
      );
      assert.deepEqual(await listKeys(ctx.nats, Buckets.quarantine), [], "nobody quarantined");
      await waitFor(
        "web-0 back on v1",
        async () => (await readOr(f.get("web-0").files.web!)) === V1,
      );
      assert.equal(await readOr(f.get("cache-0").files.cache!), V1, "cache-0 untouched");
      assert.match(
        await metrics.registry.metrics(),
        /atlas_rollout_gate_results_total\{region="us-east",gate="metrics",result="breach"\} 1/,
      );

      // Quiet again: the same gate lets the next rollout through.
      await waitFor("the errors leave the window", async () => {
        const got = await prom.query(ERRORS_US);
        return got[0]?.value === 0;
      }, { timeoutMs: 30_000 });
      await startRollout(ctx.nats, "r-quiet", plan(2));
      await stepUntil("succeeded with the service quiet", [us], succeeded(ctx.nats, "r-quiet"), {
        clock,
        advanceMs: 200,
        timeoutMs: 40_000,
      });
      await waitFor("web-0 on v2", async () => (await readOr(f.get("web-0").files.web!)) === V2);
      assert.equal(await readOr(f.get("cache-0").files.cache!), V1, "cache-0 untouched");
      assert.match(
        await metrics.registry.metrics(),
        /atlas_rollout_gate_results_total\{region="us-east",gate="metrics",result="pass"\} [1-9]/,
      );

      // A query Prometheus refuses holds the stage and says why; it is never a pass.
      await startRollout(
        ctx.nats,
        "r-bad-query",
        plan(0, [MetricGate.parse({ query: "sum(app_errors_total", max: 1 })]),
        "cache",
      );
      await stepUntil("the stage waits on the refused query", [us], async () => {
        const r = await rollout(ctx.nats, "r-bad-query");
        assert.equal(r.state, "running", r.transitions.at(-1)?.reason);
        return /waiting on metric gate sum\(app_errors_total: query failed: Prometheus refused the query \(bad_data\)/
          .test(r.regions["us-east"]!.note ?? "");
      }, { clock, advanceMs: 100, timeoutMs: 30_000 });
      const r = await rollout(ctx.nats, "r-bad-query");
      assert.equal(r.stage, 0);
      assert.equal(r.regions["us-east"]!.healthySince, undefined, "no bake on a failed query");
    } finally {
      await service.server.shutdown();
    }
  },
);

Deno.test("the Prometheus source reports what went wrong, never a pass", async () => {
  assert.throws(() => PrometheusSource.fromUrl("prometheus:9090"), /http\(s\) base URL/);
  assert.throws(() => PrometheusSource.fromUrl("http://p:9090/?x=1"), /without query/);
  assert.throws(() => PrometheusSource.fromUrl("not a url"), /give its base URL/);
  // Nothing listens on port 9 of localhost: a reading with the error, quickly.
  const down = await PrometheusSource.fromUrl("http://127.0.0.1:9", { timeoutMs: 2_000 })
    .read("up");
  assert.equal(down.ok, false);
  assert.match(!down.ok ? down.error : "", /cannot reach http:\/\/127\.0\.0\.1:9|did not answer/);
  // A server that is not Prometheus.
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("nope", { status: 404 }),
  );
  const other = await PrometheusSource.fromUrl(`http://127.0.0.1:${server.addr.port}`).read("up");
  assert.deepEqual(other, {
    ok: false,
    error: `http://127.0.0.1:${server.addr.port} answered HTTP 404, not Prometheus JSON`,
  });
});

Deno.test("a coordinator given a Prometheus URL it cannot use exits 2 saying so", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./main.ts", import.meta.url).pathname,
      "--region",
      "us-east",
      "--signing-key",
      "/nonexistent/signing.key",
      "--prometheus-url",
      "ftp://prometheus:9090",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, stderr);
  assert.match(stderr, /error: --prometheus-url: .*give an http\(s\) base URL/);
});

natsTest("a slow Prometheus holds a step at most its budget: later gates wait", async (ctx) => {
  await using _f = await startFleet(ctx, [
    { id: "web-0", region: "us-east", configs: { web: {} } },
    { id: "cache-0", region: "us-east", configs: { cache: {} } },
  ]);
  const asked: string[] = [];
  // Answers every query, in bound, after 1.2 s: more than a step's budget (1 s).
  const slow: MetricSource = {
    read: async (query) => {
      asked.push(query);
      await new Promise((r) => setTimeout(r, 1_200));
      return { ok: true, samples: [{ labels: {}, value: 0 }] };
    },
  };
  const clock = new FakeClock();
  await using us = await coordinator(ctx, "us-east", clock, { metricSource: slow });
  for (const config of ["web", "cache"]) {
    await startRollout(
      ctx.nats,
      `r-slow-${config}`,
      planStages(Strategy.parse({ name: "immediate" }), ["us-east"], {
        ackTimeoutSeconds: 600,
        metrics: [MetricGate.parse({ query: `slow_${config}`, max: 1 })],
      }),
      config,
    );
  }
  await stepUntil("one rollout's gate is not asked in a step", [us], async () => {
    const notes = await Promise.all(
      ["web", "cache"].map(async (c) =>
        (await rollout(ctx.nats, `r-slow-${c}`)).regions["us-east"]!.note ?? ""
      ),
    );
    return notes.some((n) => /not asked this step: Prometheus queries took over 1000 ms/.test(n));
  }, { clock, advanceMs: 0, timeoutMs: 30_000 });
  assert.ok(asked.length > 0);
});
