import assert from "node:assert/strict";
import { generateSigningKey, PointerNotice, SignatureError, Signer, Verifier } from "@atlas/core";
import { readPointer, writePointer } from "@atlas/store";
import { waitFor } from "@atlas/testkit";
import { MoveResult } from "./api.ts";
import { controlTest, createConfig, publish } from "./testing.ts";

function codeOf(json: unknown): string {
  return (json as { error: { code: string } }).error.code;
}

controlTest("activating an unknown version or region is 404 and moves nothing", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "one");
  const unknownVersion = await api.call("POST", "/v1/configs/web/activate", {
    body: { version: 2 },
  });
  assert.equal(unknownVersion.status, 404);
  assert.match(unknownVersion.text, /Version 2 of web does not exist/);
  const unknownRegion = await api.call("POST", "/v1/configs/web/activate", {
    body: { version: 1, regions: ["us-east", "mars"] },
  });
  assert.equal(unknownRegion.status, 404);
  assert.match(unknownRegion.text, /mars.*known: eu-west, us-east/);
  const badBody = await api.call("POST", "/v1/configs/web/activate", {
    body: { version: "1" },
  });
  assert.equal(badBody.status, 400);
  assert.equal(await readPointer(nats, "us-east", "web"), null);
  assert.equal(await readPointer(nats, "eu-west", "web"), null);
});

controlTest("rollback with nothing to roll back to is 409 and moves nothing", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "one");
  const none = await api.call("POST", "/v1/configs/web/rollback", { body: {} });
  assert.equal(none.status, 409);
  assert.equal(codeOf(none.json), "conflict");
  assert.match(none.text, /Nothing is active for web in eu-west: activate a version first/);

  await api.ok(200, "POST", "/v1/configs/web/activate", {
    body: { version: 1, regions: ["us-east"] },
  });
  const onlyOne = await api.call("POST", "/v1/configs/web/rollback", {
    body: { regions: ["us-east"] },
  });
  assert.equal(onlyOne.status, 409);
  assert.match(onlyOne.text, /No earlier version/);
  // One region cannot roll back, so the other is not moved either.
  await publish(api, "web", "two");
  await api.ok(200, "POST", "/v1/configs/web/activate", { body: { version: 2 } });
  const partial = await api.call("POST", "/v1/configs/web/rollback", { body: {} });
  assert.equal(partial.status, 409);
  assert.equal((await readPointer(nats, "us-east", "web"))?.pointer.active.version, 2);
  assert.equal((await readPointer(nats, "eu-west", "web"))?.pointer.active.version, 2);
});

controlTest("rollback to a named version keeps the current one in history", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  for (const c of ["one", "two", "three"]) await publish(api, "web", c);
  for (const version of [1, 2, 3]) {
    await api.ok(200, "POST", "/v1/configs/web/activate", {
      body: { version, regions: ["us-east"] },
    });
  }
  assert.deepEqual((await readPointer(nats, "us-east", "web"))?.pointer.history, [2, 1]);
  const result = MoveResult.parse(
    await api.ok(200, "POST", "/v1/configs/web/rollback", {
      body: { regions: ["us-east"], toVersion: 1 },
    }),
  );
  assert.deepEqual(result.regions.map((r) => [r.version, r.previousVersion, r.changed]), [[
    1,
    3,
    true,
  ]]);
  const pointer = (await readPointer(nats, "us-east", "web"))!.pointer;
  assert.equal(pointer.active.version, 1);
  assert.deepEqual(pointer.history, [3, 2, 1]);
  // The reason names the move's audit event (store/journal.ts finds it there at recovery).
  assert.match(pointer.reason, /^rollback to v1 \(audit [0-9a-f-]{36}\)$/);
  const missing = await api.call("POST", "/v1/configs/web/rollback", {
    body: { toVersion: 9 },
  });
  assert.equal(missing.status, 404);
});

controlTest("content over inlineMaxBytes is not inlined in the notice", async ({ api, nats }) => {
  const notices: PointerNotice[] = [];
  const sub = nats.nc.subscribe("atlas.notify.us-east.>", {
    callback: (_e, m) => {
      notices.push(PointerNotice.parse(m.json()));
    },
  });
  await nats.nc.flush();
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "small");
  await publish(api, "web", "x".repeat(65));
  for (const version of [1, 2]) {
    await api.ok(200, "POST", "/v1/configs/web/activate", {
      body: { version, regions: ["us-east"] },
    });
  }
  await waitFor("two notices", () => notices.length === 2);
  assert.equal(Object.keys(notices[0]!.blobs).length, 1);
  assert.deepEqual(notices[1]!.blobs, {});
  sub.unsubscribe();
}, { inlineMaxBytes: 64 });

