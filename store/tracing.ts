/**
 * Tracing with OpenTelemetry: the one place that makes spans and carries their context
 * across NATS (W3C `traceparent` in message headers).
 *
 * Deno's built-in OpenTelemetry does the exporting (OTLP over HTTP, turned on with
 * `OTEL_DENO=true`, stable in Deno 2.x, no flag needed), so this module only uses
 * `@opentelemetry/api` to make spans; Deno also traces `Deno.serve` (the API call) and `fetch`.
 *
 * Invariant: tracing is decided once, at start, from the environment. When it is off (the
 * default), no span, context or header object is made: {@linkcode traced} calls its function
 * directly, {@linkcode traceHeaders} and {@linkcode traceParentOf} return undefined.
 *
 * Why the trace context is not in the pointer record: the pointer is signed, and agents of
 * older releases strip fields they do not know before verifying, so a new field would make
 * them refuse every pointer. An agent that takes a pointer from its reconcile (the notice was
 * lost) starts a trace of its own, named after the pointer's config and seq.
 *
 * @module
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";

function _envOn(): boolean {
  try {
    return Deno.env.get("OTEL_DENO") === "true";
  } catch {
    return false; // no env permission (a compiled agent limited to its own): off
  }
}

/**
 * True when this process exports spans (`OTEL_DENO=true` at start). Read once.
 *
 * @example
 * ```ts
 * if (tracingOn) console.log("exporting spans over OTLP");
 * ```
 */
export const tracingOn: boolean = _envOn();

const _tracer = tracingOn ? trace.getTracer("atlas") : undefined;

/** The kinds of span Atlas makes (OpenTelemetry's span kinds, by name). */
export const TraceKind = {
  internal: "internal",
  producer: "producer",
  consumer: "consumer",
} as const;
/** One of {@linkcode TraceKind}. */
export type TraceKind = typeof TraceKind[keyof typeof TraceKind];

const _KIND = {
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
} as const;

/** Options of {@linkcode traced}. */
export interface TracedOptions {
  /** Span attributes (`atlas.config`, `atlas.region`, ...). */
  attributes?: Attributes;
  /**
   * The parent, as a W3C `traceparent`: the span continues that trace. `null` starts a new
   * trace. @default the active span (or a new trace when there is none)
   */
  parent?: string | null | undefined;
  /** Traces this span is linked to (not its parents), as `traceparent` values. */
  links?: readonly (string | undefined)[];
  /** @default "internal" */
  kind?: TraceKind;
}

/**
 * Runs `fn` inside a span named `name` (ended when `fn` settles, its error recorded); spans
 * started inside `fn` are its children. When tracing is off it is `fn()` and nothing more.
 *
 * @example
 * ```ts
 * const pointer = await traced("atlas.pointer.write", () => write(), {
 *   attributes: { "atlas.config": "web", "atlas.region": "us-east" },
 * });
 * ```
 */
export function traced<T>(
  name: string,
  fn: () => Promise<T>,
  options?: TracedOptions,
): Promise<T> {
  if (!_tracer) return fn();
  const parent = options?.parent === undefined
    ? context.active()
    : options.parent === null
    ? ROOT_CONTEXT
    : _extract(options.parent);
  const links: Link[] = [];
  for (const l of options?.links ?? []) {
    const linked = l && trace.getSpanContext(_extract(l));
    if (linked) links.push({ context: linked });
  }
  return _tracer.startActiveSpan(
    name,
    {
      kind: _KIND[options?.kind ?? "internal"],
      ...(options?.attributes ? { attributes: options.attributes } : {}),
      links,
    },
    parent,
    async (span: Span) => {
      try {
        return await fn();
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        throw e;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * {@linkcode traced} for synchronous work: runs `fn` inside a span, or just runs it when
 * tracing is off.
 *
 * @example
 * ```ts
 * tracedSync("atlas.agent.verify", () => verifyPointer(verifier, pointer));
 * ```
 */
export function tracedSync<T>(name: string, fn: () => T, options?: TracedOptions): T {
  if (!_tracer) return fn();
  return _tracer.startActiveSpan(
    name,
    {
      kind: _KIND[options?.kind ?? "internal"],
      ...(options?.attributes ? { attributes: options.attributes } : {}),
    },
    (span: Span) => {
      try {
        return fn();
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        throw e;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * Adds attributes to the active span (no-op when tracing is off or no span is active).
 *
 * @example
 * ```ts
 * annotate(() => ({ "atlas.seq": pointer.seq }));
 * ```
 */
export function annotate(attributes: () => Attributes): void {
  if (!_tracer) return;
  trace.getActiveSpan()?.setAttributes(attributes());
}

/**
 * Names the active span (Deno's span of the HTTP request) after the route that served it,
 * `POST /v1/configs/:name/activate`, and sets `http.route`. No-op when tracing is off.
 *
 * @example
 * ```ts
 * app.use("*", async (c, next) => { await next(); nameRequestSpan(c.req.method, c.req.routePath); });
 * ```
 */
export function nameRequestSpan(method: string, route: string): void {
  if (!_tracer) return;
  const span = trace.getActiveSpan();
  span?.updateName(`${method} ${route}`);
  span?.setAttribute("http.route", route);
}

/**
 * The W3C `traceparent` of the active span, or undefined (tracing off, no span).
 *
 * @example
 * ```ts
 * const rolloutTrace = currentTraceParent(); // stored with the rollout, linked by stages
 * ```
 */
export function currentTraceParent(): string | undefined {
  if (!_tracer) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/**
 * NATS headers carrying the active span's context (`traceparent`, `tracestate`), to publish
 * with; undefined when tracing is off or no span is active (publish without headers).
 *
 * @example
 * ```ts
 * const h = traceHeaders();
 * nc.publish(subject, data, h ? { headers: h } : undefined);
 * ```
 */
export function traceHeaders(): MsgHdrs | undefined {
  if (!_tracer || !trace.getActiveSpan()) return undefined;
  const h = natsHeaders();
  propagation.inject(context.active(), h, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
  return h;
}

/**
 * The `traceparent` a message carried in its headers, or undefined (tracing off, none sent).
 *
 * @example
 * ```ts
 * const parent = traceParentOf(msg.headers); // then traced("...", fn, { parent })
 * ```
 */
export function traceParentOf(headers: MsgHdrs | undefined): string | undefined {
  if (!_tracer || !headers) return undefined;
  return headers.get("traceparent") || undefined;
}

function _extract(traceparent: string): Context {
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}
