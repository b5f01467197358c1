/**
 * `deno task images`: builds `atlas:local` and `atlas-nats:local` from files on this
 * machine, for machines that cannot pull from a registry (only `FROM scratch` works).
 *
 * - `atlas:local`: the `deno` binary running this task and the shared libraries `ldd`
 *   lists, the project (workspace members without tests) with its `node_modules` and a
 *   `DENO_DIR` filled at build time (the image runs offline: `--cached-only`), CA
 *   certificates, the user of {@linkcode ATLAS_IMAGE}, its state directory.
 * - `atlas-nats:local`: Debian's `/usr/sbin/nats-server` and the libraries `ldd` lists.
 *
 * Each image is built with `docker build` from a context directory generated here; the
 * runtime instructions come from `image.ts`, the one description `deploy/docker/Dockerfile`
 * also follows.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  APP_DIR,
  APP_PATHS,
  ATLAS_IMAGE,
  CACHE_ARGS,
  DENO_BIN,
  type ImageDescription,
  INSTALL_ARGS,
  NATS_IMAGE,
  scratchDockerfile,
  userDatabase,
} from "./image.ts";

/** Options of {@linkcode buildImages}. */
export interface BuildImagesOptions {
  /** Tag of both images. @default "local" */
  tag?: string;
  /** Where the build contexts are generated (emptied first). @default ".atlas/images" */
  contextDir?: string;
  /** Which images. @default ["atlas", "nats"] */
  images?: ("atlas" | "nats")[];
  /** The nats-server binary. @default "/usr/sbin/nats-server" */
  natsServer?: string;
  /** The deno binary copied in. @default Deno.execPath() */
  deno?: string;
  /** Progress lines. @default console.error */
  log?: (line: string) => void;
  /** Only generate the contexts, do not run `docker build`. @default false */
  contextOnly?: boolean;
}

/** What {@linkcode buildImages} built. */
export interface BuiltImage {
  name: string;
  context: string;
  /** Size in bytes as `docker image inspect` reports it (0 with contextOnly). */
  bytes: number;
}

/** A build step that failed: the message says which command and what it printed. */
export class ImageBuildError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImageBuildError";
  }
}

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "../..");
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

async function _run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; inherit?: boolean } = {},
): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    stdout: options.inherit ? "inherit" : "piped",
    stderr: options.inherit ? "inherit" : "piped",
  });
  let out;
  try {
    out = await child.output();
  } catch (e) {
    throw new ImageBuildError(`Cannot run ${cmd}: ${(e as Error).message}`, { cause: e });
  }
  const text = options.inherit ? "" : new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = options.inherit ? "" : new TextDecoder().decode(out.stderr);
    throw new ImageBuildError(
      `${cmd} ${args.join(" ")} failed (exit ${out.code})${err ? `:\n${err}` : ""}`,
    );
  }
  return text;
}

/**
 * The files `ldd` lists for `binary` (the dynamic loader included), as absolute paths in
 * the order printed. Pure: give it `ldd`'s output.
 *
 * @example
 * ```ts
 * lddPaths("\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x7f)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f)");
 * // ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
 * ```
 */
export function lddPaths(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split("\n")) {
    const m = line.match(/=>\s*(\/\S+)/) ?? line.match(/^\s*(\/\S+)\s+\(/);
    if (m) paths.push(m[1]!);
  }
  return paths;
}

async function _copyInto(root: string, hostPath: string, at = hostPath): Promise<void> {
  const target = join(root, at);
  await Deno.mkdir(dirname(target), { recursive: true });
  await Deno.copyFile(await Deno.realPath(hostPath), target);
}

async function _copyBinary(root: string, hostPath: string, at: string): Promise<void> {
  await _copyInto(root, hostPath, at);
  await Deno.chmod(join(root, at), 0o755);
  for (const lib of lddPaths(await _run("ldd", [hostPath]))) await _copyInto(root, lib);
}

async function _writeUsers(root: string, image: ImageDescription): Promise<void> {
  const users = userDatabase(image);
  await Deno.mkdir(join(root, "etc"), { recursive: true });
  await Deno.writeTextFile(join(root, "etc/passwd"), users.passwd);
  await Deno.writeTextFile(join(root, "etc/group"), users.group);
  await Deno.writeTextFile(join(root, "etc/nsswitch.conf"), "hosts: files dns\n");
  await Deno.mkdir(join(root, "tmp"), { recursive: true });
  await Deno.chmod(join(root, "tmp"), 0o1777);
}

/** The project files that go into the image, relative to the checkout. */
async function _appFiles(): Promise<string[]> {
  const listed = await _run("git", ["ls-files", "-co", "--exclude-standard", ...APP_PATHS], {
    cwd: ROOT,
  });
  return listed.split("\n").filter((f) =>
    f && !f.endsWith("_test.ts") && !f.includes("/testdata/")
  );
}

async function _atlasContext(ctx: string, o: Required<BuildImagesOptions>): Promise<void> {
  const root = join(ctx, "rootfs");
  const app = join(root, APP_DIR);
  const denoDir = join(ctx, "deno-dir");
  o.log("images: atlas: deno binary and its libraries");
  await _copyBinary(root, o.deno, DENO_BIN);
  await _copyInto(root, CA_BUNDLE);
  await _writeUsers(root, ATLAS_IMAGE);
  const files = await _appFiles();
  o.log(`images: atlas: ${files.length} project files`);
  for (const f of files) await _copyInto(app, join(ROOT, f), f);
  o.log("images: atlas: node_modules (deno install, from this machine's npm cache)");
  const env = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
  await _run(o.deno, [...INSTALL_ARGS], { cwd: app, env });
  o.log("images: atlas: DENO_DIR (deno cache)");
  await _run(o.deno, [...CACHE_ARGS], {
    cwd: app,
    env: { ...env, DENO_DIR: denoDir },
  });
  await Deno.mkdir(join(ctx, "state"), { recursive: true });
  const owner = ATLAS_IMAGE.user;
  await Deno.writeTextFile(
    join(ctx, "Dockerfile"),
    scratchDockerfile(ATLAS_IMAGE, [
      "COPY rootfs/ /",
      `COPY --chown=${owner} deno-dir/ ${ATLAS_IMAGE.env.DENO_DIR}/`,
      `COPY --chown=${owner} state/ ${ATLAS_IMAGE.volumes[0]}/`,
    ]),
  );
}

