/**
 * The few Docker engine calls the topology makes outside testcontainers: faults (network
 * disconnect, `kill -s KILL`, restart), copying a file out of a container, and removing
 * everything that carries a topology's label. Each is one `docker` CLI call, so what a test
 * does to a container is exactly what an operator would type.
 *
 * Invariant: everything a topology creates carries the label `atlas.topology=<id>`, and
 * {@linkcode removeLabelled} removes exactly that (containers, then networks), nothing else.
 *
 * @module
 */

/** The label every container and network of a topology carries; its value is the id. */
export const TOPOLOGY_LABEL = "atlas.topology";

/** Raised when a `docker` command fails; carries what it printed. */
export class DockerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DockerError";
  }
}

/** Runs `docker args…`; returns its stdout, throws a {@linkcode DockerError} on failure. */
export async function docker(...args: string[]): Promise<string> {
  let out;
  try {
    out = await new Deno.Command("docker", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (e) {
    throw new DockerError(
      "Cannot run `docker`: install it (`apt-get install -y docker.io` as root)",
      { cause: e },
    );
  }
  const dec = new TextDecoder();
  if (!out.success) {
    throw new DockerError(`docker ${args.join(" ")} failed: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
}

/**
 * Why containers cannot run here (no engine, or an image missing), or undefined when they
 * can. Tests skip with this reason, printed.
 *
 * @example
 * ```ts
 * const reason = await containersUnavailable(["atlas:local"]);
 * if (reason) console.warn(`skipped: ${reason}`);
 * ```
 */
export async function containersUnavailable(images: string[]): Promise<string | undefined> {
  try {
    await docker("info", "--format", "{{.ServerVersion}}");
  } catch (e) {
    return `no Docker engine runs here (${(e as Error).message.split("\n")[0]}); ` +
      "start one with `dockerd >/tmp/dockerd.log 2>&1 &`";
  }
  for (const image of images) {
    try {
      await docker("image", "inspect", "--format", "{{.Id}}", image);
    } catch {
      return `image ${image} is missing: build it with \`deno task images\``;
    }
  }
  return undefined;
}

/** Removes every container and network labelled `atlas.topology=<id>` (any id: `undefined`). */
export async function removeLabelled(
  id?: string,
): Promise<{ containers: number; networks: number }> {
  const filter = `label=${TOPOLOGY_LABEL}${id === undefined ? "" : `=${id}`}`;
  const containers = (await docker("ps", "-aq", "--filter", filter)).split("\n").filter(Boolean);
  if (containers.length) await docker("rm", "-f", "-v", ...containers);
  const networks = (await docker("network", "ls", "-q", "--filter", filter)).split("\n")
    .filter(Boolean);
  if (networks.length) await docker("network", "rm", ...networks);
  return { containers: containers.length, networks: networks.length };
}

/**
 * Reads one file out of a container (`docker cp <c>:<path> -`, a tar stream), so it works
 * on images without a shell or `cat`. Undefined when the file does not exist.
 */
export async function readContainerFile(container: string, path: string): Promise<
  Uint8Array | undefined
> {
  const out = await new Deno.Command("docker", {
    args: ["cp", `${container}:${path}`, "-"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    if (/no such file|Could not find the file/i.test(err)) return undefined;
    throw new DockerError(`docker cp ${container}:${path} failed: ${err.trim()}`);
  }
  return _firstTarEntry(out.stdout);
}

/** The content of the first regular file of a tar archive (ustar header: size at 124). */
export function _firstTarEntry(tar: Uint8Array): Uint8Array | undefined {
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) return undefined;
    const size = parseInt(new TextDecoder().decode(header.subarray(124, 136)).trim() || "0", 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const start = at + 512;
    if (type === "0" || type === "\0") return tar.slice(start, start + size);
    at = start + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
