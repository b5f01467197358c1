import assert from "node:assert/strict";
import { appendAudit } from "@atlas/store";
import { generateSigningKey, Signer } from "@atlas/core";
import { natsTest } from "@atlas/testkit";
import { readAudit } from "./audit_log.ts";
import { createContext } from "./context.ts";
import { controlTest } from "./testing.ts";

natsTest("audit reads newest first, per config, across many older events", async ({ nats }) => {
  const ctx = createContext({ nats, signer: new Signer(generateSigningKey()) });
  assert.deepEqual(await readAudit(ctx), [], "an empty log reads as empty");
  // Three events of "rare" buried under 300 others, then a few more.
  await appendAudit(nats, { actor: "t", action: "rare.0", config: "rare" });
  await appendAudit(nats, { actor: "t", action: "rare.1", config: "rare" });
  for (let i = 0; i < 300; i++) {
    await appendAudit(nats, { actor: "t", action: `busy.${i}`, config: "busy" });
  }
  await appendAudit(nats, { actor: "t", action: "rare.2", config: "rare" });
  await appendAudit(nats, { actor: "t", action: "system" });
  await appendAudit(nats, { actor: "t", action: "dotted", config: "rare.sub" });

  const rare = await readAudit(ctx, { config: "rare" });
  assert.deepEqual(rare.map((e) => e.action), ["rare.2", "rare.1", "rare.0"]);
  const two = await readAudit(ctx, { config: "rare", limit: 2 });
  assert.deepEqual(two.map((e) => e.action), ["rare.2", "rare.1"]);
  const all = await readAudit(ctx, { limit: 4 });
  assert.deepEqual(all.map((e) => e.action), ["dotted", "system", "rare.2", "busy.299"]);
  const busy = await readAudit(ctx, { config: "busy", limit: 1000 });
  assert.equal(busy.length, 300);
  assert.equal(busy[0]?.action, "busy.299");
  assert.equal(busy[299]?.action, "busy.0");
  assert.equal((await readAudit(ctx)).length, 100, "the default limit is 100");
});

controlTest("audit query is validated and filters by config", async ({ api }) => {
  await api.ok(201, "PUT", "/v1/configs/a", { body: {} });
  await api.ok(201, "PUT", "/v1/configs/b", { body: {} });
  const a = await api.ok<{ events: { config: string }[] }>(200, "GET", "/v1/audit?config=a");
  assert.deepEqual(a.events.map((e) => e.config), ["a"]);
  for (const q of ["limit=0", "limit=1001", "limit=x", "config=..%2Fx", "config=%3E"]) {
    assert.equal((await api.call("GET", `/v1/audit?${q}`)).status, 400, q);
  }
  const one = await api.ok<{ events: unknown[] }>(200, "GET", "/v1/audit?limit=1");
  assert.equal(one.events.length, 1);
});