async function _natsContext(ctx: string, o: Required<BuildImagesOptions>): Promise<void> {
  const root = join(ctx, "rootfs");
  o.log(`images: nats: ${o.natsServer} and its libraries`);
  await _copyBinary(root, o.natsServer, NATS_IMAGE.entrypoint[0]!);
  await _writeUsers(root, NATS_IMAGE);
  await Deno.mkdir(join(ctx, "data"), { recursive: true });
  await Deno.writeTextFile(
    join(ctx, "Dockerfile"),
    scratchDockerfile(NATS_IMAGE, [
      "COPY rootfs/ /",
      `COPY --chown=${NATS_IMAGE.user} data/ ${NATS_IMAGE.volumes[0]}/`,
    ]),
  );
}

/**
 * Builds the images (see the module doc) and returns their names and sizes.
 *
 * @example
 * ```ts
 * const built = await buildImages({ images: ["nats"] });
 * built[0]?.name; // "atlas-nats:local"
 * ```
 */
export async function buildImages(options: BuildImagesOptions = {}): Promise<BuiltImage[]> {
  const o: Required<BuildImagesOptions> = {
    tag: options.tag ?? "local",
    contextDir: resolve(ROOT, options.contextDir ?? ".atlas/images"),
    images: options.images ?? ["atlas", "nats"],
    natsServer: options.natsServer ?? "/usr/sbin/nats-server",
    deno: options.deno ?? Deno.execPath(),
    log: options.log ?? ((line) => console.error(line)),
    contextOnly: options.contextOnly ?? false,
  };
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(o.tag)) {
    throw new TypeError(
      `Cannot tag images ${JSON.stringify(o.tag)}: a tag is letters, digits, "_", "." and "-"`,
    );
  }
  if (o.images.includes("nats")) {
    try {
      await Deno.stat(o.natsServer);
    } catch {
      throw new ImageBuildError(
        `No nats-server at ${o.natsServer}: install Debian's (apt-get install nats-server) ` +
          "or pass --nats-server <path>",
      );
    }
  }
  if (!o.contextOnly) {
    try {
      await _run("docker", ["info", "--format", "{{.ServerVersion}}"]);
    } catch (e) {
      throw new ImageBuildError(
        "No Docker engine answers `docker info`: start one (dockerd >/tmp/dockerd.log 2>&1 &) " +
          "and run again",
        { cause: e },
      );
    }
  }
  const built: BuiltImage[] = [];
  for (const which of o.images) {
    const started = performance.now();
    const name = `${which === "atlas" ? "atlas" : "atlas-nats"}:${o.tag}`;
    const ctx = join(o.contextDir, which);
    await Deno.remove(ctx, { recursive: true }).catch(() => {});
    await Deno.mkdir(ctx, { recursive: true });
    o.log(`images: ${name}: context in ${relative(Deno.cwd(), ctx) || "."}`);
    await (which === "atlas" ? _atlasContext(ctx, o) : _natsContext(ctx, o));
    let bytes = 0;
    if (!o.contextOnly) {
      o.log(`images: ${name}: docker build`);
      await _run("docker", ["build", "--quiet", "--tag", name, ctx], {
        env: { DOCKER_BUILDKIT: "0" },
      });
      bytes = Number(await _run("docker", ["image", "inspect", "--format", "{{.Size}}", name]));
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    o.log(`images: ${name}: done in ${secs} s, ${(bytes / 1e6).toFixed(0)} MB`);
    built.push({ name, context: ctx, bytes });
  }
  return built;
}

const USAGE =
  `Usage: deno task images [--tag local] [--only atlas|nats] [--context-dir .atlas/images]
                        [--nats-server /usr/sbin/nats-server] [--context-only]

Builds atlas:<tag> and atlas-nats:<tag> with docker from files on this machine.`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      tag: { type: "string" },
      only: { type: "string" },
      "context-dir": { type: "string" },
      "nats-server": { type: "string" },
      "context-only": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (values.only && values.only !== "atlas" && values.only !== "nats") {
    console.error(`error: --only takes atlas or nats, got ${JSON.stringify(values.only)}`);
    Deno.exit(2);
  }
  try {
    const built = await buildImages({
      ...(values.tag ? { tag: values.tag } : {}),
      ...(values.only ? { images: [values.only as "atlas" | "nats"] } : {}),
      ...(values["context-dir"] ? { contextDir: values["context-dir"] } : {}),
      ...(values["nats-server"] ? { natsServer: values["nats-server"] } : {}),
      ...(values["context-only"] ? { contextOnly: true } : {}),
    });
    for (const b of built) console.log(`${b.name}\t${(b.bytes / 1e6).toFixed(0)} MB`);
  } catch (e) {
    if (!(e instanceof ImageBuildError || e instanceof TypeError)) throw e;
    console.error(`error: ${e.message}`);
    Deno.exit(1);
  }
}
