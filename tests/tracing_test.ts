/**
 * Traces as an OTLP collector receives them: a process with `OTEL_DENO=true` (a control
 * plane, a coordinator and an agent, `tracing_main.ts`) activates a version and rolls out
 * the next; a receiver on 127.0.0.1 takes the OTLP/HTTP JSON export, and the test follows
 * parent span ids from the API call to the agent's ack, and from a rollout stage to it.
 */
import assert from "node:assert/strict";
import { natsTest, waitFor } from "@atlas/testkit";

/** A span as OTLP/JSON carries it (the fields read here). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  links?: { traceId: string; spanId: string }[];
  attributes?: { key: string; value: Record<string, unknown> }[];
}

interface OtlpExport {
  resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

/** Starts an OTLP/HTTP JSON receiver on 127.0.0.1 that keeps every span it is sent. */
function startReceiver() {
  const spans: OtlpSpan[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.text();
    if (new URL(req.url).pathname === "/v1/traces") {
      assert.equal(req.headers.get("content-type"), "application/json");
      const data = JSON.parse(body) as OtlpExport;
      for (const rs of data.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
    }
    return Response.json({});
  });
  return {
    spans,
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** An attribute's value as a string (OTLP/JSON may send an intValue as a number or string). */
function attr(span: OtlpSpan, key: string): string | undefined {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v && String(Object.values(v)[0]);
}

/** The one span named `name` in `trace` whose parent is `parent`. */
function childOf(spans: OtlpSpan[], parent: OtlpSpan, name: string): OtlpSpan {
  const found = spans.filter((s) =>
    s.name === name && s.traceId === parent.traceId && s.parentSpanId === parent.spanId
  );
  assert.equal(
    found.length,
    1,
    `one ${name} under ${parent.name}; spans of the trace: ` +
      JSON.stringify(
        spans.filter((s) => s.traceId === parent.traceId).map((s) => [s.name, s.parentSpanId]),
      ),
  );
  return found[0]!;
}

/** Follows `span`'s parents: true when `ancestor` is one of them. */
function descends(spans: OtlpSpan[], span: OtlpSpan, ancestor: OtlpSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let at: OtlpSpan | undefined = span;
  for (let hops = 0; at && hops < 32; hops++) {
    if (at.spanId === ancestor.spanId) return true;
    at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined;
  }
  return false;
}

/** The agent's side of one pointer: apply → verify, fetch, write, reload, ack, under `notice`. */
function assertAgentChain(spans: OtlpSpan[], notice: OtlpSpan, version: number): void {
  const apply = childOf(spans, notice, "atlas.agent.apply");
  assert.equal(attr(apply, "atlas.agent"), "web-1");
  assert.equal(attr(apply, "atlas.via"), "notice");
  const fetched = childOf(spans, apply, "atlas.agent.fetch");
  assert.equal(attr(fetched, "atlas.version"), String(version));
  assert.ok(
    spans.some((s) => s.name === "atlas.agent.verify" && s.parentSpanId === apply.spanId),
    "the apply verifies under its span",
  );
  childOf(spans, apply, "atlas.agent.write");
  childOf(spans, apply, "atlas.agent.reload");
  const ack = childOf(spans, apply, "atlas.agent.ack");
  assert.equal(attr(ack, "atlas.status"), "applied");
  assert.equal(attr(ack, "atlas.version"), String(version));
}

natsTest("a trace runs from the activation call to the agent's ack", async (ctx) => {
  await using receiver = startReceiver();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./tracing_main.ts", import.meta.url).pathname, ...ctx.urls],
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "atlas-tracing-test",
      // The servers' operator and accounts, so the child connects each part as its role.
      ATLAS_TEST_AUTH: JSON.stringify(ctx.auth.setup),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.ok(out.success, `tracing_main failed:\n${dec.decode(out.stderr)}`);
  const { rolloutId } = JSON.parse(dec.decode(out.stdout).trim().split("\n").at(-1)!);
  const spans = receiver.spans;

  // The activation: API call → pointer write → notice → the agent's apply → ack.
  const api = await waitFor(
    "the activation call's span",
    () => spans.find((s) => s.name === "POST /v1/configs/:name/activate"),
  );
  assert.equal(attr(api, "http.route"), "/v1/configs/:name/activate");
  assert.equal(attr(api, "atlas.config"), "web");
  assert.equal(attr(api, "atlas.version"), "1");
  const write = await waitFor(
    "the activation's pointer write",
    () =>
      spans.find((s) =>
        s.name === "atlas.pointer.write" && attr(s, "atlas.region") === "us-east" &&
        s.traceId === api.traceId && descends(spans, s, api)
      ),
  );
  const notice = childOf(spans, write, "atlas.notice.publish");
  assert.equal(attr(notice, "atlas.version"), "1");
  await waitFor(
    "the agent's ack of v1",
    () => spans.some((s) => s.name === "atlas.agent.ack" && s.traceId === api.traceId),
  );
  assertAgentChain(spans, notice, 1);

  // The rollout: its stage is a trace of its own, linked to the call that started it.
  const start = spans.find((s) => s.name === "POST /v1/configs/:name/rollouts");
  assert.ok(start, "the rollout call's span");
  const stage = spans.find((s) =>
    s.name === "atlas.rollout.stage" && attr(s, "atlas.rollout") === rolloutId
  );
  assert.ok(stage, "the rollout stage's span");
  assert.equal(stage.parentSpanId || undefined, undefined, "a stage starts its own trace");
  assert.ok(
    stage.links?.some((l) => l.traceId === start.traceId),
    "the stage links to the trace of the call that started the rollout",
  );
  const stageWrite = childOf(spans, stage, "atlas.pointer.write");
  const stageNotice = childOf(spans, stageWrite, "atlas.notice.publish");
  await waitFor(
    "the agent's ack of v2",
    () => spans.some((s) => s.name === "atlas.agent.ack" && s.traceId === stage.traceId),
  );
  assertAgentChain(spans, stageNotice, 2);
});
