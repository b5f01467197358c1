import assert from "node:assert/strict";
import { headers } from "@nats-io/transport-node";
import {
  currentTraceParent,
  traced,
  tracedSync,
  traceHeaders,
  traceParentOf,
  tracingOn,
} from "./tracing.ts";

// `deno test` runs without OTEL_DENO: this is what every process gets by default. The spans
// themselves are checked over OTLP in tests/tracing_test.ts (a process with it on).

Deno.test("tracing is off without OTEL_DENO and builds nothing", async () => {
  assert.equal(Deno.env.get("OTEL_DENO"), undefined, "run this test without OTEL_DENO");
  assert.equal(tracingOn, false);
  assert.equal(await traced("x", () => Promise.resolve(7)), 7);
  assert.equal(tracedSync("x", () => 8), 8);
  await assert.rejects(traced("x", () => Promise.reject(new RangeError("kept"))), RangeError);
  assert.equal(traceHeaders(), undefined, "a notice is published without headers");
  assert.equal(currentTraceParent(), undefined);
  const h = headers();
  h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  assert.equal(traceParentOf(h), undefined, "a received context is not even read");
});
