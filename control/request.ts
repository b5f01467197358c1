/**
 * Reading request bodies and queries at the HTTP boundary: a size cap enforced before
 * parsing (from `Content-Length` and from the bytes actually received), JSON parsing,
 * and zod validation that lists every issue.
 *
 * @module
 */
import type { z } from "zod";
import { concatBytes } from "@atlas/nats";
import { InvalidRequestError, type Issue, PayloadTooLargeError } from "./errors.ts";

/** Zod issues as `{path, message}` with JSON Pointer paths. */
export function zodIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    path: i.path.length ? `/${i.path.map(String).join("/")}` : "",
    message: i.message,
  }));
}

/**
 * Parses `value` with `schema`; throws {@linkcode InvalidRequestError} listing every
 * issue (in the message and in `details`).
 *
 * @example
 * ```ts
 * const body = parseWith(ActivateBody, { version: 2 }, "request body");
 * ```
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  const listed = issues.map((i) => `${i.path || "/"}: ${i.message}`).join("; ");
  throw new InvalidRequestError(
    `Invalid ${what}: ${listed}. Fix these fields and send the request again (the API is ` +
      `described at GET /openapi.json)`,
    { details: issues },
  );
}

/**
 * Reads at most `maxBytes` of a request body, rejecting larger bodies with
 * {@linkcode PayloadTooLargeError} as soon as the declared or received size passes it.
 */
export async function readBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (size: string) =>
    new PayloadTooLargeError(
      `Request body of ${size} is over the limit of ${maxBytes} bytes: send less (content ` +
        `itself may be at most about half of that)`,
    );
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw tooLarge(`${declared} bytes`);
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

/**
 * Reads a JSON request body (an empty body counts as `{}`) capped at `maxBytes`, and
 * parses it with `schema`.
 *
 * @example
 * ```ts
 * const body = await readJsonBody(c.req.raw, PublishBody, ctx.maxBodyBytes);
 * ```
 */
export async function readJsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
  maxBytes: number,
): Promise<z.output<S>> {
  const bytes = await readBytes(request, maxBytes);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidRequestError("Request body is not valid UTF-8: send JSON text in UTF-8");
  }
  let value: unknown = {};
  if (text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new InvalidRequestError(
        `Malformed JSON body: ${(e as Error).message}. Send a JSON object, with ` +
          `Content-Type: application/json`,
      );
    }
  }
  return parseWith(schema, value, "request body");
}
