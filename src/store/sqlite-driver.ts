import type SqliteDatabase from 'better-sqlite3';
import { type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, SqliteDialect } from 'kysely';
import { StorageUnavailableError } from '../domain/storage.ts';
import type { StorageHealthState } from './health.ts';

/**
 * SQLite without a blocked event loop. better-sqlite3 is synchronous: with a busy timeout, a
 * statement that meets a write lock held by another process (a second node, a backup, an
 * operator's shell) sleeps inside the call and freezes every request of the process. Here the
 * busy timeout is 0 and a locked statement is retried after an asynchronous pause (1, 2, 4 … 32
 * ms) until `lockTimeoutMs` after it was asked for, then fails with `StorageUnavailableError`.
 * Each attempt holds the thread for the statement only.
 *
 * Transactions start with BEGIN IMMEDIATE, which takes the write lock first: a deferred
 * transaction that read before writing could meet a lock it cannot wait for (SQLITE_BUSY_SNAPSHOT
 * needs the whole transaction restarted). Once it holds the lock nothing inside it waits. A
 * transaction waiting for the lock does not hold up other statements: reads go on (WAL), and
 * the single connection is only reserved once BEGIN has succeeded.
 */
export class ResilientSqliteDialect extends SqliteDialect {
  private readonly driver: ResilientSqliteDriver;

  constructor(sqlite: SqliteDatabase.Database, health: StorageHealthState, lockTimeoutMs: number) {
    super({ database: sqlite });
    this.driver = new ResilientSqliteDriver(sqlite, health, lockTimeoutMs);
  }

  override createDriver(): Driver {
    return this.driver;
  }

  /** Whether a write could start within `timeoutMs`: takes the write lock and lets it go at once. */
  probeWriteLock(timeoutMs: number): Promise<void> {
    return this.driver.probeWriteLock(timeoutMs);
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

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

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
    await this.withLockRetries(() => {
      this.db.exec('BEGIN IMMEDIATE');
      // Reserved in the same synchronous step as BEGIN: nothing can slip in between.
      this.transaction = new Promise((resolve) => {
        this.endTransaction = resolve;
      });
    }, Date.now() + this.lockTimeoutMs);
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

  async probeWriteLock(timeoutMs: number): Promise<void> {
    await this.withLockRetries(() => {
      // BEGIN and ROLLBACK in one synchronous step: no statement of ours can come between.
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
    }, Date.now() + timeoutMs);
    this.health.markUp();
  }

  /** Runs one statement, retrying while the database is locked, within the lock timeout. */
  async run(sql: string, parameters: readonly unknown[], inTransaction: boolean): Promise<QueryResult<unknown>> {
    let result: QueryResult<unknown> | undefined;
    await this.withLockRetries(
      () => {
        result = this.execute(sql, parameters);
      },
      Date.now() + this.lockTimeoutMs,
      inTransaction,
    );
    if (!inTransaction && !READ_ONLY.test(sql)) this.health.markUp();
    return result as QueryResult<unknown>;
  }

  /**
   * Runs `attempt` (synchronous) until it does not meet a lock or `deadline` passes. Outside a
   * transaction each attempt first waits (within the deadline) for our own open transaction to
   * end, so a statement never slips into it.
   */
  private async withLockRetries(attempt: () => void, deadline: number, inTransaction = false): Promise<void> {
    let wait = 1;
    for (;;) {
      // Checked again right before the attempt, in the same synchronous step: a waiter woken
      // with others must not run into a transaction one of them has just begun.
      if (!inTransaction) while (this.transaction) await this.transactionEnds(deadline);
      try {
        attempt();
        return;
      } catch (error) {
        const code = codeOf(error);
        if (!UNAVAILABLE_CODES.test(code)) throw error;
        if (!LOCKED_CODES.test(code)) throw this.unavailable(`SQLite cannot write (${code})`, error);
        if (Date.now() + wait > deadline) throw this.unavailable(`SQLite database is locked by another connection (${code})`, error);
      }
      await pause(wait);
      wait = Math.min(wait * 2, MAX_PAUSE_MS);
    }
  }

  /** Waits until this node's open transaction ends, or fails once `deadline` has passed. */
  private async transactionEnds(deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) throw this.unavailable('SQLite is busy with a transaction of this node', undefined, false);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, left);
    });
    await Promise.race([this.transaction, timeout]);
    clearTimeout(timer);
  }

  private unavailable(reason: string, cause: unknown, markDown = true): StorageUnavailableError {
    if (markDown) this.health.markDown(reason);
    return new StorageUnavailableError(reason, { cause });
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
