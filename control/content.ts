/**
 * What the control plane checks about content before it stores a version: encoding to
 * bytes, parsing by content type, and validation against the config's JSON Schema.
 *
 * @module
 */
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";
import { canonicalJson, type ContentType } from "@atlas/core";
import {
  InvalidRequestError,
  type Issue,
  SchemaViolationError,
  UnprocessableError,
} from "./errors.ts";
import { JsonDepthError, MAX_JSON_DEPTH, scanJson } from "./json_scan.ts";

/**
 * The bytes to store for `content`: a string as UTF-8 (bytes preserved), or for JSON
 * configs any other JSON value pretty-printed with a final newline.
 *
 * @example
 * ```ts
 * encodeContent({ a: 1 }, "application/json"); // bytes of '{\n  "a": 1\n}\n'
 * ```
 */
export function encodeContent(
  content: unknown,
  contentType: ContentType,
  options: EncodeContentOptions = {},
): Uint8Array {
  if (typeof content === "string") return new TextEncoder().encode(content);
  if (contentType !== "application/json") {
    throw new InvalidRequestError(
      `Content of a ${contentType} config must be a string, got ${_kind(content)}: send the ` +
        `file's text as "content"`,
    );
  }
  const inexact = options.inexactNumbers ?? [];
  if (inexact.length) {
    const shown = inexact.slice(0, 3).join(", ") + (inexact.length > 3 ? ", …" : "");
    throw new UnprocessableError(
      `Content holds ${inexact.length} number(s) that cannot be stored exactly as a JSON ` +
        `value (${shown}): they would become null or another number. Send the content as a ` +
        `string ("content": "{\\"n\\": 1e400}"), which is stored byte for byte, or change ` +
        `the numbers`,
    );
  }
  return new TextEncoder().encode(JSON.stringify(content, null, 2) + "\n");
}

/** Options of {@linkcode encodeContent}. */
export interface EncodeContentOptions {
  /**
   * Number literals of the request that a JavaScript number does not hold exactly (from
   * `scanJson`): content given as a JSON value with any of them is refused, since it is
   * stored re-serialised. @default []
   */
  inexactNumbers?: readonly string[];
}

function _kind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

/**
 * Parses content by content type: JSON and YAML into a value (for schema validation),
 * `text/plain` to `undefined`. Throws {@linkcode InvalidRequestError} with the parser's
 * message on malformed content.
 *
 * @example
 * ```ts
 * parseContent('{"a":1}', "application/json"); // { a: 1 }
 * ```
 */
export function parseContent(text: string, contentType: ContentType): unknown {
  if (contentType === "text/plain") return undefined;
  try {
    // Before parsing: a parser, ajv or a printer would recurse once per level.
    scanJson(text, { numbers: false, hashComments: contentType === "application/yaml" });
  } catch (e) {
    if (!(e instanceof JsonDepthError)) throw e;
    throw new InvalidRequestError(`Content is ${e.message} (it was not stored)`);
  }
  try {
    if (contentType === "application/json") return JSON.parse(text);
    const value = parseYaml(text);
    _checkDepth(value);
    return value;
  } catch (e) {
    if (e instanceof InvalidRequestError) throw e;
    const kind = contentType === "application/json" ? "JSON" : "YAML";
    throw new InvalidRequestError(
      `Malformed ${kind} content: ${(e as Error).message.trim()}. Fix the content (it was ` +
        `not stored) and publish again`,
    );
  }
}

/** YAML nests by indentation too, which the scan does not see: measured without recursion. */
function _checkDepth(value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > MAX_JSON_DEPTH) {
      throw new InvalidRequestError(
        `Content is ${new JsonDepthError(MAX_JSON_DEPTH).message} (it was not stored)`,
      );
    }
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
}

/** True when content of this type can be checked against a JSON Schema. */
export function schemaApplies(contentType: ContentType): boolean {
  return contentType !== "text/plain";
}

