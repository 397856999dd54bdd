import type { ImportRecord } from './records.ts';
import { databaseSourceId, fileSourceId } from './source-id.ts';

/** What `gatehouse import` hands a source: where to read, and the options some sources take. */
export interface SourceOptions {
  /** A database URL, or for `jsonl` a file path or `-` for standard input. */
  from: string;
  /** Doorkeeper: the Devise table holding the users, when there is one. */
  usersTable?: string | undefined;
}

/** An opened source: its records, in an order where clients and users come before the tokens naming them. */
export interface OpenedSource {
  records: AsyncIterable<ImportRecord>;
  close(): Promise<void>;
}

export interface SourceReader {
  /** One line for `gatehouse import --help`. */
  description: string;
  /** The source id recorded with the mappings when the operator names none (no credentials in it). */
  defaultSourceId(from: string): string;
  open(options: SourceOptions): Promise<OpenedSource>;
}

/**
 * Every source `gatehouse import SOURCE` knows, by name. A reader yields normalized records
 * (records.ts); the engine imports them the same way whatever their source. Each reader loads its
 * code and database driver when opened, so listing the sources (the CLI's help) loads neither.
 */
export const IMPORT_SOURCES: Readonly<Record<string, SourceReader>> = {
  jsonl: {
    description: 'JSON Lines: one client, user or token per line (see README, "Migrating to Gatehouse")',
    defaultSourceId: (from) => fileSourceId('jsonl', from),
    open: async ({ from }) => (await import('./jsonl.ts')).openJsonLines(from),
  },
  doorkeeper: {
    description: 'Doorkeeper on PostgreSQL or MySQL/MariaDB: applications, tokens, and Devise users with --users-table',
    defaultSourceId: (from) => databaseSourceId('doorkeeper', from),
    open: async ({ from, usersTable }) => (await import('./sources/doorkeeper.ts')).openDoorkeeper(from, { usersTable }),
  },
  hydra: {
    description: 'ORY Hydra 2 on PostgreSQL: its clients (its tokens cannot be carried over; the report says why)',
    defaultSourceId: (from) => databaseSourceId('hydra', from),
    open: async ({ from }) => (await import('./sources/hydra.ts')).openHydra(from),
  },
};
