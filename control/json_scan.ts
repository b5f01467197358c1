/**
 * A small scanner over raw JSON (and YAML flow) text that measures nesting depth and
 * finds numbers JavaScript cannot hold exactly, without parsing: so content nested
 * thousands of levels deep is refused before `JSON.parse`, a schema validator or a
 * pretty-printer recurses into it (a stack overflow, or a 50 MB string), and a number
 * such as `1e400` or `12345678901234567890` is never silently turned into `null` or
 * `12345678901234567000`.
 *
 * @module
 */

/** Deepest nesting of arrays and objects the control plane accepts, in bodies and content. */
export const MAX_JSON_DEPTH = 64;

/** What {@linkcode scanJson} found. */
export interface JsonScan {
  /** The deepest nesting of `[` and `{` (0 for a scalar). */
  depth: number;
  /** Number literals whose value changes when read into a JavaScript number. */
  inexactNumbers: string[];
}

/** Options of {@linkcode scanJson}. */
export interface ScanJsonOptions {
  /** Stop with a {@linkcode JsonDepthError} past this depth. @default MAX_JSON_DEPTH */
  maxDepth?: number;
  /** Also look for numbers that do not survive `JSON.parse`. @default true */
  numbers?: boolean;
  /**
   * `#` after whitespace starts a comment to the end of the line (YAML). Single quotes
   * are not skipped, so a bracket inside one counts: over-counting only refuses, never
   * lets a deep document through. @default false
   */
  hashComments?: boolean;
}

/** Nesting deeper than the limit; `limit` is the limit that was passed. */
export class JsonDepthError extends Error {
  override readonly name = "JsonDepthError";
  constructor(readonly limit: number, options?: ErrorOptions) {
    super(
      `Nested more than ${limit} levels deep (arrays and objects): the limit is ${limit} ` +
        `levels; flatten the document`,
      options,
    );
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Scans `text` once, outside string literals: the deepest nesting of `[`/`{`, and the
 * number literals that {@linkcode numberIsExact} says a JavaScript number cannot hold.
 * Throws {@linkcode JsonDepthError} as soon as the nesting passes `maxDepth`. Malformed
 * text is not reported here: the parser that runs next reports it.
 *
 * @example
 * ```ts
 * scanJson('{"a": [1, 1e400]}'); // { depth: 2, inexactNumbers: ["1e400"] }
 * ```
 */
export function scanJson(text: string, options: ScanJsonOptions = {}): JsonScan {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const numbers = options.numbers ?? true;
  let depth = 0;
  let deepest = 0;
  const inexactNumbers: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      i = _skipString(text, i);
    } else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      if (++depth > maxDepth) throw new JsonDepthError(maxDepth);
      if (depth > deepest) deepest = depth;
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) {
      if (depth > 0) depth--;
    } else if (options.hashComments && ch === 0x23 /* # */ && /\s/.test(text[i - 1] ?? " ")) {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end;
    } else if (numbers && (ch === 0x2d /* - */ || (ch >= 0x30 && ch <= 0x39))) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (!match) continue;
      if (!numberIsExact(match[0])) inexactNumbers.push(match[0]);
      i += match[0].length - 1;
    }
  }
  return { depth: deepest, inexactNumbers };
}

function _skipString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c /* \ */) i++;
    else if (ch === 0x22 /* " */) return i;
  }
  return text.length;
}

/** Sign, significant digits and exponent of a decimal literal: `-1.50e2` → `-|15|1`. */
function _decimal(literal: string): string {
  const negative = literal.startsWith("-");
  const [mantissa = "", exponent = "0"] = literal.replace(/^-/, "").toLowerCase().split("e");
  const [whole = "", fraction = ""] = mantissa.split(".");
  let digits = whole + fraction;
  let exp = Number(exponent) + whole.length;
  const leading = digits.length - digits.replace(/^0+/, "").length;
  digits = digits.slice(leading).replace(/0+$/, "");
  exp -= leading;
  if (digits === "") return "0";
  return `${negative ? "-" : ""}${digits}|${exp}`;
}

/**
 * True when the number literal `literal` means the same value after `JSON.parse` and
 * `JSON.stringify`: `1.50`, `1e2` and `-0` are exact; `1e400` (Infinity, stored as
 * `null`), `12345678901234567890` and `0.1000000000000000000001` are not.
 *
 * @example
 * ```ts
 * numberIsExact("12345678901234567890"); // false
 * ```
 */
export function numberIsExact(literal: string): boolean {
  const value = Number(literal);
  if (!Number.isFinite(value)) return false;
  return _decimal(literal) === _decimal(JSON.stringify(value));
}
