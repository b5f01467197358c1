import assert from "node:assert/strict";
import { agentMetrics, metricsListen, serveMetrics } from "./metrics.ts";

Deno.test("--metrics-port and --metrics-host make a listen address, or a clear error", () => {
  assert.equal(metricsListen({}), undefined);
  assert.deepEqual(metricsListen({ "metrics-port": "9464" }), {
    hostname: "127.0.0.1",
    port: 9464,
  });
  assert.deepEqual(metricsListen({ "metrics-port": "0", "metrics-host": "0.0.0.0" }), {
    hostname: "0.0.0.0",
    port: 0,
  });
  for (const bad of ["", "x", "-1", "70000", "9464 "]) {
    assert.throws(() => metricsListen({ "metrics-port": bad }), /--metrics-port must be a port/);
  }
});

Deno.test("serveMetrics answers GET /metrics in the exposition format, 404 elsewhere", async () => {
  const metrics = agentMetrics();
  metrics.propagation.observe({ agent: "a1", config: "web", status: "applied" }, 0.02);
  const server = serveMetrics(metrics.registry, { port: 0 });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const res = await fetch(`${base}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(
      text,
      /atlas_agent_propagation_seconds_count\{agent="a1",config="web",status="applied"\} 1/,
    );
    const other = await fetch(`${base}/`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
  } finally {
    await server.shutdown();
  }
});
