import assert from "node:assert/strict";
import { sha256Hex } from "@atlas/core";
import { componentLogger } from "@atlas/store";
import { waitFor } from "@atlas/testkit";
import { DiskDigests, DriftWatcher, settledDigest } from "./drift_watcher.ts";

const text = new TextEncoder();

Deno.test("disk digests follow the file's bytes and are null for a missing file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-drift-test-" });
  try {
    const path = `${dir}/web.json`;
    const digests = new DiskDigests({ web: path });
    assert.equal(await digests.of("web"), null);
    await Deno.writeFile(path, text.encode("one"));
    assert.equal(await digests.of("web"), sha256Hex(text.encode("one")));
    // Same size, same tick: an unsettled stamp is never trusted.
    await Deno.writeFile(path, text.encode("two"));
    assert.equal(await digests.of("web"), sha256Hex(text.encode("two")));
    await Deno.remove(path);
    assert.equal(await digests.of("web"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the drift watcher reports a hand edit, not a file that holds what was applied", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-drift-test-" });
  const lines: string[] = [];
  using log = componentLogger("agent", {}, { sink: (line) => lines.push(line) });
  const paths = { web: `${dir}/web.json`, db: `${dir}/db.json` };
  const applied = sha256Hex(text.encode("applied"));
  await Deno.writeFile(paths.web, text.encode("applied"));
  await Deno.writeFile(paths.db, text.encode("applied"));
  const drifted: string[] = [];
  const digests = new DiskDigests(paths);
  const watcher = DriftWatcher.watch(paths, {
    digests,
    appliedDigest: () => applied,
    busy: () => false,
    onDrift: (config) => drifted.push(config),
    log: log.logger,
  });
  try {
    await Deno.writeFile(paths.db, text.encode("applied")); // rewritten, same bytes
    await Deno.writeFile(paths.web, text.encode("edited by hand"));
    await waitFor("the drift of web", () => drifted.includes("web"), { timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 200)); // let db's check run too
    assert.deepEqual(drifted, ["web"]);
  } finally {
    watcher.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an apply that runs while the file is hashed makes the check no answer, not a drift", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-drift-test-" });
  try {
    const path = `${dir}/web.json`;
    await Deno.writeFile(path, text.encode("v1"));
    const digests = new DiskDigests({ web: path });
    const v1 = sha256Hex(text.encode("v1"));
    const v2 = sha256Hex(text.encode("v2"));
    let applied = v1;
    let busy = false;
    // The file is read as v1; then, before the check looks again, an apply writes v2.
    const racing = {
      of: async (config: string) => {
        const digest = await digests.of(config);
        await Deno.writeFile(path, text.encode("v2"));
        applied = v2;
        return digest;
      },
    } as DiskDigests;
    const deps = { digests: racing, appliedDigest: () => applied, busy: () => busy };
    assert.equal(await settledDigest("web", deps), undefined, "an apply finished meanwhile");

    // One still running when the hash ends: no answer either.
    const running = {
      of: async (config: string) => {
        busy = true;
        return await digests.of(config);
      },
    } as DiskDigests;
    assert.equal(
      await settledDigest("web", { ...deps, digests: running }),
      undefined,
      "an apply runs",
    );
    busy = false;

    // Quiet: the digest and what was applied, a hand edit shows as a difference.
    assert.deepEqual(await settledDigest("web", { ...deps, digests }), {
      digest: v2,
      applied: v2,
    });
    await Deno.writeFile(path, text.encode("hand edit"));
    assert.deepEqual(await settledDigest("web", { ...deps, digests }), {
      digest: sha256Hex(text.encode("hand edit")),
      applied: v2,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
