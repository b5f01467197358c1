/**
 * The systemd units, where systemd is not: each unit's ExecStart line is run as a process
 * (its paths mapped into a temp dir, its Environment= and EnvironmentFile= applied) against
 * a real nats-server with authorization, and must come up and stop cleanly on SIGTERM.
 */
import assert from "node:assert/strict";
import { generateSigningKey, Signer, tokenFileEntry } from "@atlas/core";
import { activateVersion, natsTest, storeVersion, tempDir, waitFor } from "@atlas/testkit";
import {
  execStart,
  expandSpecifiers,
  parseUnit,
  type Specifiers,
  type Unit,
  unitEnvironment,
  unitValues,
} from "./unit.ts";
import { ServiceProcess } from "../service_process.ts";
import { bundleAgent } from "../../scripts/bundle_agent.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const UNITS = ["atlas-control.service", "atlas-coordinator@.service", "atlas-agent.service"];

async function loadUnit(name: string): Promise<Unit> {
  return parseUnit(await Deno.readTextFile(new URL(`./${name}`, import.meta.url)));
}

Deno.test("every unit restarts with backoff, as its own user, with a state directory", async () => {
  for (const name of UNITS) {
    const unit = await loadUnit(name);
    const one = (key: string) => unitValues(unit, "Service", key).join(" ");
    assert.equal(one("Restart"), "on-failure", `${name} Restart`);
    assert.match(one("RestartSteps"), /^[1-9]\d*$/, `${name} backs off`);
    assert.ok(one("RestartMaxDelaySec"), `${name} caps the backoff`);
    assert.equal(one("User"), "atlas", `${name} User`);
    assert.equal(one("Group"), "atlas", `${name} Group`);
    assert.ok(one("StateDirectory"), `${name} StateDirectory`);
    assert.equal(one("KillSignal"), "SIGTERM", `${name} stops on SIGTERM`);
    assert.equal(one("NoNewPrivileges"), "yes", `${name} NoNewPrivileges`);
    // V8's JIT needs writable executable memory: this option would crash deno at start.
    assert.equal(one("MemoryDenyWriteExecute"), "", `${name} leaves MemoryDenyWriteExecute off`);
    assert.match(one("ExecStart"), /^\/usr\/bin\/deno run -A /, `${name} runs deno`);
    assert.deepEqual(unitValues(unit, "Install", "WantedBy"), ["multi-user.target"]);
  }
  const agent = (await loadUnit("atlas-agent.service")).get("Service") ?? [];
  assert.ok(
    agent.some(([k, v]) => k === "ExecStart" && v.includes("/atlas-agent.js ")),
    "the agent unit runs the bundled agent",
  );
});

Deno.test("unit parsing expands as systemd does and refuses what it cannot", async () => {
  const unit = parseUnit(
    '[Service]\n# c\nEnvironment=A=1 "B=two words"\nEnvironment=E=\nExecStart=-/bin/x \\\n' +
      "  --r %i --s %S/x $B ${B} $E %%\n",
  );
  const env = await unitEnvironment(unit, { instance: "eu" }, () => Promise.resolve(undefined));
  assert.deepEqual(env, { A: "1", B: "two words", E: "" });
  assert.deepEqual(execStart(unit, { instance: "eu", stateRoot: "/s" }, env), [
    "/bin/x",
    "--r",
    "eu",
    "--s",
    "/s/x",
    "two",
    "words",
    "two words",
    "%",
  ]);
  assert.throws(() => expandSpecifiers("%i"), { name: "TypeError", message: /instance/ });
  assert.throws(() => expandSpecifiers("%h"), { message: /Unknown specifier %h/ });
  assert.throws(() => parseUnit("User=x"), { name: "SyntaxError", message: /line 1/ });
  const needsFile = parseUnit("[Service]\nEnvironmentFile=/etc/x.env\n");
  await assert.rejects(
    unitEnvironment(needsFile, {}, () => Promise.resolve(undefined)),
    /EnvironmentFile \/etc\/x\.env does not exist/,
  );
});

/** `promise`, or an error naming `what` once `ms` pass (a bound, not a timing claim). */
async function _within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `name`'s ExecStart as systemd would, with `map` turning host paths into test paths. */
async function startUnit(
  name: string,
  map: (path: string) => string,
  options: { instance?: string; args?: (argv: string[]) => string[] } = {},
): Promise<ServiceProcess> {
  const unit = await loadUnit(name);
  const spec: Specifiers = { ...(options.instance ? { instance: options.instance } : {}) };
  const env = await unitEnvironment(
    unit,
    spec,
    (p) => Deno.readTextFile(map(p)).catch(() => undefined),
  );
  for (const [k, v] of Object.entries(env)) env[k] = map(v);
  const state = map(
    `/var/lib/${expandSpecifiers(unitValues(unit, "Service", "StateDirectory")[0]!, spec)}`,
  );
  await Deno.mkdir(state, { recursive: true });
  env.STATE_DIRECTORY = state;
  env.PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";
  env.NO_COLOR = "1";
  const argv = execStart(unit, spec, env).map(map);
  const cwd = map(
    expandSpecifiers(unitValues(unit, "Service", "WorkingDirectory")[0] ?? "/", spec),
  );
  return ServiceProcess.spawn(name, options.args ? options.args(argv) : argv, {
    cwd,
    env,
    clearEnv: true,
  });
}

