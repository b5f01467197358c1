/**
 * Human-readable output of the `atlas` CLI: aligned tables and short timestamps.
 *
 * @module
 */

/**
 * Renders rows as a table with a header, columns aligned by two spaces (the last column
 * is not padded). An empty table renders as `(none)`.
 *
 * @example
 * ```ts
 * table(["NAME", "TYPE"], [["web", "application/json"]]);
 * // "NAME  TYPE\nweb   application/json"
 * ```
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "(none)";
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** An ISO timestamp as `YYYY-MM-DD HH:MM:SS` (UTC). */
export function when(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+/, "").replace(/Z$|[+-]\d\d:\d\d$/, "");
}

/** A digest shortened for display. */
export function short(digest: string): string {
  return digest.slice(0, 12);
}
