/**
 * The entrypoint of the Atlas image: its first argument selects the program, the rest are
 * that program's arguments.
 *
 * - `control [args]`: the control plane; listens on 0.0.0.0:8080 unless `--hostname` or
 *   `--port` say otherwise (a container's loopback is unreachable from outside).
 * - `coordinator [args]`, `agent [args]`, `atlas [args]` (the CLI): as `deno task …`.
 * - `healthcheck`: the image's HEALTHCHECK. It probes the program running as PID 1:
 *   the control plane's `/healthz`, the agent's local API `/healthz` (when `--http` or
 *   agent.json's `"http"` serves one), the coordinator's `/metrics` (when
 *   `--metrics-port` serves them); `$ATLAS_HEALTH_URL` overrides. Exit 0 healthy, 1 not.
 *
 * Every program stops on SIGTERM (`docker stop`): it closes its connections and exits 0.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Role, ROLES } from "./image.ts";

const USAGE = `Usage: docker run atlas:local <program> [arguments]

Programs: ${Object.keys(ROLES).join(", ")}, healthcheck.
  docker run atlas:local control --nats nats://nats:4222 --signing-key ... --tokens-file ...
  docker run atlas:local coordinator --region us-east --nats nats://nats:4222 ...
  docker run atlas:local agent --config /etc/atlas/agent.json
  docker run atlas:local atlas --help`;

function _isRole(name: string | undefined): name is Role {
  return name !== undefined && Object.hasOwn(ROLES, name);
}

/** The arguments of `control` in a container: all interfaces, port 8080, unless given. */
export function containerControlArgs(args: string[]): string[] {
  const has = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  return [
    ...args,
    ...(has("--hostname") ? [] : ["--hostname", "0.0.0.0"]),
  ];
}

/**
 * The URL the health check probes for a container whose PID 1 runs `command` (the
 * entrypoint's arguments: program, then its arguments); undefined when the program serves
 * nothing to probe (then being alive is healthy). `readFile` reads agent.json.
 *
 * @example
 * ```ts
 * await healthUrl(["control", "--port", "9000"], Deno.readTextFile); // "http://127.0.0.1:9000/healthz"
 * ```
 */
export async function healthUrl(
  command: string[],
  readFile: (path: string) => Promise<string>,
): Promise<string | undefined> {
  const [role, ...args] = command;
  const { values } = parseArgs({
    args,
    strict: false,
    options: {
      port: { type: "string" },
      http: { type: "string" },
      config: { type: "string", short: "c", multiple: true },
      "metrics-port": { type: "string" },
    },
  });
  const str = (v: unknown) => typeof v === "string" ? v : undefined;
  const local = (hostPort: string) => hostPort.replace(/^.*:(\d+)$/, "127.0.0.1:$1");
  if (role === "control") return `http://127.0.0.1:${str(values.port) ?? "8080"}/healthz`;
  if (role === "coordinator") {
    const port = str(values["metrics-port"]);
    return port ? `http://127.0.0.1:${port}/metrics` : undefined;
  }
  if (role === "agent") {
    let http = str(values.http);
    const config = Array.isArray(values.config) ? str(values.config[0]) : undefined;
    if (!http && config) {
      try {
        const parsed = JSON.parse(await readFile(config)) as { http?: unknown };
        http = str(parsed.http);
      } catch {
        http = undefined;
      }
    }
    return http ? `http://${local(http)}/healthz` : undefined;
  }
  return undefined;
}

async function _healthcheck(): Promise<number> {
  let url = Deno.env.get("ATLAS_HEALTH_URL");
  if (!url) {
    const cmdline = (await Deno.readTextFile("/proc/1/cmdline")).split("\0").filter(Boolean);
    const at = cmdline.findIndex((a) => a.endsWith("/entrypoint.ts"));
    if (at < 0) return 0;
    url = await healthUrl(cmdline.slice(at + 1), Deno.readTextFile);
  }
  if (!url) return 0;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    if (res.ok) return 0;
    console.error(`healthcheck: ${url} answered ${res.status}`);
  } catch (e) {
    console.error(`healthcheck: ${url}: ${(e as Error).message}`);
  }
  return 1;
}

async function _main(argv: string[]): Promise<number> {
  const [role, ...args] = argv;
  if (role === "healthcheck") return await _healthcheck();
  if (role === "-h" || role === "--help" || role === "help") {
    console.log(USAGE);
    return 0;
  }
  if (!_isRole(role)) {
    console.error(
      `error: ${
        role === undefined ? "no program given" : `unknown program ${JSON.stringify(role)}`
      }: the first argument picks one of ${Object.keys(ROLES).join(", ")}\n\n${USAGE}`,
    );
    return 2;
  }
  switch (role) {
    case "control":
      return await (await import("../../control/main.ts")).main(containerControlArgs(args));
    case "coordinator":
      return await (await import("../../coordinator/main.ts")).main(args);
    case "agent":
      return await (await import("../../agent/main.ts")).main(args);
    case "atlas":
      return await (await import("../../cli/cli.ts")).main(args);
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await _main(Deno.args);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    code = 1;
  }
  Deno.exit(code);
}
