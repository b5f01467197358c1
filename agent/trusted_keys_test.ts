import assert from "node:assert/strict";
import {
  endedKeySet,
  firstKeySet,
  generateSigningKey,
  KeySetRecord,
  rotatedKeySet,
  SignatureError,
  Signer,
  Verifier,
} from "@atlas/core";
import { componentLogger } from "@atlas/store";
import { tempDir } from "@atlas/testkit";
import { keySetPath, TrustedKeys } from "./trusted_keys.ts";

Deno.test("a revocation taken once is kept across a restart, whatever the keys file says", async () => {
  const dir = await tempDir({ prefix: "atlas-trusted-keys-" });
  try {
    const lines: string[] = [];
    using log = componentLogger("agent", {}, { sink: (l) => lines.push(l) });
    const a = new Signer(generateSigningKey());
    const b = new Signer(generateSigningKey());
    const meta = { at: new Date().toISOString(), by: "ops" };
    const s1 = KeySetRecord.parse(a.sign(firstKeySet(a.trustedKey, [], meta)));
    const s2 = KeySetRecord.parse(a.sign(rotatedKeySet(s1, b.trustedKey, meta)));
    const s3 = KeySetRecord.parse(b.sign(endedKeySet(s2, a.keyId, "revoked", meta)));
    // The trusted keys file still lists a: it is only the root of trust for the first set.
    const options = {
      bootstrap: [a.trustedKey],
      verifier: new Verifier([a.trustedKey]),
      stateDir: dir,
      log: log.logger,
    };
    const keys = new TrustedKeys(options, await TrustedKeys.readSet(dir));
    keys.verifier.verify("v", a.sign({ n: 1 }));
    assert.equal(await keys.offer(s3), false, "set 3 is signed by b, not trusted yet");
    assert.equal(await keys.offer(s1), true);
    assert.equal(await keys.offer(s2), true);
    assert.equal(await keys.offer(s2), false, "the same set again changes nothing");
    assert.equal(await keys.offer(s3), true);
    assert.equal(await keys.offer(s1), false, "an older set is refused");
    assert.equal(lines.filter((l) => l.includes("refused a key set")).length, 2);

    const restarted = new TrustedKeys(options, await TrustedKeys.readSet(dir));
    assert.equal(restarted.keySet?.seq, 3);
    assert.throws(
      () => restarted.verifier.verify("version web v1", a.sign({ n: 1 })),
      (e: Error) => e instanceof SignatureError && /revoked in key set 3/.test(e.message),
    );
    restarted.verifier.verify("v", b.sign({ n: 2 }));

    await Deno.writeTextFile(keySetPath(dir), "{not json");
    await assert.rejects(() => TrustedKeys.readSet(dir), /is unreadable: move it aside/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
