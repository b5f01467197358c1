/**
 * The images of `deno task images` as containers: the control plane and an agent from
 * `atlas:local` against a nats-server with authorization (the test's, on the host network,
 * so all traffic stays on 127.0.0.1). They turn healthy by the image's HEALTHCHECK, the
 * agent applies a version into a mounted directory, and `docker stop` drains them: exit 0.
 * Skipped, with the reason printed, without a Docker engine or the images.
 */
import assert from "node:assert/strict";
import { generateSigningKey, Signer, tokenFileEntry } from "@atlas/core";
import { activateVersion, natsTest, storeVersion, tempDir, waitFor } from "@atlas/testkit";
import { docker, dockerSkipReason } from "./docker_engine.ts";

const IMAGE = "atlas:local";
const skip = await dockerSkipReason([IMAGE]);
if (skip) console.warn(`SKIPPED deploy/docker/images_test.ts: ${skip}`);

function _freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** A container started by the test, removed at the end. */
class Container {
  constructor(readonly name: string) {}
  async logTail(): Promise<string> {
    // docker logs replays the container's stdout and stderr on its own stdout and stderr
    const o = await new Deno.Command("docker", {
      args: ["logs", "--tail", "60", this.name],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return dec.decode(o.stdout) + dec.decode(o.stderr);
  }
  async health(): Promise<string> {
    return await docker(["inspect", "-f", "{{.State.Health.Status}}", this.name]);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await docker(["rm", "-f", this.name]).catch(() => {});
  }
}

natsTest(
  "atlas:local runs control plane, coordinator and agent, which turn healthy and drain on stop",
  async (ctx) => {
    const dir = await tempDir({ prefix: "atlas-image-test-" });
    await Deno.chmod(dir, 0o755);
    const key = generateSigningKey();
    const signer = new Signer(key);
    const files: Record<string, string> = {
      "signing.key": JSON.stringify(key),
      "tokens.json": JSON.stringify([
        tokenFileEntry("admin", "admin", "atlas_image-test-0123456789"),
      ]),
      "control.creds": await ctx.auth.creds("control"),
      "agent.creds": await ctx.auth.creds({ kind: "agent", region: "us-east", agent: "c1" }),
      "coordinator.creds": await ctx.auth.creds({ kind: "coordinator", region: "us-east" }),
      "trusted-keys.json": JSON.stringify({ keys: [signer.trustedKey] }),
    };
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text, { mode: 0o644 });
      await Deno.chmod(`${dir}/${name}`, 0o644);
    }
    await Deno.mkdir(`${dir}/srv`, { mode: 0o777 });
    await Deno.chmod(`${dir}/srv`, 0o777);
    const agentPort = _freePort();
    await Deno.writeTextFile(
      `${dir}/agent.json`,
      JSON.stringify({
        id: "c1",
        region: "us-east",
        nats: ctx.urls,
        credentials: "/etc/atlas/agent.creds",
        stateDir: "/var/lib/atlas/agent",
        trustedKeys: "/etc/atlas/trusted-keys.json",
        http: `127.0.0.1:${agentPort}`,
        configs: { web: { path: "/srv/web.json" } },
      }),
    );
    const id = crypto.randomUUID().slice(0, 8);
    const controlPort = _freePort();
    await using control = new Container(`atlas-image-test-control-${id}`);
    await using agent = new Container(`atlas-image-test-agent-${id}`);
    await using coordinator = new Container(`atlas-image-test-coordinator-${id}`);
    ctx.addLog(control);
    ctx.addLog(agent);
    ctx.addLog(coordinator);
    const started = performance.now();
    await docker([
      "run",
      "-d",
      "--name",
      control.name,
      "--network",
      "host",
      "-v",
      `${dir}:/etc/atlas:ro`,
      IMAGE,
      "control",
      "--hostname",
      "127.0.0.1",
      "--port",
      `${controlPort}`,
      "--nats",
      ctx.urls.join(","),
      "--creds",
      "/etc/atlas/control.creds",
      "--signing-key",
      "/etc/atlas/signing.key",
      "--key-dir",
      "/var/lib/atlas/keys",
      "--tokens-file",
      "/etc/atlas/tokens.json",
    ]);
    await waitFor("the control plane answers /healthz", async () => {
      const res = await fetch(`http://127.0.0.1:${controlPort}/healthz`).catch(() => undefined);
      await res?.body?.cancel();
      return res?.ok;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    const readyMs = performance.now() - started;
    await docker([
      "run",
      "-d",
      "--name",
      agent.name,
      "--network",
      "host",
      "-v",
      `${dir}:/etc/atlas:ro`,
      "-v",
      `${dir}/srv:/srv`,
      IMAGE,
      "agent",
      "--config",
      "/etc/atlas/agent.json",
    ]);
    // the coordinator serves metrics, which its health check probes
    await docker([
      "run",
      "-d",
      "--name",
      coordinator.name,
      "--network",
      "host",
      "-v",
      `${dir}:/etc/atlas:ro`,
      IMAGE,
      "coordinator",
      "--region",
      "us-east",
      "--nats",
      ctx.urls.join(","),
      "--creds",
      "/etc/atlas/coordinator.creds",
      "--signing-key",
      "/etc/atlas/signing.key",
      "--key-dir",
      "/var/lib/atlas/keys",
      "--metrics-port",
      `${_freePort()}`,
    ]);
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"in":"container"}');
    await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"in":"container"}' });
    await waitFor(
      "the agent container applied v1",
      async () =>
        (await Deno.readTextFile(`${dir}/srv/web.json`).catch(() => "")) ===
          '{"in":"container"}',
      { timeoutMs: 60_000 },
    );
    // The image's HEALTHCHECK probes each program (first probe 5 s after start).
    for (const c of [control, agent]) {
      await waitFor(`${c.name} healthy`, async () => (await c.health()) === "healthy", {
        timeoutMs: 60_000,
        intervalMs: 250,
      });
    }
    const healthyMs = performance.now() - started;
    await waitFor(
      "the coordinator leads",
      async () => /"msg":"leading"/.test(await coordinator.logTail()),
    );
    for (const c of [agent, coordinator, control]) {
      const stopped = performance.now();
      await docker(["stop", c.name]);
      const code = await docker(["inspect", "-f", "{{.State.ExitCode}}", c.name]);
      assert.equal(code, "0", `${c.name} drains and exits 0 on docker stop`);
      console.log(`${c.name}: stopped in ${(performance.now() - stopped).toFixed(0)} ms`);
    }
    console.log(
      `control container: /healthz after ${readyMs.toFixed(0)} ms, healthy after ` +
        `${healthyMs.toFixed(0)} ms (image ${await docker([
          "image",
          "inspect",
          "-f",
          "{{.Size}}",
          IMAGE,
        ])} bytes)`,
    );
  },
  { ignore: skip !== undefined },
);
