import { createRequire } from 'node:module';
import type pg from 'pg';

const require = createRequire(import.meta.url);

/**
 * The pg driver, loaded when a PostgreSQL store is opened: a SQLite deployment, and every CLI
 * command on one, never loads it (nor the fetch implementation its start-up pulls in). Node's
 * module cache makes every call after the first return the same module.
 */
export const pgDriver = (): typeof pg => require('pg') as typeof pg;
