import assert from "node:assert/strict";
import { sha256Hex } from "@atlas/core";
import { DiskDigests, settledDigest } from "./disk_digests.ts";

const text = new TextEncoder();

Deno.test("disk digests follow the file's bytes and are null for a missing file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-drift-test-" });
  try {
    const path = `${dir}/web.json`;
    const digests = new DiskDigests({ web: path });
    assert.equal(digests.of("web"), null);
    await Deno.writeFile(path, text.encode("one"));
    assert.equal(digests.of("web"), sha256Hex(text.encode("one")));
    // Same size, same tick: an unsettled stamp is never trusted.
    await Deno.writeFile(path, text.encode("two"));
    assert.equal(digests.of("web"), sha256Hex(text.encode("two")));
    await Deno.remove(path);
    assert.equal(digests.of("web"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a settled drift check gives no answer while an apply runs, and shows a hand edit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-drift-test-" });
  try {
    const path = `${dir}/web.json`;
    await Deno.writeFile(path, text.encode("v2"));
    const digests = new DiskDigests({ web: path });
    const v2 = sha256Hex(text.encode("v2"));
    let busy = true;
    const deps = { digests, appliedDigest: () => v2, busy: () => busy };
    assert.equal(settledDigest("web", deps), undefined, "an apply runs");
    busy = false;
    // Quiet: the digest and what was applied; a hand edit shows as a difference.
    assert.deepEqual(settledDigest("web", deps), { digest: v2, applied: v2 });
    await Deno.writeFile(path, text.encode("hand edit"));
    assert.deepEqual(settledDigest("web", deps), {
      digest: sha256Hex(text.encode("hand edit")),
      applied: v2,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
