import assert from "node:assert/strict";
import { natsFlagOptions } from "./nats_flags.ts";

const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });

Deno.test("--creds and --tls-* become connect options, with the environment as fallback", async () => {
  assert.deepEqual(natsFlagOptions({}, env({})), {});
  assert.deepEqual(natsFlagOptions({ creds: "a.creds" }, env({ ATLAS_NATS_CREDS: "b.creds" })), {
    credentials: "a.creds",
  });
  assert.deepEqual(natsFlagOptions({}, env({ ATLAS_NATS_CREDS: "b.creds" })), {
    credentials: "b.creds",
  });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, "");
    assert.deepEqual(
      natsFlagOptions({ "tls-ca": `${dir}/ca.pem` }, env({})).tls?.caFile,
      `${dir}/ca.pem`,
    );
    assert.throws(
      () => natsFlagOptions({ "tls-cert": `${dir}/ca.pem` }, env({})),
      /a client certificate needs its key/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
