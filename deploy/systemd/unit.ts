/**
 * Reads a systemd unit file the way systemd turns it into a process, for running a unit's
 * `ExecStart` where systemd is not (tests): sections and `Key=value` settings (`#`/`;`
 * comments, `\` continuations), the specifiers Atlas's units use (`%i`, `%S`, `%%`),
 * `Environment=` (quoted or bare `VAR=value` words) and `EnvironmentFile=` (`-` prefix:
 * optional), and `ExecStart=` split into words with `$VAR` (split into words, none when
 * empty) and `${VAR}` (one word) substituted. Pure: files are read through a callback.
 *
 * @module
 */

/** A unit: its settings by section, in file order (a key may repeat). */
export type Unit = Map<string, [key: string, value: string][]>;

/** What a unit's specifiers expand to. */
export interface Specifiers {
  /** `%i`: the instance name (`atlas-coordinator@us-east.service` → `us-east`). */
  instance?: string;
  /** `%S`: the state directory root. @default "/var/lib" */
  stateRoot?: string;
}

/**
 * Parses a unit file; a `SyntaxError` names the line it cannot read.
 *
 * @example
 * ```ts
 * parseUnit("[Service]\nUser=atlas").get("Service"); // [["User", "atlas"]]
 * ```
 */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: [string, string][] | undefined;
  let pending = "";
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.trim();
    if (!pending && (raw === "" || raw.startsWith("#") || raw.startsWith(";"))) continue;
    if (raw.endsWith("\\")) {
      pending += raw.slice(0, -1) + " ";
      continue;
    }
    const line = pending + raw;
    pending = "";
    const header = line.match(/^\[([^\]]+)\]$/);
    if (header) {
      section = [];
      unit.set(header[1]!, section);
      continue;
    }
    const at = line.indexOf("=");
    if (at <= 0 || !section) {
      throw new SyntaxError(`Unit line ${n + 1}: expected [Section] or Key=value, got ${line}`);
    }
    section.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
  }
  return unit;
}

/**
 * Every value of `key` in `section`, in file order.
 *
 * @example
 * ```ts
 * unitValues(unit, "Service", "Environment");
 * ```
 */
export function unitValues(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** `value` with the specifiers expanded. */
export function expandSpecifiers(value: string, specifiers: Specifiers = {}): string {
  return value.replace(/%(.)/g, (whole, c: string) => {
    if (c === "%") return "%";
    if (c === "S") return specifiers.stateRoot ?? "/var/lib";
    if (c === "i") {
      if (specifiers.instance === undefined) {
        throw new TypeError(`The unit uses ${whole} (its instance): pass an instance name`);
      }
      return specifiers.instance;
    }
    throw new TypeError(`Unknown specifier ${whole}: expand it or leave it out of the unit`);
  });
}

/** Splits a systemd command line or Environment= value into words (quotes grouped). */
export function splitWords(value: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of value.matchAll(re)) {
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2] ?? m[3]!);
  }
  return words;
}

/** `VAR=value` lines of an EnvironmentFile (comments and blank lines skipped). */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const at = line.indexOf("=");
    if (at <= 0) {
      throw new SyntaxError(`EnvironmentFile line ${JSON.stringify(line)}: use VAR=value`);
    }
    env[line.slice(0, at).trim()] = line.slice(at + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return env;
}

/**
 * The environment systemd gives the service: `Environment=` settings, then each
 * `EnvironmentFile=` (later ones win). `readFile` maps the file's path (returns undefined
 * when missing: an error unless the setting starts with `-`).
 */
export async function unitEnvironment(
  unit: Unit,
  specifiers: Specifiers,
  readFile: (path: string) => Promise<string | undefined>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const value of unitValues(unit, "Service", "Environment")) {
    for (const word of splitWords(expandSpecifiers(value, specifiers))) {
      const at = word.indexOf("=");
      if (at <= 0) throw new SyntaxError(`Environment=${value}: use VAR=value words`);
      env[word.slice(0, at)] = word.slice(at + 1);
    }
  }
  for (const value of unitValues(unit, "Service", "EnvironmentFile")) {
    const optional = value.startsWith("-");
    const path = expandSpecifiers(optional ? value.slice(1) : value, specifiers);
    const text = await readFile(path);
    if (text === undefined) {
      if (optional) continue;
      throw new Error(`EnvironmentFile ${path} does not exist (prefix it with - if optional)`);
    }
    Object.assign(env, parseEnvironmentFile(text));
  }
  return env;
}

/**
 * The argv of the unit's `ExecStart=` (one line; its `-@:+!` prefixes dropped), with
 * specifiers and `env` substituted as systemd does.
 *
 * @example
 * ```ts
 * execStart(parseUnit("[Service]\nExecStart=/bin/x --r %i $A"), { instance: "r" }, { A: "1 2" });
 * // ["/bin/x", "--r", "r", "1", "2"]
 * ```
 */
export function execStart(
  unit: Unit,
  specifiers: Specifiers,
  env: Record<string, string>,
): string[] {
  const lines = unitValues(unit, "Service", "ExecStart");
  if (lines.length !== 1) {
    throw new TypeError(`Expected one ExecStart= in [Service], found ${lines.length}`);
  }
  const line = expandSpecifiers(lines[0]!.replace(/^[-@:+!]+/, ""), specifiers);
  const argv: string[] = [];
  for (const word of splitWords(line)) {
    const whole = word.match(/^\$([A-Za-z_][A-Za-z0-9_]*)$/);
    if (whole) {
      argv.push(...splitWords(env[whole[1]!] ?? ""));
      continue;
    }
    argv.push(
      word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? ""),
    );
  }
  return argv;
}
