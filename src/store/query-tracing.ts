import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { recordSpan, tracingEnabled } from '../observability/tracing.ts';

/** The `db.system` attribute of each dialect (OpenTelemetry's names). */
const DB_SYSTEM = { sqlite: 'sqlite', postgres: 'postgresql' } as const;

// The operation is the statement's first keyword when it is one of these, else OTHER: bounded,
// and never a value (parameters are bound separately and are not read here at all).
const OPERATIONS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'WITH', 'BEGIN', 'COMMIT', 'ROLLBACK', 'CREATE', 'ALTER', 'DROP', 'PRAGMA', 'SET', 'LOCK']);

export function operationOf(sql: string): string {
  const word = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
  return OPERATIONS.has(word) ? word : 'OTHER';
}

export interface QueryTracingOptions {
  /** Adds the SQL text (placeholders, never values) as `db.query.text`; off by default. */
  statements?: boolean;
}

/**
 * Wraps a dialect so every statement becomes a finished `db.query` span, child of the request's
 * span, with `db.system` and `db.operation.name`; failed statements are marked failed. A driver
 * wrapper rather than a Kysely plugin: a plugin never hears of a statement that failed.
 */
export function tracedDialect(dialect: Dialect, kind: keyof typeof DB_SYSTEM, options: QueryTracingOptions = {}): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => new TracedDriver(dialect.createDriver(), DB_SYSTEM[kind], options.statements === true),
  };
}

/** A connection whose statements are timed; the driver below hands its own connection back to the inner driver. */
class TracedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly system: string,
    private readonly statements: boolean,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!tracingEnabled()) return this.inner.executeQuery<R>(query);
    const start = Date.now();
    const attributes = {
      'db.system': this.system,
      'db.operation.name': operationOf(query.sql),
      'db.query.text': this.statements ? query.sql : undefined,
    };
    try {
      const result = await this.inner.executeQuery<R>(query);
      recordSpan('db.query', attributes, start, Date.now());
      return result;
    } catch (error) {
      recordSpan('db.query', attributes, start, Date.now(), error);
      throw error;
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

const innerOf = (connection: DatabaseConnection): DatabaseConnection => (connection instanceof TracedConnection ? connection.inner : connection);

class TracedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly system: string,
    private readonly statements: boolean,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new TracedConnection(await this.inner.acquireConnection(), this.system, this.statements);
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(innerOf(connection), settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(innerOf(connection));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(innerOf(connection));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(innerOf(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
