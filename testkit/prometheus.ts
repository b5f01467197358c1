/**
 * Runs Debian's `prometheus` for dev mode and tests: a scrape configuration written from
 * targets, its own TSDB directory, ready when `/-/ready` answers; and PromQL queries over
 * its HTTP API.
 *
 * @module
 */
import { reservePort } from "./server.ts";

/** One scrape job: a name and `host:port` targets serving `/metrics`. */
export interface ScrapeJob {
  job: string;
  targets: string[];
}

/** Options of {@linkcode startPrometheus}. */
export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Directory for its configuration and TSDB (kept; a temp dir removed on dispose when omitted). */
  dir?: string;
  /** `host:port` to listen on. @default 127.0.0.1 and a free port */
  listen?: string;
  /** Scrape (and rule evaluation) interval. @default "1s" */
  interval?: string;
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
}

/** Raised when prometheus is missing or does not become ready. */
export class PrometheusError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PrometheusError";
  }
}

const SEARCH = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"];

/** The prometheus binary, or undefined when it is not installed. */
export function findPrometheus(): string | undefined {
  const explicit = Deno.env.get("ATLAS_PROMETHEUS");
  if (explicit) return explicit;
  return SEARCH.find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/** The scrape configuration of `jobs` (YAML; JSON is YAML). */
export function scrapeConfig(
  jobs: ScrapeJob[],
  options: { interval?: string; ruleFiles?: string[] } = {},
): string {
  const interval = options.interval ?? "1s";
  return JSON.stringify(
    {
      global: { scrape_interval: interval, evaluation_interval: interval },
      ...(options.ruleFiles?.length ? { rule_files: options.ruleFiles } : {}),
      scrape_configs: jobs.map((j) => ({
        job_name: j.job,
        static_configs: [{ targets: j.targets }],
      })),
    },
    null,
    2,
  ) + "\n";
}

/** A running prometheus. */
export class Prometheus implements AsyncDisposable {
  readonly url: string;
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  readonly #ownDir: boolean;
  #log = "";

  private constructor(url: string, child: Deno.ChildProcess, dir: string, ownDir: boolean) {
    this.url = url;
    this.#child = child;
    this.#dir = dir;
    this.#ownDir = ownDir;
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#log = (this.#log + chunk).slice(-20_000);
      }
    })().catch(() => {});
  }

  /** Starts prometheus and waits until it is ready. */
  static async start(options: PrometheusOptions): Promise<Prometheus> {
    const binary = findPrometheus();
    if (!binary) {
      throw new PrometheusError(
        "prometheus not found: install it (`apt-get install -y prometheus` as root) or set " +
          "ATLAS_PROMETHEUS=/path/to/prometheus",
      );
    }
    const ownDir = options.dir === undefined;
    const dir = options.dir ?? await Deno.makeTempDir({ prefix: "atlas-prometheus-" });
    await Deno.mkdir(`${dir}/data`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      scrapeConfig(options.jobs, {
        ...(options.interval ? { interval: options.interval } : {}),
        ...(options.ruleFiles ? { ruleFiles: options.ruleFiles } : {}),
      }),
    );
    const listen = options.listen ?? `127.0.0.1:${reservePort()}`;
    const child = new Deno.Command(binary, {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=${listen}`,
        "--web.enable-lifecycle",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const prometheus = new Prometheus(`http://${listen}`, child, dir, ownDir);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${prometheus.url}/-/ready`, {
          signal: AbortSignal.timeout(1_000),
        });
        await res.body?.cancel();
        if (res.ok) return prometheus;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = prometheus.#log;
    await prometheus[Symbol.asyncDispose]();
    throw new PrometheusError(`prometheus was not ready in 30 s:\n${log.slice(-2_000)}`);
  }

  /** The last lines prometheus logged. */
  logTail(lines = 40): Promise<string> {
    return Promise.resolve(this.#log.split("\n").slice(-lines).join("\n"));
  }

  /**
   * Runs an instant PromQL query; returns the result vector (labels and value of each
   * series). Throws with prometheus's error for a query it refuses.
   */
  async query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = await res.json() as {
      status: string;
      error?: string;
      data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== "success") throw new PrometheusError(`query ${expr}: ${body.error}`);
    return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 5_000);
    await this.#child.status;
    clearTimeout(timer);
    if (this.#ownDir) await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Starts Debian's prometheus scraping `options.jobs`.
 *
 * @example
 * ```ts
 * await using prom = await startPrometheus({ jobs: [{ job: "atlas", targets: ["127.0.0.1:9464"] }] });
 * await prom.query("atlas_acks_total");
 * ```
 */
export function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  return Prometheus.start(options);
}
