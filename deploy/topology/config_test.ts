import assert from "node:assert/strict";
import { atlasCommand, natsConfig } from "./config.ts";
import { _firstTarEntry } from "./docker.ts";

Deno.test("a node routes to itself by IP and to its peers and gateways by name", () => {
  const conf = natsConfig({
    name: "primary-2",
    cluster: "primary",
    routes: ["primary-1", "primary-2", "primary-3"],
    gateways: [
      { name: "primary", nodes: ["primary-1", "primary-2", "primary-3"] },
      { name: "us-east", nodes: ["us-east-1"] },
    ],
  });
  assert.match(conf, /server_name: "primary-2"/);
  assert.match(
    conf,
    /routes: \["nats-route:\/\/primary-1:6222", "nats-route:\/\/127\.0\.0\.1:6222", "nats-route:\/\/primary-3:6222"\]/,
  );
  assert.match(conf, /advertise: "primary-2:7222"/);
  assert.match(conf, /\{ name: "us-east", urls: \["nats:\/\/us-east-1:7222"\] \}/);
  assert.match(conf, /no_advertise: true/);
});

Deno.test("an Atlas container's command is the program, then its flags", () => {
  assert.deepEqual(atlasCommand("agent", ["--config", "/etc/atlas/agent.json"]), [
    "agent",
    "--config",
    "/etc/atlas/agent.json",
  ]);
});

Deno.test("the first regular file of a tar stream is read out, whatever its size", () => {
  const header = (name: string, size: number, type: string) => {
    const h = new Uint8Array(512);
    h.set(new TextEncoder().encode(name), 0);
    h.set(new TextEncoder().encode(size.toString(8).padStart(11, "0") + "\0"), 124);
    h[156] = type.charCodeAt(0);
    return h;
  };
  const body = new TextEncoder().encode('{"v":1}');
  const tar = new Uint8Array(512 * 4);
  tar.set(header("dir/", 0, "5"), 0);
  tar.set(header("dir/web.json", body.length, "0"), 512);
  tar.set(body, 1024);
  assert.equal(new TextDecoder().decode(_firstTarEntry(tar)), '{"v":1}');
  assert.equal(_firstTarEntry(new Uint8Array(1024)), undefined, "an empty archive has none");
});
