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
import { docker as _docker } from "../docker/docker_engine.ts";

/** The label every container and network of a topology carries; its value is the id. */
export const TOPOLOGY_LABEL = "atlas.topology";

/** Raised when the topology cannot be started or changed as asked. */
export class DockerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DockerError";
  }
}

/** Runs `docker args…` and returns its stdout (the engine helper of deploy/docker). */
export function docker(...args: string[]): Promise<string> {
  return _docker(args);
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
