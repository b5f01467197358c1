import assert from "node:assert/strict";
import { buildImages } from "./images.ts";
import { readDockerfile } from "./dockerfile.ts";
import { NATS_IMAGE } from "./image.ts";

Deno.test("the nats image's context holds nats-server, every library ldd lists, and its user", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-images-ctx-" });
  try {
    const lines: string[] = [];
    const [built] = await buildImages({
      images: ["nats"],
      contextDir: dir,
      contextOnly: true,
      log: (l) => lines.push(l),
    });
    assert.equal(built?.name, "atlas-nats:local");
    assert.ok(lines.some((l) => l.includes("done in")), "it reports progress");
    const root = `${built!.context}/rootfs`;
    assert.ok((await Deno.stat(`${root}/nats-server`)).mode! & 0o111, "nats-server executable");
    const ldd = await new Deno.Command("ldd", { args: ["/usr/sbin/nats-server"], stdout: "piped" })
      .output();
    const libs = new TextDecoder().decode(ldd.stdout).match(/\/\S+\.so[.\d]*/g) ?? [];
    assert.ok(libs.length > 0);
    for (const lib of libs) await Deno.stat(`${root}${lib}`);
    assert.match(await Deno.readTextFile(`${root}/etc/passwd`), /^nats:x:10002:10002:/m);
    const { userName: _n, ...runtime } = NATS_IMAGE;
    const dockerfile = readDockerfile(await Deno.readTextFile(`${built!.context}/Dockerfile`));
    assert.deepEqual(dockerfile.from, ["scratch"]);
    assert.deepEqual(dockerfile.runtime, runtime);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buildImages refuses a bad tag and a missing nats-server, saying what to do", async () => {
  await assert.rejects(buildImages({ tag: "a b", contextOnly: true }), {
    name: "TypeError",
    message: /Cannot tag images "a b"/,
  });
  await assert.rejects(
    buildImages({ images: ["nats"], natsServer: "/nonexistent/nats-server", contextOnly: true }),
    { name: "ImageBuildError", message: /apt-get install nats-server/ },
  );
});
