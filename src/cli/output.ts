/** Human-readable output for CLI commands; `--json` bypasses it. */

import type { ClientDetails } from '../admin/admin-service.ts';

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

/** A usage time for people: `never` when none was recorded (JSON output keeps null). */
export const lastUsed = (at: string | null): string => at ?? 'never';

/** `client show`: the client, its use and token counts, then one line per current secret. */
export function printClientDetails(shown: ClientDetails, write: (line: string) => void = console.log): void {
  const { secrets, last_used_at, tokens_today, tokens_last_30_days, ...client } = shown;
  printKeyValues({ ...client, last_used: lastUsed(last_used_at), tokens_today, tokens_last_30_days }, write);
  if (client.type === 'public') return;
  write('');
  printTable(
    secrets.map((s) => ({ secret_id: s.id, created_at: s.created_at, expires_at: s.expires_at, last_used: lastUsed(s.last_used_at) })),
    ['secret_id', 'created_at', 'expires_at', 'last_used'],
    write,
  );
}