const STRICT = {
  allErrors: true,
  strict: false,
  strictSchema: true,
  strictNumbers: true,
} as const;

/** Options of {@linkcode SchemaValidators}. */
export interface SchemaValidatorsOptions {
  /** How many compiled schemas to keep. @default 256 */
  maxCached?: number;
}

/**
 * Compiles JSON Schemas with ajv (draft-07 by default, 2020-12 when the schema's
 * `$schema` says so; formats from ajv-formats) and keeps the compiled validators, keyed
 * by the schema's canonical JSON, so each publish does not compile again.
 *
 * Strict about the schema itself (`strictSchema`): an unknown keyword (`requried`,
 * `propertes`) or format is refused with {@linkcode UnprocessableError} naming it, never
 * ignored (which would switch validation silently off). Type and tuple strictness stay
 * off: they refuse valid schemas, such as `required` without `type: "object"`.
 *
 * @example
 * ```ts
 * const validators = new SchemaValidators();
 * validators.validate({ type: "object" }, { a: 1 }); // passes
 * ```
 */
export class SchemaValidators {
  readonly #draft7 = new Ajv(STRICT);
  readonly #draft2020 = new Ajv2020(STRICT);
  readonly #cache = new Map<string, { fn: ValidateFunction; schema: object }>();
  readonly #maxCached: number;

  constructor(options: SchemaValidatorsOptions = {}) {
    this.#maxCached = options.maxCached ?? 256;
    addFormats.default(this.#draft7);
    addFormats.default(this.#draft2020);
  }

  /**
   * Compiles `schema` (cached); throws {@linkcode InvalidRequestError} saying why when it
   * is not a valid JSON Schema.
   */
  compile(schema: Record<string, unknown>): ValidateFunction {
    const key = canonicalJson(schema);
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit.fn;
    }
    const ajv = /2020-12/.test(String(schema.$schema ?? "")) ? this.#draft2020 : this.#draft7;
    const copy = structuredClone(schema);
    let fn: ValidateFunction;
    try {
      fn = ajv.compile(copy);
    } catch (e) {
      const message = (e as Error).message;
      const unknown = /^strict mode: unknown (keyword|format)[: ]*"?([^"]*)"?/.exec(message);
      if (unknown) {
        throw new UnprocessableError(
          `Invalid JSON Schema: unknown ${unknown[1]} ${JSON.stringify(unknown[2])} ` +
            `(${message}). A keyword ajv does not know would be ignored and validation ` +
            `silently skipped: fix its spelling (required, properties, …) or remove it`,
        );
      }
      throw new InvalidRequestError(
        `Invalid JSON Schema: ${message}. Fix the schema (draft-07, or 2020-12 ` +
          `with "$schema") and send it again`,
      );
    }
    this.#cache.set(key, { fn, schema: copy });
    if (this.#cache.size > this.#maxCached) {
      const [oldest, entry] = this.#cache.entries().next().value!;
      this.#cache.delete(oldest);
      // ajv keeps every compiled schema object; let it forget the evicted one.
      this.#draft7.removeSchema(entry.schema);
      this.#draft2020.removeSchema(entry.schema);
    }
    return fn;
  }

  /**
   * Throws {@linkcode SchemaViolationError} listing every issue (`{path, message}`) when
   * `value` does not satisfy `schema`.
   */
  validate(schema: Record<string, unknown>, value: unknown, what = "Content"): void {
    const fn = this.compile(schema);
    if (fn(value)) return;
    const issues: Issue[] = (fn.errors ?? []).map((e) => ({
      path: e.instancePath,
      message: e.message ?? e.keyword,
    }));
    const first = issues[0];
    throw new SchemaViolationError(
      `${what} does not satisfy the config's JSON Schema (${issues.length} issue` +
        `${issues.length === 1 ? "" : "s"}, first: ${first?.path || "/"} ${first?.message}): ` +
        `fix the content (it was not stored) and publish again`,
      issues,
    );
  }
}
