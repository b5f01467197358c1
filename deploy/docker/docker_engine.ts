/**
 * Whether container tests can run here: a Docker engine answering `docker info`, and the
 * images they need built (`deno task images`). Tests declare themselves with
 * `ignore: reason !== undefined` and print the reason, so a skip is never silent.
 *
 * @module
 */

async function _docker(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const o = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { ok: o.success, out: (dec.decode(o.stdout) + dec.decode(o.stderr)).trim() };
  } catch (e) {
    return { ok: false, out: (e as Error).message };
  }
}

/**
 * Why container tests cannot run (no engine, an image missing), or undefined when they can.
 *
 * @example
 * ```ts
 * const skip = await dockerSkipReason(["atlas:local"]);
 * Deno.test({ name: "…", ignore: skip !== undefined, fn: async () => {} });
 * ```
 */
export async function dockerSkipReason(images: string[]): Promise<string | undefined> {
  const info = await _docker(["info", "--format", "{{.ServerVersion}}"]);
  if (!info.ok) {
    return `no Docker engine (docker info: ${info.out.split("\n")[0]}); start dockerd, ` +
      "then deno task images";
  }
  for (const image of images) {
    if (!(await _docker(["image", "inspect", image])).ok) {
      return `image ${image} is not built: run deno task images`;
    }
  }
  return undefined;
}

/**
 * Runs `docker` with `args` and returns its stdout (trimmed); throws with its stderr when
 * it fails.
 */
export async function docker(args: string[]): Promise<string> {
  const o = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!o.success) {
    throw new Error(`docker ${args.join(" ")} failed (exit ${o.code}): ${dec.decode(o.stderr)}`);
  }
  return dec.decode(o.stdout).trim();
}
