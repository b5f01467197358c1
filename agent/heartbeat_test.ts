import assert from "node:assert/strict";
import { agentKey, AgentRecord, Buckets } from "@atlas/core";
import { readKv } from "@atlas/store";
import { natsTest } from "@atlas/testkit";
import { DiskDigests } from "./disk_digests.ts";
import { Heartbeat } from "./heartbeat.ts";
import { type ConfigState, emptyConfigState } from "./state.ts";
import { makeAgentConfig } from "./test_helpers.ts";

natsTest(
  "a heartbeat states every managed config; after stop only the goodbye is sent",
  async ({ nats, servers }) => {
    const config = await makeAgentConfig(servers.map((s) => s.url), {
      configs: { web: {}, db: {} },
    });
    const states = new Map<string, ConfigState>();
    const stateOf = (name: string) => {
      if (!states.has(name)) states.set(name, emptyConfigState());
      return states.get(name)!;
    };
    const digests = new DiskDigests(
      Object.fromEntries(Object.entries(config.configs).map(([n, c]) => [n, c.path])),
    );
    const heartbeat = new Heartbeat(config, { nats: () => nats, stateOf, digests });
    const kv = await nats.kv(Buckets.agents);
    const read = async () => (await readKv(kv, agentKey("us-east", "a1"), AgentRecord))?.value;

    await heartbeat.send();
    const first = await read();
    assert.deepEqual(Object.keys(first!.configs).sort(), ["db", "web"]);
    assert.equal(first!.leftAt, undefined);

    heartbeat.start();
    heartbeat.soon();
    heartbeat.stop(); // the sanitizers check no timer is left
    await heartbeat.send(); // stopped: a no-op
    assert.equal((await read())!.heartbeatAt, first!.heartbeatAt);

    await heartbeat.send({ rehash: false, leaving: true });
    assert.ok((await read())!.leftAt);
  },
);
