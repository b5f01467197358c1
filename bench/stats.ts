/**
 * Percentiles and the printed table of the benchmark.
 *
 * @module
 */

export { summarize, type Summary } from "@atlas/core";

/** Renders rows as an aligned text table with a header rule. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)]
    .join("\n");
}

/** Milliseconds with one decimal. */
export function ms(v: number): string {
  return v.toFixed(1);
}
