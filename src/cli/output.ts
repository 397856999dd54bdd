/** Human-readable output for CLI commands; `--json` bypasses it. */

const format = (value: unknown): string => {
  if (Array.isArray(value)) return value.length ? value.map(format).join(' ') : '-';
  if (value === null || value === undefined) return '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

export function printKeyValues(record: object, write: (line: string) => void = console.log): void {
  const entries = Object.entries(record);
  const width = Math.max(...entries.map(([k]) => k.length));
  for (const [key, value] of entries) write(`${key.padEnd(width)}  ${format(value)}`);
}

export function printTable<T extends object>(rows: T[], columns: (keyof T & string)[], write: (line: string) => void = console.log): void {
  if (rows.length === 0) {
    write('(none)');
    return;
  }
  const cells = rows.map((row) => columns.map((c) => format(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  write(
    columns
      .map((c, i) => c.toUpperCase().padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  for (const row of cells)
    write(
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}
