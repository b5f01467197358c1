/**
 * Tests that run the agent as a real process (`deno run agent/main.ts`), for what only a
 * process shows: SIGKILL mid-write, start-up with NATS down.
 */
import assert from "node:assert/strict";
import { activateVersion, natsTest, storeVersion, waitFor } from "@atlas/testkit";
import { provision, retryTransient } from "@atlas/store";
import { Streams } from "@atlas/core";
import { fileOf, makeAgentConfig, signer, startTestAgent } from "./test_helpers.ts";
import type { AgentConfig } from "./config.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
/** The agent with a pause between the chunks of every write, to be killed mid-write. */
const SLOW_WRITE_MAIN = new URL("./slow_write_main.ts", import.meta.url).pathname;

/** An agent process whose output is kept for the failure log. */
class AgentProcess {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  #out = "";

  constructor(config: AgentConfig, configFile: string, main: string) {
    this.name = `agent process ${config.id}`;
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "--config", configFile],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    for (const stream of [this.child.stdout, this.child.stderr]) {
      (async () => {
        const dec = new TextDecoder();
        for await (const chunk of stream) this.#out += dec.decode(chunk);
      })().catch(() => {});
    }
  }

  static async start(config: AgentConfig, main = MAIN): Promise<AgentProcess> {
    const dir = config.stateDir.slice(0, config.stateDir.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true });
    const file = `${dir}/agent.json`;
    await Deno.writeTextFile(file, JSON.stringify(config));
    return new AgentProcess(config, file, main);
  }

  get output(): string {
    return this.#out;
  }

  logTail(lines = 60): Promise<string> {
    return Promise.resolve(this.#out.split("\n").slice(-lines).join("\n"));
  }

  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    await this.child.status;
  }
}

natsTest(
  "kill -9 of an agent mid-write leaves the old file whole; restart completes the new one",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls);
    const path = fileOf(cfg);
    const dir = path.slice(0, path.lastIndexOf("/"));
    const oldBytes = JSON.stringify({ v: 1, pad: "a".repeat(200_000) });
    const newBytes = JSON.stringify({ v: 2, pad: "b".repeat(200_000) });
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, oldBytes);
    await activateVersion(ctx.nats, signer, "us-east", v1, { content: oldBytes });

    const slow = await AgentProcess.start(cfg, SLOW_WRITE_MAIN);
    ctx.addLog(slow);
    await waitFor(
      "v1 applied",
      async () => (await Deno.readTextFile(path).catch(() => "")) === oldBytes,
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor("v1 acked", () => / agent applied .*config=web version=1 /.test(slow.output));
    const v2 = await storeVersion(ctx.nats, signer, "web", 2, newBytes);
    await activateVersion(ctx.nats, signer, "us-east", v2, { content: newBytes });
    await waitFor(
      "temp file being written",
      () =>
        [...Deno.readDirSync(dir)].some((e) =>
          e.name.includes(".atlas-tmp-") && Deno.statSync(`${dir}/${e.name}`).size > 0
        ),
    );
    await slow.kill("SIGKILL");
    assert.equal(
      await Deno.readTextFile(path),
      oldBytes,
      "after SIGKILL the file is the old one, whole",
    );

    const again = await AgentProcess.start(cfg);
    ctx.addLog(again);
    try {
      await waitFor(
        "v2 applied after restart",
        async () => (await Deno.readTextFile(path)) === newBytes,
        {
          timeoutMs: 30_000,
        },
      );
      await waitFor(
        "temp files cleaned",
        () => [...Deno.readDirSync(dir)].every((e) => !e.name.includes(".atlas-tmp-")),
      );
    } finally {
      await again.kill("SIGTERM");
    }
  },
);

natsTest(
  "an agent started while NATS is down serves its last good file and catches up",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls);
    const path = fileOf(cfg);
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
    await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
    {
      await using agent = await startTestAgent(ctx, cfg);
      await waitFor("v1", () => agent.stats.applies === 1);
    }
    const server = ctx.servers[0]!;
    await server.stop();
    const proc = await AgentProcess.start(cfg);
    ctx.addLog(proc);
    try {
      await waitFor(
        "agent says it serves v1",
        () => / serving last applied version .*config=web version=1\b/.test(proc.output),
      );
      assert.equal(await Deno.readTextFile(path), '{"v":1}');
      const early = await Promise.race([
        proc.child.status.then(() => "exited"),
        new Promise((r) => setTimeout(() => r("running"), 500)),
      ]);
      assert.equal(early, "running", "the agent keeps running without NATS");
      await server.restart();
      await retryTransient(async () => {
        const v2 = await storeVersion(ctx.nats, signer, "web", 2, '{"v":2}');
        await activateVersion(ctx.nats, signer, "us-east", v2, { content: '{"v":2}' });
      });
      await waitFor(
        "v2 after NATS is back",
        async () => (await Deno.readTextFile(path)) === '{"v":2}',
        {
          timeoutMs: 30_000,
        },
      );
    } finally {
      await proc.kill("SIGTERM");
    }
  },
);

natsTest(
  "acks made while the acks stream is unreachable survive a restart and arrive once",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls);
    await ctx.nats.jsm.streams.delete(Streams.acks);
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
    {
      await using agent = await startTestAgent(ctx, cfg);
      await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
      await waitFor("applied", () => agent.stats.applies === 1);
      await waitFor("ack pending", async () => (await agent.pendingAcks()) === 1);
    }
    await provision(ctx.nats);
    await using agent = await startTestAgent(ctx, cfg);
    await waitFor("outbox drained", async () => (await agent.pendingAcks()) === 0);
    await agent.reconcile();
    const info = await ctx.nats.jsm.streams.info(Streams.acks);
    assert.equal(info.state.messages, 1, "exactly one ack in the stream");
    assert.equal(agent.stats.applies, 0, "no re-apply after restart");
  },
);

natsTest(
  "an agent fails over to another NATS node of its region and keeps applying",
  async (ctx) => {
    const cfg = await makeAgentConfig(ctx.urls, { reconcileSeconds: 2 });
    await using agent = await startTestAgent(ctx, cfg);
    const v1 = await storeVersion(ctx.nats, signer, "web", 1, '{"v":1}');
    await activateVersion(ctx.nats, signer, "us-east", v1, { content: '{"v":1}' });
    await waitFor("v1", () => agent.stats.applies === 1);
    // Kill the node the agent is connected to (SIGKILL, as a crash would).
    const hb = await (await ctx.nats.kv("atlas_agents")).get("us-east.a1");
    assert.ok(hb, "the agent has heartbeated");
    const connected = await Promise.all(ctx.servers.map(async (s) => {
      const connz = await (await fetch(`${s.monitorUrl}/connz`)).json() as {
        connections?: { name?: string }[];
      };
      return connz.connections?.some((c) => c.name === "atlas-agent us-east/a1") ? s : undefined;
    }));
    const node = connected.find((s) => s !== undefined)!;
    await node.kill();
    const v2 = await retryTransient(() => storeVersion(ctx.nats, signer, "web", 2, '{"v":2}'), {
      deadlineMs: 30_000,
    });
    await retryTransient(
      () => activateVersion(ctx.nats, signer, "us-east", v2, { content: '{"v":2}' }),
      {
        deadlineMs: 30_000,
      },
    );
    await waitFor(
      "v2 through another node",
      async () => (await Deno.readTextFile(fileOf(cfg))) === '{"v":2}',
      {
        timeoutMs: 30_000,
      },
    );
    await node.restart();
  },
  { nodes: 3 },
);
