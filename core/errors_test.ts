import assert from "node:assert/strict";
import { AtlasError, AtlasErrorCode, hasAtlasCode } from "./errors.ts";
import { SignatureError } from "./crypto.ts";
import { RolloutTransitionError } from "./rollout_state.ts";
import { ContentMismatchError } from "./verify.ts";

Deno.test("an AtlasError without a code is internal and keeps its cause", () => {
  const cause = new Error("boom");
  const e = new AtlasError("failed", { cause });
  assert.equal(e.code, AtlasErrorCode.internal);
  assert.equal(e.cause, cause);
  assert.ok(e instanceof Error);
});

Deno.test("core's domain errors are AtlasErrors with their own code and name", () => {
  const cases: [Error, AtlasErrorCode, string][] = [
    [new SignatureError("bad"), AtlasErrorCode.signature, "SignatureError"],
    [new ContentMismatchError("bad"), AtlasErrorCode.integrity, "ContentMismatchError"],
    [
      new RolloutTransitionError("no", "running", "resume"),
      AtlasErrorCode.transition,
      "RolloutTransitionError",
    ],
  ];
  for (const [e, code, name] of cases) {
    assert.ok(hasAtlasCode(e, code), name);
    assert.equal(e.name, name);
  }
  assert.equal(hasAtlasCode(new Error("x"), AtlasErrorCode.internal), false);
});
