import { resolve } from 'node:path';
import { LEGACY_IMPORT_SOURCE } from '../domain/storage.ts';

/**
 * The identifier an import records with every mapping, so that each source's keys (a user's source
 * id, a client id, a token hash) live in a namespace of their own. The operator names it with
 * `--source-id`; by default it is derived from where the records come from, without credentials.
 */

const MAX_LENGTH = 200;
const CONTROL = /\p{Cc}/u;

/** A name given with `--source-id`: 1 to 200 printable characters, no space at either end, not the reserved `legacy`; throws why not. */
export function checkSourceId(name: string): string {
  if (name.length === 0 || name.length > MAX_LENGTH) throw new Error(`must be 1 to ${MAX_LENGTH} characters`);
  if (CONTROL.test(name) || name.trim() !== name) throw new Error('must not hold control characters or start or end with a space');
  if (name === LEGACY_IMPORT_SOURCE) throw new Error(`"${LEGACY_IMPORT_SOURCE}" is reserved for mappings written before imports recorded their source`);
  return name;
}

const SCHEMES: Record<string, { name: string; port: string }> = {
  postgres: { name: 'postgres', port: '5432' },
  postgresql: { name: 'postgres', port: '5432' },
  mysql: { name: 'mysql', port: '3306' },
  mariadb: { name: 'mysql', port: '3306' },
};

/** PostgreSQL's `options=-c search_path=…` (how a schema is chosen in a URL): it tells two sources in one database apart. */
function searchPath(options: string | null): string | undefined {
  const match = /(?:^|\s)(?:-c\s*|--)search_path=(\S+)/.exec(options ?? '');
  return match?.[1];
}

/**
 * `READER:SCHEME://HOST[:PORT]/DATABASE[?host=…&search_path=…]` from a database URL: the user name,
 * password, every other query parameter (sslpassword, sslkey, …) and the fragment are left out, and
 * the scheme's default port and its aliases (postgresql, mariadb) are normalised, so the same
 * database gives the same id whoever reads it and however the URL is spelt.
 */
export function databaseSourceId(reader: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL itself is not repeated: it may hold a password.
    throw new Error('the source must be a postgres://… or mysql://… URL');
  }
  const scheme = SCHEMES[parsed.protocol.replace(/:$/, '').toLowerCase()];
  if (!scheme) throw new Error('the source must be a postgres://… or mysql://… URL');
  const port = parsed.port && parsed.port !== scheme.port ? `:${parsed.port}` : '';
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const kept = new URLSearchParams();
  const socket = parsed.searchParams.get('host');
  if (socket) kept.set('host', socket);
  const schema = searchPath(parsed.searchParams.get('options'));
  if (schema) kept.set('search_path', schema);
  const query = kept.toString() ? `?${kept.toString()}` : '';
  return `${reader}:${scheme.name}://${parsed.hostname.toLowerCase()}${port}/${database}${query}`;
}

/** `jsonl:` and the file's absolute path, or `jsonl:-` for standard input (every import from standard input is one source unless named). */
export function fileSourceId(reader: string, from: string): string {
  return from === '-' ? `${reader}:-` : `${reader}:${resolve(from)}`;
}