controlTest("concurrent activations of different versions all land by compare-and-set", async ({
  api,
  nats,
}) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  for (let i = 1; i <= 6; i++) await publish(api, "web", `v${i}`);
  await Promise.all(
    [1, 2, 3, 4, 5, 6].map((version) =>
      api.ok(200, "POST", "/v1/configs/web/activate", { body: { version, regions: ["eu-west"] } })
    ),
  );
  const pointer = (await readPointer(nats, "eu-west", "web"))!.pointer;
  assert.equal(pointer.seq, 6);
  assert.deepEqual(
    [pointer.active.version, ...pointer.history].sort(),
    [1, 2, 3, 4, 5, 6],
  );
});

controlTest("regions can be listed and added", async ({ api }) => {
  const { regions } = await api.ok<{ regions: { name: string }[] }>(200, "GET", "/v1/regions");
  assert.deepEqual(regions.map((r) => r.name), ["eu-west", "us-east"]);
  await api.ok(201, "PUT", "/v1/regions/ap-south");
  await api.ok(200, "PUT", "/v1/regions/ap-south");
  for (const body of [{ replicas: 9 }, { cluster: "" }, { zone: "a" }]) {
    await api.ok(400, "PUT", "/v1/regions/sa-east", { body });
  }
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "x");
  const moved = MoveResult.parse(
    await api.ok(200, "POST", "/v1/configs/web/activate", { body: { version: 1 } }),
  );
  assert.deepEqual(moved.regions.map((r) => r.region), ["ap-south", "eu-west", "us-east"]);
});

controlTest("activating the active version re-signs a pointer agents would not trust", async ({
  api,
  nats,
  signer,
}) => {
  await createConfig(api, "web", { contentType: "text/plain" });
  await publish(api, "web", "one");
  await publish(api, "web", "two");
  await api.ok(200, "POST", "/v1/configs/web/activate", {
    body: { version: 1, regions: ["us-east"] },
  });
  await api.ok(200, "POST", "/v1/configs/web/activate", {
    body: { version: 2, regions: ["us-east"] },
  });
  // A coordinator with a key of its own rewrites the pointer: agents refuse it.
  const foreign = new Signer(generateSigningKey());
  const before = (await readPointer(nats, "us-east", "web"))!.pointer;
  await writePointer(nats, foreign, "us-east", "web", (cur) => ({
    active: cur!.active,
    history: cur!.history,
    reason: "a coordinator with another key",
  }), { issuedBy: "coordinator/us-east" });
  const trusted = new Verifier([signer.trustedKey]);
  const stored = (await readPointer(nats, "us-east", "web"))!.pointer;
  assert.equal(stored.keyId, foreign.keyId);
  assert.throws(() => trusted.verify("pointer", stored), SignatureError);

  const result = MoveResult.parse(
    await api.ok(200, "POST", "/v1/configs/web/activate", {
      body: { version: 2, regions: ["us-east"] },
    }),
  );
  assert.deepEqual(result.regions.map((r) => [r.version, r.previousVersion, r.changed]), [[
    2,
    2,
    true,
  ]]);
  const resigned = (await readPointer(nats, "us-east", "web"))!.pointer;
  trusted.verify("pointer", resigned); // agents take it
  assert.equal(resigned.keyId, signer.keyId);
  assert.equal(resigned.seq, stored.seq + 1);
  assert.equal(resigned.active.version, 2);
  assert.deepEqual(resigned.history, before.history);
  assert.match(resigned.reason, /^re-sign v2: .*untrusted key/);

  // Trusted now: activating it again changes nothing.
  const again = MoveResult.parse(
    await api.ok(200, "POST", "/v1/configs/web/activate", {
      body: { version: 2, regions: ["us-east"] },
    }),
  );
  assert.equal(again.regions[0]?.changed, false);
  assert.equal((await readPointer(nats, "us-east", "web"))!.pointer.seq, resigned.seq);
});
