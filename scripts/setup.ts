/**
 * Makes sure what Atlas needs is installed: `nats-server` (from Debian's packages when
 * running as root, otherwise a message saying how), unless `ATLAS_NATS_URL` points at a
 * running server. Used by `deno task test` and `deno task dev`.
 *
 * @module
 */
import { findNatsServer, NatsServerError } from "@atlas/testkit";

async function run(cmd: string[], env: Record<string, string> = {}): Promise<boolean> {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  return out.success;
}

/**
 * Returns the nats-server path, installing it with apt-get when missing and allowed.
 * Throws a `NatsServerError` with instructions otherwise.
 */
export async function ensureNatsServer(): Promise<string> {
  try {
    return findNatsServer();
  } catch (e) {
    if (!(e instanceof NatsServerError)) throw e;
  }
  const isRoot = Deno.uid?.() === 0;
  const hasApt = await Deno.stat("/usr/bin/apt-get").then(() => true, () => false);
  if (!isRoot || !hasApt) {
    throw new NatsServerError(
      "nats-server is not installed. Install it (Debian/Ubuntu: `sudo apt-get install -y " +
        "nats-server`; elsewhere: https://docs.nats.io), or set ATLAS_NATS_SERVER to its path.",
    );
  }
  console.error("atlas: nats-server not found; installing it with apt-get (one time)…");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if (!(await run(["apt-get", "install", "-y", "-qq", "nats-server"], env))) {
    await run(["apt-get", "update", "-qq"], env);
    if (!(await run(["apt-get", "install", "-y", "-qq", "nats-server"], env))) {
      throw new NatsServerError("apt-get could not install nats-server; see the output above");
    }
  }
  return findNatsServer();
}

if (import.meta.main) {
  try {
    const path = await ensureNatsServer();
    const version = await new Deno.Command(path, { args: ["--version"] }).output();
    console.error(
      `atlas: using ${
        new TextDecoder().decode(version.stdout).trim()
      } (${path}), deno ${Deno.version.deno}`,
    );
  } catch (e) {
    console.error(`atlas: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
