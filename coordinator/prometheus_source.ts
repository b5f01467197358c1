/**
 * Where the coordinator reads metric gates (core/metric_gate.ts): instant PromQL queries
 * over a Prometheus HTTP API that the operator named when starting the coordinator
 * (`--prometheus-url`), never a URL from a rollout's body, so the control plane's API
 * cannot make coordinators call arbitrary hosts.
 *
 * Invariant: every query is bounded in time ({@linkcode PrometheusSourceOptions.timeoutMs})
 * and whatever goes wrong (no answer, an HTTP error, Prometheus refusing the query, a range
 * vector) comes back as a reading with the error in words, never as a pass.
 *
 * @module
 */
import type { MetricReading } from "@atlas/core";

/** What the stage driver reads metric gates from. */
export interface MetricSource {
  /** Runs an instant query; the result's series, or why there are none. */
  read(query: string): Promise<MetricReading>;
}

/** Options of {@linkcode PrometheusSource}. */
export interface PrometheusSourceOptions {
  /** Longest a query may take. @default 2000 */
  timeoutMs?: number;
}

interface _Answer {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: unknown };
}

/**
 * Reads metric gates from a Prometheus (its base URL, as `http://host:9090`).
 *
 * @example
 * ```ts
 * const source = PrometheusSource.fromUrl("http://127.0.0.1:9090");
 * await source.read('sum(rate(http_errors_total{region="us-east"}[1m]))');
 * ```
 */
export class PrometheusSource implements MetricSource {
  readonly url: string;
  readonly #timeoutMs: number;

  private constructor(url: string, timeoutMs: number) {
    this.url = url;
    this.#timeoutMs = timeoutMs;
  }

  /** Checks `url` (http or https, no query or fragment) and returns a source over it. */
  static fromUrl(url: string, options: PrometheusSourceOptions = {}): PrometheusSource {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(
        `Cannot use ${JSON.stringify(url)} as the Prometheus URL: give its base URL, as ` +
          "http://prometheus:9090",
      );
    }
    if (!["http:", "https:"].includes(parsed.protocol) || parsed.search || parsed.hash) {
      throw new TypeError(
        `Cannot use ${JSON.stringify(url)} as the Prometheus URL: give an http(s) base URL ` +
          "without query or fragment, as http://prometheus:9090",
      );
    }
    const timeoutMs = options.timeoutMs ?? 2_000;
    if (!(timeoutMs > 0)) {
      throw new RangeError(`Cannot query Prometheus with a timeout of ${timeoutMs} ms`);
    }
    return new PrometheusSource(parsed.href.replace(/\/+$/, ""), timeoutMs);
  }

  async read(query: string): Promise<MetricReading> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ query }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      const timedOut = e instanceof DOMException && e.name === "TimeoutError";
      return {
        ok: false,
        error: timedOut
          ? `${this.url} did not answer within ${this.#timeoutMs} ms`
          : `cannot reach ${this.url}: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
    let body: _Answer;
    try {
      body = await res.json() as _Answer;
    } catch {
      return { ok: false, error: `${this.url} answered HTTP ${res.status}, not Prometheus JSON` };
    }
    if (body.status !== "success") {
      return {
        ok: false,
        error: `Prometheus refused the query (${body.errorType ?? `HTTP ${res.status}`}): ` +
          (body.error ?? "no error given"),
      };
    }
    return _samples(body.data);
  }
}

function _samples(data: _Answer["data"]): MetricReading {
  const result = data?.result;
  switch (data?.resultType) {
    case "vector":
      if (!Array.isArray(result)) break;
      return {
        ok: true,
        samples: (result as { metric?: Record<string, string>; value?: [number, string] }[])
          .map((s) => ({ labels: s.metric ?? {}, value: Number(s.value?.[1]) })),
      };
    case "scalar":
      if (!Array.isArray(result)) break;
      return { ok: true, samples: [{ labels: {}, value: Number(result[1]) }] };
    case "matrix":
      return {
        ok: false,
        error: "the query returns a range vector: make it an instant one (for example " +
          "wrap x[5m] in rate() or max_over_time())",
      };
  }
  return { ok: false, error: `unexpected result type ${data?.resultType} from Prometheus` };
}
