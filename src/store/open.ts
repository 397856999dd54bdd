import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, type KyselyConfig, PostgresDialect } from 'kysely';
import type pg from 'pg';
import type { Store } from '../domain/storage.ts';
import type { DatabaseObserver } from '../observability/metrics.ts';
import { StorageHealthState } from './health.ts';
import { KyselyStore } from './kysely-store.ts';
import { pgDriver } from './pg-driver.ts';
import { resilientPool } from './postgres-pool.ts';
import { tracedDialect } from './query-tracing.ts';
import type { Database } from './schema.ts';
import { ResilientSqliteDialect } from './sqlite-driver.ts';

export interface OpenStoreOptions {
  /** PostgreSQL only: a schema to use instead of `public` (tests isolate runs this way). */
  postgresSchema?: string;
  /** PostgreSQL only: pool size. */
  poolSize?: number;
  /**
   * Longest wait for the database, in milliseconds (default 5000): a connection, a statement, or
   * on SQLite the write lock. Past it the operation fails with `StorageUnavailableError`.
   */
  timeoutMs?: number;
  /** Told of each statement's duration and, on PostgreSQL, of the pool (metrics). */
  observer?: DatabaseObserver | undefined;
}

const DEFAULT_TIMEOUT_MS = 5000;
// A probe gives up sooner than a request: /readyz answers within about this, and the return of
// an unreachable server is noticed within about this.
const PROBE_TIMEOUT_MS = 1000;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** Turns `sqlite:path`, `sqlite://path` or a bare path into a file path (`:memory:` allowed). */
export function sqlitePath(url: string): string {
  if (url.startsWith('sqlite://')) return url.slice('sqlite://'.length);
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length);
  return url;
}

// bigint (int8) columns hold epoch milliseconds, well inside Number's exact range.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pgDriver().types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Opens the database named by `url` and returns the store; call `migrate()` before use. */
export function openStore(url: string, options: OpenStoreOptions = {}): Store {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const health = new StorageHealthState();
  if (isPostgresUrl(url)) {
    const schema = options.postgresSchema;
    // Settings given in the URL (`?options=-c …`) are kept; ours come after them.
    const fromUrl = new URL(url).searchParams.get('options');
    const serverSettings = [
      ...(schema ? [`search_path=${schema}`] : []),
      // The server gives up on a statement (and on a lock wait) a little before the client does,
      // so a busy server says so (SQLSTATE 57014) and only a silent one meets the client's
      // timeout; it also ends a session whose client vanished mid-transaction, so its locks do
      // not outlive it.
      `statement_timeout=${timeoutMs - Math.min(500, timeoutMs / 5)}`,
      `idle_in_transaction_session_timeout=${Math.max(timeoutMs * 2, 10_000)}`,
    ];
    const connection = {
      connectionString: url,
      types: pgTypes,
      options: [...(fromUrl ? [fromUrl] : []), ...serverSettings.map((s) => `-c ${s}`)].join(' '),
      connectionTimeoutMillis: timeoutMs,
      // The client-side bound, for a server that stopped answering without closing the socket
      // (its own statement_timeout cannot reach the client then). The connection is dropped.
      query_timeout: timeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    };
    const pool = new (pgDriver().Pool)({ ...connection, max: options.poolSize ?? 10 });
    const probeTimeoutMs = Math.min(timeoutMs, PROBE_TIMEOUT_MS);
    const resilient = resilientPool(pool, health, { ...connection, connectionTimeoutMillis: probeTimeoutMs, query_timeout: probeTimeoutMs });
    observePool(pool, options.observer);
    const db = new Kysely<Database>({ dialect: tracedDialect(new PostgresDialect({ pool: resilient.pool }), 'postgres'), ...queryLog(options.observer) });
    return new KyselyStore(db, 'postgres', health, schema, resilient.probe);
  }
  const path = sqlitePath(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // Opening is not on a request's path: switching to WAL may wait for another process's lock (a
  // CLI command started next to a running node or another command), up to the timeout.
  const sqlite = new SqliteDatabase(path, { timeout: timeoutMs });
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // Lock waits are asynchronous retries in the driver; SQLite itself never sleeps on a lock.
  sqlite.pragma('busy_timeout = 0');
  const dialect = new ResilientSqliteDialect(withStatementCache(sqlite), health, timeoutMs);
  const db = new Kysely<Database>({ dialect: tracedDialect(dialect, 'sqlite'), ...queryLog(options.observer) });
  return new KyselyStore(db, 'sqlite', health, undefined, () => dialect.probeWriteLock(Math.min(timeoutMs, PROBE_TIMEOUT_MS)));
}

/** Statement durations through Kysely's log hook; no hook at all without an observer. */
function queryLog(observer: DatabaseObserver | undefined): Pick<KyselyConfig, 'log'> {
  if (!observer) return {};
  return { log: (event) => observer.observeQuery(event.queryDurationMillis / 1000, event.level === 'error') };
}

function observePool(pool: pg.Pool, observer: DatabaseObserver | undefined): void {
  observer?.watchPool(() => ({ inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount }));
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every statement anew; preparing costs more than running the small queries
 * Gatehouse makes. Statements are reusable, so they are kept per SQL text (bounded, oldest out).
 * Safe because better-sqlite3 runs each statement synchronously to completion.
 */
function withStatementCache(sqlite: SqliteDatabase.Database): SqliteDatabase.Database {
  const cache = new Map<string, SqliteDatabase.Statement>();
  const prepare = sqlite.prepare.bind(sqlite);
  return new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property !== 'prepare') {
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (source: string) => {
        let statement = cache.get(source);
        if (!statement) {
          statement = prepare(source);
          if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
          cache.set(source, statement);
        }
        return statement;
      };
    },
  });
}
