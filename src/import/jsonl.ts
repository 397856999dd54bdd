import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { type ImportRecord, ImportRecordError, parseRecordLine } from './records.ts';

/**
 * Records from a JSON Lines stream, one per line (blank lines ignored). A line that is not a valid
 * record becomes a `skipped` record naming the line and the problem (never its content, which may
 * hold a secret), so one bad line does not stop the import and the report still shows it.
 */
export async function* readJsonLines(input: Readable): AsyncGenerator<ImportRecord> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  for await (const line of lines) {
    number += 1;
    try {
      const record = parseRecordLine(line, number);
      if (record) yield record;
    } catch (error) {
      if (!(error instanceof ImportRecordError)) throw error;
      yield { kind: 'skipped', what: `line ${number}`, reason: error.message.replace(/^line \d+: /, '') };
    }
  }
}

/** A JSON Lines file, or standard input for `-`. */
export function openJsonLines(from: string): { records: AsyncIterable<ImportRecord>; close(): Promise<void> } {
  const input = from === '-' ? process.stdin : createReadStream(from, { encoding: 'utf8' });
  return {
    records: readJsonLines(input),
    async close() {
      if (input !== process.stdin) input.destroy();
    },
  };
}
