/**
 * Dev mode runs NATS with authorization: an anonymous client is refused on every cluster,
 * and the credentials it keeps work.
 */
import assert from "node:assert/strict";
import { handshake, tempDir } from "@atlas/testkit";

const DEV = new URL("../scripts/dev.ts", import.meta.url).pathname;

Deno.test("dev mode refuses anonymous NATS clients", async () => {
  const dir = await tempDir({ prefix: "atlas-dev-auth-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", DEV, "--data-dir", dir, "--port", "0"],
      ...["--regions", "us-east", "--agents-per-region", "1", "--agent-http", "off"],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  const errors = new Response(child.stderr).text();
  try {
    const deadline = Date.now() + 120_000;
    while (!out.includes("Atlas dev mode is up") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(out, /Atlas dev mode is up/, out);
    assert.match(out, /NATS auth +on: anonymous clients are refused/);
    const dev = JSON.parse(await Deno.readTextFile(`${dir}/dev.json`)) as {
      natsUrl: string;
      regions: Record<string, string>;
      readerCreds: string;
    };
    const reader = await Deno.readTextFile(dev.readerCreds);
    for (const url of [dev.natsUrl, ...Object.values(dev.regions)]) {
      assert.match(await handshake(url), /-ERR 'Authorization Violation'/, url);
      assert.match(await handshake(url, reader), /PONG/, url);
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reading;
    await errors;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
