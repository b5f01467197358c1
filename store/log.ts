/**
 * The one structured logger of Atlas, on LogTape: a category per component
 * (`["atlas", "agent"]`, `["atlas", "coordinator"]`, `["atlas", "control"]`, …) and the ids
 * as fields (agent, region, config, version, seq, rolloutId, replica), never formatted into
 * the message. A record is one line: human-readable text by default
 * (`<iso> INFO agent applied agent=web-1 region=us-east config=web version=3`), or a JSON
 * object per line.
 *
 * LogTape's configuration is global, so {@linkcode configureLogging} runs once per process
 * (the mains call it from their flags); a library that logs before that gets the default
 * (text, info, to stdout).
 *
 * Per-instance capture (tests keep each agent's lines to print them if the test fails): a
 * {@linkcode componentLogger} given a `sink` logs under a per-instance category suffix,
 * `["atlas", "agent", "~7"]`. The one LogTape sink of the process routes a record whose
 * category carries a registered suffix to that instance's sink, formatted as usual, and
 * every other record to the process output. The suffix is not shown: the component is
 * `agent` either way. Once the instance closes and disposes its logger, what it still logs
 * is dropped.
 *
 * A record below the level costs one level comparison: LogTape checks the level before it
 * builds a record, and fields given as a function are only called for a record written.
 *
 * @module
 */
import {
  configureSync,
  getConfig,
  getLogger,
  isLogLevel,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";

export type { Logger, LogLevel } from "@logtape/logtape";

/** How records are written: one text line each, or one JSON object each. */
export const LogFormat = { text: "text", json: "json" } as const;
/** How records are written. */
export type LogFormat = typeof LogFormat[keyof typeof LogFormat];

/** Receives each formatted record, one line without the newline. */
export type LineSink = (line: string) => void;

/** Options of {@linkcode configureLogging}. */
export interface LoggingOptions {
  /** @default "text" */
  format?: LogFormat;
  /** The lowest level written. @default "info" */
  level?: LogLevel;
  /** Where lines of records not captured by an instance go. @default a line on stdout */
  output?: LineSink;
}

const CAPTURE_PREFIX = "~";
const LEVEL_NAMES: Record<LogLevel, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARN",
  error: "ERROR",
  fatal: "FATAL",
};

const _captures = new Map<string, LineSink>();
let _nextCapture = 0;
let _format: (record: LogRecord) => string = formatText;
let _output: LineSink = (line) => console.log(line);
let _configured = false;

/** The component of a record: its category after `atlas`, without a capture suffix. */
function _component(category: readonly string[]): string {
  return category.slice(1).filter((c) => !c.startsWith(CAPTURE_PREFIX)).join(".") ||
    category.join(".");
}

function _value(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  return value;
}

function _textValue(value: unknown): string {
  const v = _value(value);
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

function _message(record: LogRecord): string {
  return record.message.map((part) => typeof part === "string" ? part : _textValue(part)).join("");
}

/**
 * One record as a text line: time, level, component, message, then `key=value` fields
 * (strings with spaces, quotes or `=` quoted as JSON).
 *
 * @example
 * ```ts
 * formatText(record); // "2026-01-01T00:00:00.000Z INFO agent applied agent=web-1 version=3"
 * ```
 */
export function formatText(record: LogRecord): string {
  let line = `${new Date(record.timestamp).toISOString()} ${LEVEL_NAMES[record.level]} ${
    _component(record.category)
  } ${_message(record)}`;
  for (const [k, v] of Object.entries(record.properties)) line += ` ${k}=${_textValue(v)}`;
  return line;
}

/**
 * One record as a JSON line: `time`, `level`, `component`, `msg`, then the fields.
 *
 * @example
 * ```ts
 * JSON.parse(formatJson(record)).agent; // "web-1"
 * ```
 */
export function formatJson(record: LogRecord): string {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record.properties)) fields[k] = _value(v);
  return JSON.stringify({
    time: new Date(record.timestamp).toISOString(),
    level: record.level,
    component: _component(record.category),
    msg: _message(record),
    ...fields,
  });
}

function _sink(record: LogRecord): void {
  const suffix = record.category[2];
  if (suffix?.startsWith(CAPTURE_PREFIX)) {
    // A released capture (its instance closed) drops what stragglers log.
    const capture = _captures.get(suffix);
    if (capture) capture(_format(record));
    return;
  }
  _output(_format(record));
}

/**
 * Configures the logging of this process (again, if it was): format, level and output.
 *
 * @example
 * ```ts
 * configureLogging({ format: "json", level: "warning" });
 * ```
 */
export function configureLogging(options: LoggingOptions = {}): void {
  _format = options.format === "json" ? formatJson : formatText;
  _output = options.output ?? ((line) => console.log(line));
  configureSync({
    reset: true,
    sinks: { atlas: _sink },
    loggers: [
      { category: ["atlas"], sinks: ["atlas"], lowestLevel: options.level ?? "info" },
      { category: ["logtape", "meta"], sinks: ["atlas"], lowestLevel: "warning" },
    ],
  });
  _configured = true;
}

/**
 * The logging options of a main: `--log-format` and `--log-level` when given, else
 * `ATLAS_LOG_FORMAT` and `ATLAS_LOG_LEVEL`, else text at info. Throws a `RangeError` on
 * a format or level it does not know.
 *
 * @example
 * ```ts
 * configureLogging(loggingOptions({ format: values["log-format"], level: values["log-level"] }));
 * ```
 */
export function loggingOptions(
  flags: { format?: string | undefined; level?: string | undefined } = {},
): LoggingOptions {
  const format = flags.format ?? Deno.env.get("ATLAS_LOG_FORMAT") ?? "text";
  if (format !== "text" && format !== "json") {
    throw new RangeError(`Cannot log in format '${format}': use text or json`);
  }
  const given = flags.level ?? Deno.env.get("ATLAS_LOG_LEVEL") ?? "info";
  const level = given === "warn" ? "warning" : given;
  if (!isLogLevel(level)) {
    throw new RangeError(
      `Cannot log at level '${given}': use trace, debug, info, warn, error or fatal`,
    );
  }
  return { format, level };
}

/** Options of {@linkcode componentLogger}. */
export interface ComponentLoggerOptions {
  /** This instance's records go here (formatted) instead of the process output. */
  sink?: LineSink | undefined;
}

/** A component's logger, with its instance capture released on dispose. */
export interface ComponentLogger extends Disposable {
  readonly logger: Logger;
}

/**
 * The logger of `component` (category `["atlas", component]`) with `fields` on each
 * record; given a `sink`, this instance's records go there. Dispose it when the instance
 * closes, to release the capture.
 *
 * @example
 * ```ts
 * using log = componentLogger("agent", { agent: "web-1", region: "us-east" });
 * log.logger.info("applied", () => ({ config: "web", version: 3 }));
 * ```
 */
export function componentLogger(
  component: string,
  fields: Record<string, unknown> = {},
  options: ComponentLoggerOptions = {},
): ComponentLogger {
  if (!_configured && getConfig() === null) configureLogging();
  _configured = true;
  if (!options.sink) {
    return { logger: getLogger(["atlas", component]).with(fields), [Symbol.dispose]() {} };
  }
  const suffix = `${CAPTURE_PREFIX}${_nextCapture++}`;
  _captures.set(suffix, options.sink);
  return {
    logger: getLogger(["atlas", component, suffix]).with(fields),
    [Symbol.dispose]() {
      _captures.delete(suffix);
    },
  };
}
