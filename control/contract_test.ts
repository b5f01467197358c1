/**
 * The API against its own document, judged by a third-party tool: Stoplight Prism's
 * validation proxy (`prism proxy --errors`) stands between a crawl and a live control
 * plane and checks every request and response against `/openapi.json`. The test fails on
 * any 5xx and on anything Prism reports (`sl-violations`, or its own problem response).
 *
 * Prism is an npm tool installed ahead of the tests (`.ci/run`, or by hand:
 * `npm install --prefix .atlas/tools @stoplight/prism-cli@5.16.0`); without it this
 * test is skipped, loudly. `ATLAS_PRISM` names another prism binary.
 *
 * @module
 */
import assert from "node:assert/strict";
import { tempDir, waitFor } from "@atlas/testkit";
import { controlTest, type ControlTestContext, holdLeases, writeHeartbeat } from "./testing.ts";

const PRISM = Deno.env.get("ATLAS_PRISM") ??
  new URL("../.atlas/tools/node_modules/.bin/prism", import.meta.url).pathname;

function _missing(): string | undefined {
  try {
    Deno.statSync(PRISM);
    return undefined;
  } catch (e) {
    return `${PRISM} is missing (${(e as Error).name}): npm install --prefix .atlas/tools ` +
      `@stoplight/prism-cli@5.16.0`;
  }
}
const MISSING = _missing();
if (MISSING) console.warn(`control/contract_test.ts: SKIPPING the contract test: ${MISSING}`);

function _freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Prism's validation proxy over `upstream`, checking against the document in `docPath`. */
async function startPrism(docPath: string, upstream: string) {
  const port = _freePort();
  const child = new Deno.Command(PRISM, {
    args: ["proxy", docPath, upstream, "--errors", "--port", String(port), "-h", "127.0.0.1"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const output = child.output();
  const url = `http://127.0.0.1:${port}`;
  await waitFor("prism to listen", async () => {
    try {
      await (await fetch(`${url}/healthz`)).body?.cancel();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 20_000 });
  return {
    url,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await output;
    },
    async log() {
      child.kill("SIGTERM");
      const { stdout, stderr } = await output;
      return new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    },
  };
}

interface Exchange {
  method: string;
  path: string;
  status: number;
  violations: string | null;
  text: string;
}

/** Sends requests through the proxy, recording what Prism says of each. */
class Crawl {
  readonly seen: Exchange[] = [];
  constructor(readonly url: string) {}

  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        Authorization: "Bearer admin-secret-for-tests",
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    this.seen.push({
      method,
      path,
      status: res.status,
      violations: res.headers.get("sl-violations"),
      text,
    });
    return { status: res.status, json: () => JSON.parse(text) };
  }

  /** Exchanges Prism objected to, or that failed on the server. */
  problems(): string[] {
    return this.seen.filter((e) =>
      e.status >= 500 || e.violations !== null || /stoplight\.io\/prism/.test(e.text)
    ).map((e) =>
      `${e.method} ${e.path} → ${e.status} ${e.violations ?? ""} ${e.text.slice(0, 400)}`
    );
  }
}

async function _serve(ctx: ControlTestContext) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, ctx.app.fetch);
  const upstream = `http://127.0.0.1:${server.addr.port}`;
  const doc = await (await fetch(`${upstream}/openapi.json`)).json();
  return { server, upstream, doc };
}

function _register(name: string, fn: (ctx: ControlTestContext) => Promise<void>) {
  if (MISSING) Deno.test({ name, ignore: true, fn() {} });
  else controlTest(name, fn);
}

