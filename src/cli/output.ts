/** Prints rows as an aligned table, or JSON for scripts. */
export function printTable(rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (!rows.length) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A one-line progress report on a terminal; silent when output is piped. */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${message}`);
}
export function progressDone(message?: string): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  if (message) process.stderr.write(`${message}\n`);
}
