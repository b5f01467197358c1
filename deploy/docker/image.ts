/**
 * The Atlas image, described once: what a container of it runs as (entrypoint, user,
 * workdir, environment, ports, health check, stop signal, state volume). Both builds
 * take their runtime instructions from here: the local build (`deno task images`,
 * `FROM scratch`) renders them with {@linkcode runtimeInstructions}, and
 * `deploy/docker/Dockerfile` (`FROM denoland/deno`) must carry the same ones
 * (`image_test.ts` parses both and compares). Pure: no I/O.
 *
 * @module
 */

/** Where the project lives in the image. */
export const APP_DIR = "/app";
/** Where the `deno` binary lives in the image (where the official image puts it). */
export const DENO_BIN = "/usr/bin/deno";
/** The dispatcher: its first argument picks the program (see {@linkcode ROLES}). */
export const ENTRYPOINT_SCRIPT = `${APP_DIR}/deploy/docker/entrypoint.ts`;
/**
 * How the image runs the dispatcher: offline (`--cached-only`), and with `node_modules` as
 * built (`manual`: deno neither checks nor locks it; the image's user cannot write it).
 */
export const RUN_ENTRYPOINT = [
  DENO_BIN,
  "run",
  "-A",
  "--cached-only",
  "--node-modules-dir=manual",
  ENTRYPOINT_SCRIPT,
];

/**
 * The project paths an image holds (workspace members, config, the entrypoint); test
 * files are left out.
 */
export const APP_PATHS = [
  "deno.json",
  "deno.lock",
  "mod.ts",
  "core/",
  "store/",
  "testkit/",
  "control/",
  "agent/",
  "coordinator/",
  "cli/",
  "deploy/docker/entrypoint.ts",
  "deploy/docker/image.ts",
] as const;

/** `deno` arguments that fill `node_modules` at build time (all of deno.json's imports). */
export const INSTALL_ARGS = ["install", "--frozen"] as const;
/**
 * `deno` arguments that compile the entrypoint's module graph into `DENO_DIR` at build time,
 * and the coordinator's ack check thread (a worker, loaded by URL when the first burst of
 * acks comes: no static import reaches it).
 */
export const CACHE_ARGS = [
  "cache",
  "--frozen",
  "--node-modules-dir=manual",
  "deploy/docker/entrypoint.ts",
  "coordinator/ack_checks_worker.ts",
] as const;

/** The programs of the image, by the command that selects them. */
export const ROLES = {
  control: "control/main.ts",
  coordinator: "coordinator/main.ts",
  agent: "agent/main.ts",
  atlas: "cli/main.ts",
} as const;
/** A program of the image. */
export type Role = keyof typeof ROLES;

/** The runtime description of an image. */
export interface ImageDescription {
  workdir: string;
  /** Numeric `uid:gid` (a scratch image has no user database to resolve names). */
  user: string;
  /** Name of the user in `/etc/passwd`. */
  userName: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  expose: number[];
  volumes: string[];
  stopSignal: string;
  healthcheck: {
    test: string[];
    interval: string;
    timeout: string;
    startPeriod: string;
    retries: number;
  };
}

/** The Atlas image (`atlas:local` locally; built from `deploy/docker/Dockerfile` elsewhere). */
export const ATLAS_IMAGE: ImageDescription = {
  workdir: APP_DIR,
  user: "10001:10001",
  userName: "atlas",
  env: {
    DENO_DIR: `${APP_DIR}/.deno`,
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    ATLAS_LOG_FORMAT: "json",
  },
  entrypoint: RUN_ENTRYPOINT,
  cmd: ["control"],
  // control plane HTTP, agent local API, metrics (--metrics-port 9464 --metrics-host 0.0.0.0)
  expose: [8080, 2772, 9464],
  volumes: ["/var/lib/atlas"],
  stopSignal: "SIGTERM",
  healthcheck: {
    test: ["CMD", ...RUN_ENTRYPOINT, "healthcheck"],
    interval: "5s",
    timeout: "4s",
    startPeriod: "30s",
    retries: 3,
  },
};

/** The NATS image (`atlas-nats:local`): Debian's nats-server on scratch. */
export const NATS_IMAGE: ImageDescription = {
  workdir: "/",
  user: "10002:10002",
  userName: "nats",
  env: {},
  entrypoint: ["/nats-server"],
  cmd: ["--jetstream", "--store_dir", "/data"],
  expose: [4222, 6222, 7222, 8222],
  volumes: ["/data"],
  stopSignal: "SIGTERM",
  // no tool in the image can probe it: wait for the log line "Server is ready"
  healthcheck: { test: ["NONE"], interval: "0s", timeout: "0s", startPeriod: "0s", retries: 0 },
};

function _json(values: string[]): string {
  return JSON.stringify(values).replaceAll('","', '", "');
}

/**
 * The Dockerfile instructions of `image` that set how its containers run, in a fixed order.
 *
 * @example
 * ```ts
 * runtimeInstructions(ATLAS_IMAGE).join("\n"); // "WORKDIR /app\nUSER 10001:10001\n…"
 * ```
 */
export function runtimeInstructions(image: ImageDescription): string[] {
  const lines = [`WORKDIR ${image.workdir}`];
  const env = Object.entries(image.env);
  if (env.length) lines.push(`ENV ${env.map(([k, v]) => `${k}=${v}`).join(" \\\n    ")}`);
  lines.push(`EXPOSE ${image.expose.join(" ")}`);
  lines.push(`VOLUME ${_json(image.volumes)}`);
  lines.push(`USER ${image.user}`);
  lines.push(`STOPSIGNAL ${image.stopSignal}`);
  const h = image.healthcheck;
  lines.push(
    h.test[0] === "NONE" ? "HEALTHCHECK NONE" : `HEALTHCHECK --interval=${h.interval} ` +
      `--timeout=${h.timeout} --start-period=${h.startPeriod} --retries=${h.retries} \\\n` +
      `  CMD ${_json(h.test.slice(1))}`,
  );
  lines.push(`ENTRYPOINT ${_json(image.entrypoint)}`);
  lines.push(`CMD ${_json(image.cmd)}`);
  return lines;
}

/**
 * A Dockerfile `FROM scratch` that copies `copies` (COPY lines) and runs as `image` says:
 * the local build's.
 *
 * @example
 * ```ts
 * scratchDockerfile(NATS_IMAGE, ["COPY rootfs/ /"]);
 * ```
 */
export function scratchDockerfile(image: ImageDescription, copies: string[]): string {
  return [
    "# Generated by `deno task images` from deploy/docker/image.ts: do not edit.",
    "FROM scratch",
    ...copies,
    ...runtimeInstructions(image),
    "",
  ].join("\n");
}

/** `/etc/passwd` and `/etc/group` lines for `image`'s user (and root). */
export function userDatabase(image: ImageDescription): { passwd: string; group: string } {
  const [uid, gid] = image.user.split(":");
  const home = image.volumes[0] ?? "/";
  return {
    passwd: `root:x:0:0:root:/root:/sbin/nologin\n` +
      `${image.userName}:x:${uid}:${gid}:${image.userName}:${home}:/sbin/nologin\n`,
    group: `root:x:0:\n${image.userName}:x:${gid}:\n`,
  };
}
