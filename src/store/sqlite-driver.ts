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

/** Callers whose work is done inside the open SQLite transaction, answered once it commits. */
interface Batch {
  readonly acks: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
  /** No more work joins: its commit is due. */
  closed: boolean;
}

/** Work a batch takes before it closes to newcomers and commits. */
const MAX_BATCH = 64;
const UNIT = 'gatehouse_unit';

/**
 * Group commit. Each write and each transaction used to be a transaction of its own, and on a
 * WAL database most of a short write's time is its COMMIT (writing its pages to the log: 200-300
 * µs of a refresh rotation's 1 ms). Here work arriving while a write is in progress joins one open
 * SQLite transaction, and that transaction commits once per turn of the event loop
 * (`setImmediate`) or after `MAX_BATCH` pieces of work, whichever comes first:
 * - each piece still runs alone and in order: a transaction is a savepoint inside the batch, rolled
 *   back alone; a single write is atomic by itself (a failed statement undoes only itself);
 * - nobody is answered before the COMMIT that makes their work durable: a transaction's commit
 *   and a write resolve then, and all of them fail if it fails (nothing of theirs was written);
 * - nobody reads what is not committed: a read outside a transaction waits until the batch has
 *   committed; work inside the batch sees the earlier work, as it would in serial order.
 * The batch holds the write lock between its first write and its commit, a turn of the event loop.
 */
class ResilientSqliteDriver implements Driver {
  /** Resolves when the open transaction ends; undefined while none is open. */
  private transaction: Promise<void> | undefined;
  private endTransaction: (() => void) | undefined;
  /** The SQLite transaction work joins, while one is open. */
  private batch: Batch | undefined;
  /** Resolves at the next change of `transaction` or `batch`: waiters look again then. */
  private changed = signal();

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
    await this.withLockRetries(
      () => {
        this.joinBatch();
        this.db.exec(`SAVEPOINT ${UNIT}`);
        // Reserved in the same synchronous step as BEGIN: nothing can slip in between.
        this.transaction = new Promise((resolve) => {
          this.endTransaction = resolve;
        });
      },
      Date.now() + this.lockTimeoutMs,
      'write',
    );
    (connection as ResilientSqliteConnection).inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const batch = this.batch;
    // The batch was lost while this transaction ran (SQLite ended it): nothing of it was saved.
    if (!batch) throw new StorageUnavailableError('SQLite rolled back the transaction');
    try {
      this.execute(`RELEASE ${UNIT}`, []);
    } catch (error) {
      throw this.failed(error);
    }
    (connection as ResilientSqliteConnection).inTransaction = false;
    const committed = this.acknowledgement(batch);
    this.finishTransaction();
    await committed;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const own = connection as ResilientSqliteConnection;
    if (!own.inTransaction) return;
    try {
      if (this.db.inTransaction) this.db.exec(`ROLLBACK TO ${UNIT}; RELEASE ${UNIT}`);
      // SQLite ended the whole transaction itself (a full disk, an I/O error): the batch is lost.
      else if (this.batch) this.failBatch(new StorageUnavailableError('SQLite rolled back the transaction'));
    } finally {
      own.inTransaction = false;
      this.finishTransaction();
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A transaction whose commit failed is rolled back by Kysely; this only guards against a leak.
    if ((connection as ResilientSqliteConnection).inTransaction) await this.rollbackTransaction(connection);
  }

  async destroy(): Promise<void> {
    // What has been done is committed; a transaction still open is lost with its batch, as the
    // close would lose it anyway, and everyone waiting on that batch is told so.
    if (this.transaction) this.failBatch(new StorageUnavailableError('SQLite was closed during a transaction'));
    else this.commitBatch();
    this.db.close();
  }

  async probeWriteLock(timeoutMs: number): Promise<void> {
    await this.withLockRetries(
      () => {
        // BEGIN and ROLLBACK in one synchronous step: no statement of ours can come between.
        this.db.exec('BEGIN IMMEDIATE');
        this.db.exec('ROLLBACK');
      },
      Date.now() + timeoutMs,
      'alone',
    );
    this.health.markUp();
  }

