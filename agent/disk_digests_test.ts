import assert from "node:assert/strict";
import { sha256Hex } from "@atlas/core";
import { DiskDigests, settledDigest } from "./disk_digests.ts";

const text = new TextEncoder();

Deno.test("disk digests follow the file's bytes and are null for a missing file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-drift-test-" });
  try {
    const path = `${dir}/web.json`;
    let offsetMs = 0;
    const digests = new DiskDigests({ web: path }, () => Date.now() + offsetMs);
    assert.equal(digests.of("web"), null);
    await Deno.writeFile(path, text.encode("one"));
    assert.equal(digests.of("web"), sha256Hex(text.encode("one")));
    // Same size, likely the same clock tick (the racy case): once the stamp is 2 s old the
    // file is hashed again, so the second write is found either way.
    await Deno.writeFile(path, text.encode("two"));
    offsetMs = 2_100;
    assert.equal(digests.of("web"), sha256Hex(text.encode("two")));
    await Deno.remove(path);
    assert.equal(digests.of("web"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("what the agent wrote stands until the stamp is 2 s old, then the file is hashed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atlas-drift-test-" });
  try {
    const path = `${dir}/web.json`;
    let offsetMs = 0;
    const digests = new DiskDigests({ web: path }, () => Date.now() + offsetMs);
    await Deno.writeFile(path, text.encode("on disk"));
    // Told a digest the file does not hold (as a hand edit right after the write would be):
    // no read while the stamp is young, the truth once it is 2 s old.
    digests.wrote("web", "told");
    assert.equal(digests.of("web"), "told", "not read back at once");
    offsetMs = 2_100;
    assert.equal(digests.of("web"), sha256Hex(text.encode("on disk")), "hashed once settled");

    // A modification time set in the future does not keep a young answer until then.
    const inAnHour = new Date(Date.now() + 3_600_000);
    Deno.utimeSync(path, inAnHour, inAnHour);
    offsetMs = 0;
    digests.wrote("web", "told again");
    assert.equal(digests.of("web"), "told again");
    offsetMs = 2_100;
    assert.equal(digests.of("web"), sha256Hex(text.encode("on disk")), "hashed after 2 s");
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
