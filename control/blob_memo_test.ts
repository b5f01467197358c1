import assert from "node:assert/strict";
import { BlobMemo } from "./blob_memo.ts";

Deno.test("the blob memo keeps recent content within its byte bound", () => {
  const memo = new BlobMemo(10);
  memo.set("a", new Uint8Array(4));
  memo.set("b", new Uint8Array(4));
  assert.ok(memo.get("a"), "a becomes the most recent");
  memo.set("c", new Uint8Array(4));
  assert.equal(memo.get("b"), undefined, "b was the least recent");
  assert.ok(memo.get("a") && memo.get("c"));
  memo.set("huge", new Uint8Array(11));
  assert.equal(memo.get("huge"), undefined, "larger than the bound: not kept");
});