natsTest(
  "each unit's ExecStart runs its service, which exits 0 on SIGTERM, NATS up or gone",
  async (ctx) => {
    const dir = await tempDir({ prefix: "atlas-systemd-" });
    const prefixes: [string, string][] = [
      ["/usr/bin/deno", Deno.execPath()],
      ["/opt/atlas", ROOT],
      ["/etc/atlas", `${dir}/etc/atlas`],
      ["/var/lib", `${dir}/var/lib`],
      ["/usr/local/lib/atlas", `${dir}/lib`],
    ];
    const map = (s: string) => {
      const hit = prefixes.find(([from]) => s === from || s.startsWith(`${from}/`));
      return hit ? hit[1] + s.slice(hit[0].length) : s;
    };
    const etc = map("/etc/atlas");
    await Deno.mkdir(etc, { recursive: true });
    const key = generateSigningKey();
    const signer = new Signer(key);
    await Deno.writeTextFile(`${etc}/signing.key`, JSON.stringify(key));
    const secret = "atlas_systemd-test-secret-0123456789abcdef";
    await Deno.writeTextFile(
      `${etc}/tokens.json`,
      JSON.stringify([tokenFileEntry("admin", "admin", secret)]),
    );
    await Deno.writeTextFile(`${etc}/control.creds`, await ctx.auth.creds("control"));
    await Deno.writeTextFile(
      `${etc}/coordinator-us-east.creds`,
      await ctx.auth.creds({ kind: "coordinator", region: "us-east" }),
    );
    await Deno.writeTextFile(
      `${etc}/agent.creds`,
      await ctx.auth.creds({ kind: "agent", region: "us-east", agent: "a1" }),
    );
    await Deno.writeTextFile(`${etc}/atlas.env`, `ATLAS_NATS_URL=${ctx.urls.join(",")}\n`);
    await Deno.writeTextFile(
      `${etc}/trusted-keys.json`,
      JSON.stringify({ keys: [signer.trustedKey] }),
    );
    const webFile = `${dir}/srv/web.json`;
    await Deno.writeTextFile(
      `${etc}/agent.json`,
      JSON.stringify({
        id: "a1",
        region: "us-east",
        nats: ctx.urls,
        credentials: `${etc}/agent.creds`,
        stateDir: map("/var/lib/atlas-agent/state"),
        trustedKeys: `${etc}/trusted-keys.json`,
        configs: { web: { path: webFile } },
      }),
    );
    await bundleAgent({ output: map("/usr/local/lib/atlas/atlas-agent.js"), log: () => {} });

    const started: ServiceProcess[] = [];
    try {
      // control plane: on an ephemeral port instead of 8080
      const control = await startUnit("atlas-control.service", map, {
        args: (argv) => argv.map((a, i) => argv[i - 1] === "--port" ? "0" : a),
      });
      started.push(control);
      ctx.addLog(control);
      const url = await waitFor(
        "the control plane listens",
        () => control.output.match(/"msg":"listening".*"url":"(http:[^"]+)"/)?.[1],
        { timeoutMs: 60_000 },
      );
      const health = await (await fetch(`${url}/healthz`)).json() as {
        ok?: boolean;
        nats?: { connected?: boolean };
      };
      assert.equal(health.ok, true);
      assert.equal(health.nats?.connected, true);
      await Deno.stat(map("/var/lib/atlas-control/keys"));

      // the region's coordinator takes its lease
      const coordinator = await startUnit("atlas-coordinator@.service", map, {
        instance: "us-east",
      });
      started.push(coordinator);
      ctx.addLog(coordinator);
      await waitFor(
        "the coordinator leads us-east",
        () => /"msg":"leading"/.test(coordinator.output),
        {
          timeoutMs: 60_000,
        },
      );

      // the bundled agent applies a version and heartbeats
      const agent = await startUnit("atlas-agent.service", map);
      started.push(agent);
      ctx.addLog(agent);
      const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"unit":"agent"}');
      await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"unit":"agent"}' });
      await waitFor(
        "the agent applied v1",
        async () => (await Deno.readTextFile(webFile).catch(() => "")) === '{"unit":"agent"}',
        { timeoutMs: 60_000 },
      );
      await waitFor("its heartbeat", async () => {
        const kv = await ctx.nats.kv("atlas_agents");
        return await kv.get("us-east.a1");
      });
      // NATS up: the control plane drains and exits 0
      assert.equal((await control.stop("SIGTERM")).code, 0, "control exits 0 on SIGTERM");
      // NATS gone: closes wait on it, yet agent and coordinator exit 0 by their stop deadline
      await ctx.servers[0]!.stop();
      for (const p of [agent, coordinator]) {
        const status = await _within(60_000, p.stop("SIGTERM"), `${p.name} exits after SIGTERM`);
        assert.equal(status.code, 0, `${p.name} exits 0 on SIGTERM with NATS gone`);
      }
    } finally {
      for (const p of started) await p.stop("SIGKILL");
    }
  },
);
