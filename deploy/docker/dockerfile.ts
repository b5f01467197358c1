/**
 * Reads a Dockerfile into what its image's containers run as: the last WORKDIR, USER,
 * STOPSIGNAL, HEALTHCHECK, ENTRYPOINT and CMD, every ENV, EXPOSE and VOLUME; plus its RUN
 * and COPY lines. Enough of the syntax for Atlas's Dockerfiles (exec-form JSON, `\`
 * continuations, `#` comments, `KEY=value` ENV), not all of Docker's. Pure: no I/O.
 *
 * @module
 */
import type { ImageDescription } from "./image.ts";

/** One instruction: its keyword (upper case) and the rest of its (joined) line. */
export interface Instruction {
  keyword: string;
  rest: string;
}

/** What {@linkcode readDockerfile} finds. */
export interface DockerfileSummary {
  from: string[];
  runs: string[];
  copies: string[];
  /** Runtime settings in the shape of {@linkcode ImageDescription} (minus userName). */
  runtime: Omit<ImageDescription, "userName">;
}

/** Splits `text` into instructions, joining `\`-continued lines and dropping comments. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (pending && line.trimStart().startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    const m = whole.match(/^(\S+)\s*(.*)$/s);
    if (m) out.push({ keyword: m[1]!.toUpperCase(), rest: m[2]!.replace(/\s+/g, " ").trim() });
  }
  return out;
}

function _exec(keyword: string, rest: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    throw new SyntaxError(`${keyword} ${rest}: use the exec form, a JSON list of strings`);
  }
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === "string")) {
    throw new SyntaxError(`${keyword} ${rest}: use the exec form, a JSON list of strings`);
  }
  return parsed as string[];
}

/**
 * Reads `text` (a Dockerfile); throws a `SyntaxError` naming the instruction it cannot read.
 *
 * @example
 * ```ts
 * readDockerfile('FROM scratch\nUSER 1:1\nCMD ["x"]').runtime.user; // "1:1"
 * ```
 */
export function readDockerfile(text: string): DockerfileSummary {
  const summary: DockerfileSummary = {
    from: [],
    runs: [],
    copies: [],
    runtime: {
      workdir: "/",
      user: "",
      env: {},
      entrypoint: [],
      cmd: [],
      expose: [],
      volumes: [],
      stopSignal: "",
      healthcheck: { test: ["NONE"], interval: "0s", timeout: "0s", startPeriod: "0s", retries: 0 },
    },
  };
  const r = summary.runtime;
  for (const { keyword, rest } of instructions(text)) {
    switch (keyword) {
      case "FROM":
        summary.from.push(rest);
        break;
      case "RUN":
        summary.runs.push(rest);
        break;
      case "COPY":
        summary.copies.push(rest);
        break;
      case "WORKDIR":
        r.workdir = rest;
        break;
      case "USER":
        r.user = rest;
        break;
      case "STOPSIGNAL":
        r.stopSignal = rest;
        break;
      case "ENV":
        for (const pair of rest.split(" ")) {
          const at = pair.indexOf("=");
          if (at <= 0) throw new SyntaxError(`ENV ${rest}: write KEY=value pairs`);
          r.env[pair.slice(0, at)] = pair.slice(at + 1);
        }
        break;
      case "EXPOSE":
        r.expose.push(...rest.split(" ").map((p) => Number(p.replace(/\/tcp$/, ""))));
        break;
      case "VOLUME":
        r.volumes.push(..._exec(keyword, rest));
        break;
      case "ENTRYPOINT":
        r.entrypoint = _exec(keyword, rest);
        break;
      case "CMD":
        r.cmd = _exec(keyword, rest);
        break;
      case "HEALTHCHECK": {
        if (rest === "NONE") {
          r.healthcheck = { ...r.healthcheck, test: ["NONE"] };
          break;
        }
        const m = rest.match(/^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/);
        if (!m) throw new SyntaxError(`HEALTHCHECK ${rest}: write [--option=value …] CMD [...]`);
        const opts = Object.fromEntries(
          [...m[1]!.matchAll(/--([a-z-]+)=(\S+)/g)].map((o) => [o[1]!, o[2]!]),
        );
        r.healthcheck = {
          test: ["CMD", ..._exec(keyword, m[2]!)],
          interval: opts["interval"] ?? "30s",
          timeout: opts["timeout"] ?? "30s",
          startPeriod: opts["start-period"] ?? "0s",
          retries: Number(opts["retries"] ?? 3),
        };
        break;
      }
    }
  }
  return summary;
}
