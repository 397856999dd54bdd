import type SqliteDatabase from 'better-sqlite3';
import { type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, SqliteDialect } from 'kysely';
import type { StorageHealthState } from './health.ts';
import { StorageUnavailableError } from './store.ts';

/**
 * SQLite without a blocked event loop. better-sqlite3 is synchronous: with a busy timeout, a
 * statement that meets a write lock held by another process (a second node, a backup, an
 * operator's shell) sleeps inside the call and freezes every request of the process. Here the
 * busy timeout is 0 and a locked statement is retried after an asynchronous pause (1, 2, 4 … 32
 * ms) until `lockTimeoutMs`, then fails with `StorageUnavailableError`. Each attempt holds the
 * thread for the statement only.
 *
 * Transactions start with BEGIN IMMEDIATE, which takes the write lock first: a deferred
 * transaction that read before writing could meet a lock it cannot wait for (SQLITE_BUSY_SNAPSHOT
 * needs the whole transaction restarted). Once it holds the lock nothing inside it waits.
 */
export class ResilientSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqlite: SqliteDatabase.Database,
    private readonly health: StorageHealthState,
    private readonly lockTimeoutMs: number,
  ) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new ResilientSqliteDriver(this.sqlite, this.health, this.lockTimeoutMs);
  }
}

// Codes that mean "not now" rather than "wrong statement": locks, I/O, a full or read-only disk.
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|PROTOCOL|NOLFS)/;
const LOCKED_CODES = /^SQLITE_(BUSY|LOCKED)/;
const MAX_PAUSE_MS = 32;
// Reads succeed while another process holds the write lock, so only writes say the database is usable again.
const READ_ONLY = /^\s*select\b/i;

const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : '';
};

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class ResilientSqliteDriver implements Driver {
  /** Resolves when the open transaction ends; undefined while none is open. */
  private transaction: Promise<void> | undefined;
  private endTransaction: (() => void) | undefined;

  constructor(
    private readonly db: SqliteDatabase.Database,
    private readonly health: StorageHealthState,
    private readonly lockTimeoutMs: number,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ResilientSqliteConnection(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // One transaction at a time on the single connection: the next one waits for this one.
    while (this.transaction) await this.transaction;
    this.transaction = new Promise((resolve) => {
      this.endTransaction = resolve;
    });
    try {
      await this.run('BEGIN IMMEDIATE', [], true);
    } catch (error) {
      this.finishTransaction();
      throw error;
    }
    (connection as ResilientSqliteConnection).inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.run('COMMIT', [], true);
    this.health.markUp();
    (connection as ResilientSqliteConnection).inTransaction = false;
    this.finishTransaction();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } finally {
      (connection as ResilientSqliteConnection).inTransaction = false;
      this.finishTransaction();
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A transaction whose commit failed is rolled back by Kysely; this only guards against a leak.
    if ((connection as ResilientSqliteConnection).inTransaction) await this.rollbackTransaction(connection);
  }

  async destroy(): Promise<void> {
    this.db.close();
  }

  /**
   * Runs one statement, retrying while the database is locked. Outside a transaction each attempt
   * first waits for any open one to end, so a statement never slips into another's transaction.
   */
  async run(sql: string, parameters: readonly unknown[], inTransaction: boolean): Promise<QueryResult<unknown>> {
    const deadline = Date.now() + this.lockTimeoutMs;
    let wait = 1;
    for (;;) {
      if (!inTransaction) while (this.transaction) await this.transaction;
      try {
        const result = this.execute(sql, parameters);
        if (!inTransaction && !READ_ONLY.test(sql)) this.health.markUp();
        return result;
      } catch (error) {
        const code = codeOf(error);
        if (!UNAVAILABLE_CODES.test(code)) throw error;
        if (!LOCKED_CODES.test(code) || Date.now() + wait > deadline) {
          const reason = LOCKED_CODES.test(code) ? `SQLite database is locked by another connection (${code})` : `SQLite cannot write (${code})`;
          this.health.markDown(reason);
          throw new StorageUnavailableError(reason, { cause: error });
        }
      }
      await pause(wait);
      wait = Math.min(wait * 2, MAX_PAUSE_MS);
    }
  }

  private execute(sql: string, parameters: readonly unknown[]): QueryResult<unknown> {
    const statement = this.db.prepare(sql);
    if (statement.reader) return { rows: statement.all(parameters) };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  private finishTransaction(): void {
    const end = this.endTransaction;
    this.transaction = undefined;
    this.endTransaction = undefined;
    end?.();
  }
}

class ResilientSqliteConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(private readonly driver: ResilientSqliteDriver) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.run(compiledQuery.sql, compiledQuery.parameters, this.inTransaction) as Promise<QueryResult<R>>;
  }

  // biome-ignore lint/correctness/useYield: Gatehouse never streams; the interface requires the method.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported');
  }
}
