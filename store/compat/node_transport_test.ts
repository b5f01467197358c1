import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { natsTest, waitFor } from "@atlas/testkit";
import { guardSocket, transportErrors } from "./node_transport.ts";

/** This process's TCP sockets to `port` (not listening ones), as `state local-port`. */
async function socketsTo(port: number): Promise<string[]> {
  const out = await new Deno.Command("ss", { args: ["-tanpH"] }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((l) => l.includes(`pid=${Deno.pid},`))
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[4]?.endsWith(`:${port}`))
    .map((f) => `${f[0]} ${f[3]!.split(":").at(-1)}`);
}

/** The pid of the process listening on `port`. */
async function listenerPid(port: number): Promise<number> {
  const out = await new Deno.Command("ss", { args: ["-ltnpH"] }).output();
  const line = new TextDecoder().decode(out.stdout).split("\n")
    .find((l) => l.trim().split(/\s+/)[3]?.endsWith(`:${port}`));
  const pid = Number(/pid=(\d+)/.exec(line ?? "")?.[1]);
  assert.ok(pid > 0, `no process listens on ${port}`);
  return pid;
}

natsTest(
  "a connection closed while dialing a stalled server leaves no socket open",
  async (ctx) => {
    const server = ctx.servers[0]!;
    // A long connect timeout: only the close can end the stalled attempt.
    const nats = await ctx.connect("reader", { timeoutMs: 30_000 });
    // Sockets open before (ctx.nats's among them) are not the attempt's.
    const before = new Set(await socketsTo(server.port));
    const pid = await listenerPid(server.port);
    Deno.kill(pid, "SIGSTOP");
    try {
      // The kernel still completes the handshake; the stopped server never sends INFO.
      await nats.nc.reconnect();
      await waitFor(
        "a new connect attempt to the stopped server",
        async () => (await socketsTo(server.port)).some((s) => !before.has(s)),
        { timeoutMs: 10_000 },
      );
      await nats.nc.close();
      await waitFor(
        "the abandoned attempt's socket to be destroyed",
        async () => !(await socketsTo(server.port)).some((s) => !before.has(s)),
        { timeoutMs: 5_000 },
      );
    } finally {
      Deno.kill(pid, "SIGCONT");
    }
  },
);

natsTest("a socket error after its listeners were removed is not uncaught", async (ctx) => {
  const port = ctx.servers[0]!.port;
  const socket = guardSocket(createConnection(port, "127.0.0.1"));
  try {
    await new Promise((resolve) => socket.once("connect", resolve));
    // What NodeTransport does on connect, on INFO and on close.
    socket.removeAllListeners();
    const before = transportErrors.get("ERR_STREAM_WRITE_AFTER_END") ?? 0;
    const error = Object.assign(new Error("write after end"), {
      code: "ERR_STREAM_WRITE_AFTER_END",
    });
    // Without a listener, emit("error") throws: the process would end.
    assert.doesNotThrow(() => socket.emit("error", error));
    assert.equal(transportErrors.get("ERR_STREAM_WRITE_AFTER_END"), before + 1);
  } finally {
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.destroy();
    await closed;
  }
});
