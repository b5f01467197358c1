import assert from "node:assert/strict";
import { CasContentionError, PointerConflictError, UnavailableError } from "@atlas/store";
import { TimeoutError } from "@nats-io/transport-node";
import {
  ConflictError,
  errorResponse,
  ForbiddenError,
  IntegrityError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  SchemaViolationError,
  UnauthorizedError,
} from "./errors.ts";

Deno.test("each error maps to one status and code", () => {
  const cases: [Error, number, string][] = [
    [new InvalidRequestError("x"), 400, "invalid_request"],
    [new UnauthorizedError("x"), 401, "unauthorized"],
    [new ForbiddenError("x"), 403, "forbidden"],
    [new NotFoundError("x"), 404, "not_found"],
    [new ConflictError("x"), 409, "conflict"],
    [new PointerConflictError("x"), 409, "conflict"],
    [new PayloadTooLargeError("x"), 413, "payload_too_large"],
    [new SchemaViolationError("x", [{ path: "/a", message: "m" }]), 422, "schema_violation"],
    [new UnavailableError("x", { retryAfterSeconds: 7 }), 503, "unavailable"],
    [new IntegrityError("x"), 500, "integrity_error"],
  ];
  for (const [error, status, code] of cases) {
    const res = errorResponse(error);
    assert.equal(res.status, status, error.name);
    assert.equal(res.body.error.code, code, error.name);
    assert.equal(res.body.error.message, "x");
  }
  assert.equal(
    errorResponse(new UnavailableError("x", { retryAfterSeconds: 7 })).headers["Retry-After"],
    "7",
  );
  assert.match(
    errorResponse(new UnauthorizedError("x")).headers["WWW-Authenticate"] ?? "",
    /^Bearer/,
  );
  assert.deepEqual(
    errorResponse(new SchemaViolationError("x", [{ path: "/a", message: "m" }])).body.error.details,
    [{ path: "/a", message: "m" }],
  );
  assert.equal(new NotFoundError("x").name, "NotFoundError");
});

Deno.test("an unexpected error is a 500 that does not leak its message", () => {
  const res = errorResponse(new Error("secret internals at /etc/x"));
  assert.equal(res.status, 500);
  assert.equal(res.body.error.code, "internal");
  assert.doesNotMatch(res.body.error.message, /secret/);
  assert.equal(errorResponse("a string").status, 500);
});

Deno.test("a transient NATS error that was not retried is a 503 with Retry-After", () => {
  const res = errorResponse(new TimeoutError());
  assert.equal(res.status, 503);
  assert.equal(res.headers["Retry-After"], "5");
  assert.equal(res.body.error.code, "unavailable");
  // Classified by type, not by what a message says.
  assert.equal(errorResponse(new Error("TIMEOUT")).status, 500);
});

Deno.test("a compare-and-set lost on every attempt is a 409 conflict", () => {
  const res = errorResponse(new CasContentionError("web", 10));
  assert.equal(res.status, 409);
  assert.equal(res.body.error.code, "conflict");
});