_register("every answer of a crawl through Prism's proxy matches the document", async (ctx) => {
  const { server, upstream, doc } = await _serve(ctx);
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/openapi.json`, JSON.stringify(doc));
    await using prism = await startPrism(`${dir}/openapi.json`, upstream);
    const c = new Crawl(prism.url);
    const schema = { type: "object", properties: { n: { type: "integer" } } };
    await c.send("GET", "/healthz");
    await c.send("GET", "/docs");
    await c.send("PUT", "/v1/configs/web", { description: "web", schema });
    await c.send("PUT", "/v1/configs/notes", { contentType: "text/plain" });
    await c.send("GET", "/v1/configs");
    await c.send("GET", "/v1/configs?limit=1");
    await c.send("GET", "/v1/configs/web");
    await c.send("GET", "/v1/configs/nope");
    await c.send("POST", "/v1/configs/web/versions", { content: '{"n": 1}\n', message: "one" });
    await c.send("POST", "/v1/configs/web/versions", { content: { n: 2 } }, {
      "Idempotency-Key": "k1",
    });
    await c.send("POST", "/v1/configs/web/versions", { content: { n: 2 } }, {
      "Idempotency-Key": "k1",
    });
    await c.send("POST", "/v1/configs/web/versions", { content: { n: "x" } });
    await c.send("POST", "/v1/configs/notes/versions", { content: "hello\n" });
    await c.send("GET", "/v1/configs/web/versions");
    await c.send("GET", "/v1/configs/web/versions?limit=1");
    await c.send("GET", "/v1/configs/web/versions/1");
    await c.send("GET", "/v1/configs/web/versions/9");
    await c.send("GET", "/v1/configs/web/versions/1/content");
    await c.send("GET", "/v1/configs/notes/versions/1/content");
    await c.send("GET", "/v1/configs/web/diff?from=1&to=2");
    await c.send("POST", "/v1/configs/web/activate", { version: 1 });
    await c.send("POST", "/v1/configs/web/activate", { version: 2, regions: ["us-east"] });
    await c.send("POST", "/v1/configs/web/rollback", { regions: ["us-east"] });
    await c.send("POST", "/v1/configs/web/rollback", {});
    await c.send("GET", "/v1/configs/web/status");
    await writeHeartbeat(ctx.nats, "us-east", "a1", {}, 600_000);
    await c.send("GET", "/v1/agents");
    await c.send("GET", "/v1/agents?region=us-east&limit=1");
    await c.send("POST", "/v1/agents/us-east/a1/release", {});
    await c.send("DELETE", "/v1/agents/us-east/a1");
    await holdLeases(ctx.nats, ["us-east", "eu-west"]);
    const started = await c.send("POST", "/v1/configs/web/rollouts", {
      version: 2,
      strategy: { name: "canary", canaryPercent: 10, bakeSeconds: 1 },
    });
    await c.send("POST", "/v1/configs/web/rollouts", { version: 2, strategy: "linear" });
    const id = started.status === 201 ? (started.json() as { id: string }).id : "r-none";
    await c.send("GET", "/v1/rollouts");
    await c.send("GET", "/v1/rollouts?config=web&state=running&limit=5");
    await c.send("GET", `/v1/rollouts/${id}`);
    await c.send("POST", `/v1/rollouts/${id}/pause`, { reason: "look" });
    await c.send("POST", `/v1/rollouts/${id}/promote`);
    await c.send("POST", `/v1/rollouts/${id}/resume`);
    await c.send("POST", `/v1/rollouts/${id}/abort`, {});
    await c.send("GET", "/v1/alerts?all=true&limit=2");
    await c.send("POST", "/v1/alerts/nope/resolve", {});
    await c.send("GET", "/v1/audit?limit=5");
    await c.send("GET", "/v1/audit?config=web");
    await c.send("GET", "/v1/keys");
    await c.send("GET", "/v1/regions");
    await c.send("PUT", "/v1/regions/ap-south", {});
    await c.send("PUT", "/v1/regions/us-east", { replicas: 3 });

    assert.deepEqual(c.problems(), []);
    // The crawl reached the server and saw its refusals too (4xx are checked like 2xx).
    const statuses = new Set(c.seen.map((e) => e.status));
    // On a failure, every exchange's status: what the server answered instead.
    const answers = () => c.seen.map((e) => `${e.method} ${e.path} → ${e.status}`).join("\n");
    for (const s of [200, 201, 404, 409, 422]) {
      assert.ok(statuses.has(s), `saw no ${s}; the answers were:\n${answers()}`);
    }
    assert.ok(c.seen.length >= 45);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

_register("Prism's proxy flags an answer that breaks the document", async (ctx) => {
  const { server, upstream, doc } = await _serve(ctx);
  const dir = await tempDir();
  try {
    // A document that says latestVersion is a string: the live answer breaks it.
    const op = doc.paths["/v1/configs/{name}"].get;
    const schema = op.responses["200"].content["application/json"].schema;
    schema.properties.latestVersion = { type: "string" };
    await Deno.writeTextFile(`${dir}/openapi.json`, JSON.stringify(doc));
    await using prism = await startPrism(`${dir}/openapi.json`, upstream);
    const c = new Crawl(prism.url);
    await c.send("PUT", "/v1/configs/web", {});
    await c.send("GET", "/v1/configs/web");
    const problems = c.problems();
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, /GET \/v1\/configs\/web/);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
