import assert from "node:assert/strict";
import {
  APP_PATHS,
  ATLAS_IMAGE,
  CACHE_ARGS,
  INSTALL_ARGS,
  NATS_IMAGE,
  ROLES,
  scratchDockerfile,
  userDatabase,
} from "./image.ts";
import { readDockerfile } from "./dockerfile.ts";
import { lddPaths } from "./images.ts";
import { containerControlArgs, healthUrl } from "./entrypoint.ts";

const CONVENTIONAL = await Deno.readTextFile(new URL("./Dockerfile", import.meta.url));
const { userName: _name, ...atlasRuntime } = ATLAS_IMAGE;

Deno.test("the conventional Dockerfile runs containers as image.ts describes", () => {
  const read = readDockerfile(CONVENTIONAL);
  assert.deepEqual(read.runtime, atlasRuntime);
  assert.match(read.from[0] ?? "", /^denoland\/deno:2\.\d+\.\d+$/);
});

Deno.test("the local build's Dockerfile and the conventional one describe the same image", () => {
  const local = readDockerfile(scratchDockerfile(ATLAS_IMAGE, ["COPY rootfs/ /"]));
  assert.deepEqual(local.from, ["scratch"]);
  assert.deepEqual(local.runtime, readDockerfile(CONVENTIONAL).runtime);
  const { userName: _n, ...natsRuntime } = NATS_IMAGE;
  assert.deepEqual(readDockerfile(scratchDockerfile(NATS_IMAGE, [])).runtime, natsRuntime);
});

Deno.test("the conventional Dockerfile builds like the local build", () => {
  const read = readDockerfile(CONVENTIONAL);
  assert.ok(read.runs.includes(`deno ${INSTALL_ARGS.join(" ")}`), "deno install as images.ts");
  assert.ok(read.runs.includes(`deno ${CACHE_ARGS.join(" ")}`), "deno cache as images.ts");
  const sources = read.copies.flatMap((c) => c.split(" ").slice(0, -1));
  for (const path of APP_PATHS) {
    assert.ok(sources.includes(path), `the Dockerfile copies ${path}`);
  }
  const [uid, gid] = ATLAS_IMAGE.user.split(":");
  const users = read.runs.find((r) => r.includes("useradd")) ?? "";
  assert.match(users, new RegExp(`--uid ${uid} --gid ${gid}`));
  assert.match(users, new RegExp(`chown -R ${uid}:${gid} ${ATLAS_IMAGE.volumes[0]} `));
});

Deno.test("a Dockerfile that drifts from image.ts is told apart", () => {
  const drifted = CONVENTIONAL.replace(/^USER .*$/m, "USER root");
  assert.notDeepEqual(readDockerfile(drifted).runtime, atlasRuntime);
  const noHealth = CONVENTIONAL.replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, "HEALTHCHECK NONE\n");
  assert.notEqual(noHealth, CONVENTIONAL);
  assert.deepEqual(readDockerfile(noHealth).runtime.healthcheck.test, ["NONE"]);
});

Deno.test("readDockerfile refuses what it cannot compare", () => {
  assert.throws(() => readDockerfile("FROM scratch\nENTRYPOINT deno run x.ts"), {
    name: "SyntaxError",
    message: /ENTRYPOINT deno run x\.ts: use the exec form/,
  });
  assert.throws(() => readDockerfile("FROM scratch\nENV A"), { message: /KEY=value/ });
  assert.throws(() => readDockerfile("HEALTHCHECK --interval=1s curl x"), { message: /CMD/ });
});

Deno.test("lddPaths lists the libraries and the loader ldd prints", () => {
  const out = "\tlinux-vdso.so.1 (0x00007ffd)\n" +
    "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f75)\n" +
    "\t/lib64/ld-linux-x86-64.so.2 (0x00007f75)\n";
  assert.deepEqual(lddPaths(out), [
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/ld-linux-x86-64.so.2",
  ]);
});

Deno.test("the health check probes what each program serves", async () => {
  const files: Record<string, string> = {
    "/etc/atlas/agent.json": JSON.stringify({ http: "0.0.0.0:2772" }),
    "/etc/atlas/quiet.json": JSON.stringify({ id: "a" }),
  };
  const read = (p: string) =>
    files[p] === undefined ? Promise.reject(new Error("no file")) : Promise.resolve(files[p]!);
  assert.equal(await healthUrl(["control"], read), "http://127.0.0.1:8080/healthz");
  assert.equal(
    await healthUrl(["control", "--port", "9000"], read),
    "http://127.0.0.1:9000/healthz",
  );
  assert.equal(
    await healthUrl(["agent", "--config", "/etc/atlas/agent.json"], read),
    "http://127.0.0.1:2772/healthz",
  );
  assert.equal(
    await healthUrl(["agent", "-c", "/etc/atlas/quiet.json", "--http", "[::]:7000"], read),
    "http://127.0.0.1:7000/healthz",
  );
  assert.equal(await healthUrl(["agent", "--config", "/etc/atlas/quiet.json"], read), undefined);
  assert.equal(await healthUrl(["agent", "--config", "/missing.json"], read), undefined);
  assert.equal(
    await healthUrl(["coordinator", "--metrics-port", "9464"], read),
    "http://127.0.0.1:9464/metrics",
  );
  assert.equal(await healthUrl(["coordinator", "--region", "r"], read), undefined);
});

Deno.test("control in a container listens on every interface unless told", () => {
  assert.deepEqual(containerControlArgs(["--port", "1"]), [
    "--port",
    "1",
    "--hostname",
    "0.0.0.0",
  ]);
  assert.deepEqual(containerControlArgs(["--hostname=10.0.0.1"]), ["--hostname=10.0.0.1"]);
});

Deno.test("the image's user database names its user, and every program has a main", async () => {
  const { passwd, group } = userDatabase(ATLAS_IMAGE);
  assert.match(passwd, /^atlas:x:10001:10001:atlas:\/var\/lib\/atlas:\/sbin\/nologin$/m);
  assert.match(group, /^atlas:x:10001:$/m);
  for (const file of Object.values(ROLES)) {
    await Deno.stat(new URL(`../../${file}`, import.meta.url));
  }
});