  /** Runs one statement, retrying while the database is locked, within the lock timeout. */
  async run(sql: string, parameters: readonly unknown[], inTransaction: boolean): Promise<QueryResult<unknown>> {
    if (inTransaction) {
      // SQLite ends the whole transaction on some failures (a full disk, an I/O error): the rest of
      // the transaction must not go on as single writes of their own.
      if (!this.batch) throw new StorageUnavailableError('SQLite rolled back the transaction');
      return this.inBatch(sql, parameters);
    }
    let result: QueryResult<unknown> | undefined;
    const read = READ_ONLY.test(sql);
    let committed: Promise<void> | undefined;
    await this.withLockRetries(
      () => {
        const batch = read ? undefined : this.joinBatch();
        result = this.inBatch(sql, parameters);
        // In the same synchronous step: the batch cannot commit before this write is counted in.
        if (batch) committed = this.acknowledgement(batch);
      },
      Date.now() + this.lockTimeoutMs,
      read ? 'alone' : 'write',
    );
    await committed;
    return result as QueryResult<unknown>;
  }

  /** A statement inside the open transaction, if any: a failure that ended it fails the batch. */
  private inBatch(sql: string, parameters: readonly unknown[]): QueryResult<unknown> {
    try {
      return this.execute(sql, parameters);
    } catch (error) {
      if (this.batch && !this.db.inTransaction) this.failBatch(error);
      throw error;
    }
  }

  /** The open batch, begun (BEGIN IMMEDIATE, which may meet another process's lock) if none is. */
  private joinBatch(): Batch {
    if (this.batch) return this.batch;
    this.db.exec('BEGIN IMMEDIATE');
    const batch: Batch = { acks: [], closed: false };
    this.batch = batch;
    setImmediate(() => this.closeBatch(batch));
    return batch;
  }

  /** Resolves once `batch` has committed (rejects if it fails); may close it when it is full. */
  private acknowledgement(batch: Batch): Promise<void> {
    const done = new Promise<void>((resolve, reject) => batch.acks.push({ resolve, reject }));
    if (batch.acks.length >= MAX_BATCH) this.closeBatch(batch);
    return done;
  }

  /** No more work joins `batch`; it commits now, or when the transaction inside it ends. */
  private closeBatch(batch: Batch): void {
    if (this.batch !== batch) return;
    batch.closed = true;
    if (!this.transaction) this.commitBatch();
  }

  private commitBatch(): void {
    const batch = this.batch;
    if (!batch) return;
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      this.failBatch(error);
      return;
    }
    this.batch = undefined;
    this.health.markUp();
    for (const ack of batch.acks) ack.resolve();
    this.changed = this.changed.fire();
  }

  private failBatch(cause: unknown): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // Already rolled back by SQLite.
    }
    const error = this.failed(cause);
    for (const ack of batch.acks) ack.reject(error);
    this.changed = this.changed.fire();
  }

  /** What a failed commit or lost batch reports: unavailable for a lock, disk or I/O cause. */
  private failed(cause: unknown): unknown {
    if (cause instanceof StorageUnavailableError) return cause;
    const code = codeOf(cause);
    return UNAVAILABLE_CODES.test(code) ? this.unavailable(`SQLite cannot write (${code})`, cause) : cause;
  }

  /**
   * Runs `attempt` (synchronous) until it does not meet a lock or `deadline` passes. Each attempt
   * first waits (within the deadline) until it may run: `write` work while no transaction of this
   * node is open and no batch is committing (it may join an open batch), `alone` work (a read
   * outside a transaction) while no batch is open either, so it never reads uncommitted work.
   */
  private async withLockRetries(attempt: () => void, deadline: number, kind: 'write' | 'alone'): Promise<void> {
    let wait = 1;
    for (;;) {
      // Checked again right before the attempt, in the same synchronous step: a waiter woken
      // with others must not run into a transaction one of them has just begun.
      while (this.transaction || (this.batch && (kind === 'alone' || this.batch.closed))) await this.nextChange(deadline);
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

  /** Waits for the next change of this node's transaction or batch, or fails once `deadline` has passed. */
  private async nextChange(deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) throw this.unavailable('SQLite is busy with a transaction of this node', undefined, false);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, left);
    });
    await Promise.race([this.changed.promise, timeout]);
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
    if (this.batch?.closed) this.commitBatch();
    this.changed = this.changed.fire();
  }
}

/** A one-shot signal: `fire` resolves it and returns the next one. */
interface Signal {
  readonly promise: Promise<void>;
  fire(): Signal;
}

function signal(): Signal {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    promise,
    fire() {
      resolve();
      return signal();
    },
  };
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
