import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { StorageUnavailableError } from '../domain/storage.ts';
import type { StorageHealthState } from './health.ts';
import { pgDriver } from './pg-driver.ts';

// Socket error codes (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EAI_AGAIN…), not Node's ERR_* codes,
// which are programming errors.
const SOCKET_ERROR = /^E(?!RR_)[A-Z0-9_]+$/;

/**
 * Why a `pg` error means the database cannot serve the statement now rather than "this statement
 * is wrong" (undefined):
 * - `unreachable`: the server cannot be reached or dropped the connection — class 08, admin or
 *   crash shutdown, "cannot connect now", and the driver's own refused, reset, terminated and
 *   timed-out connections;
 * - `busy`: the server answers but not in time or not now — statement timeout (57014), lock not
 *   available, deadlock, insufficient resources (53), every pooled connection in use. These say
 *   nothing about the other statements, so they do not make the node treat the database as down.
 */
export function postgresFault(error: unknown): 'unreachable' | 'busy' | undefined {
  if (error instanceof pgDriver().DatabaseError) {
    const code = error.code ?? '';
    if (/^08|^57P0[1-3]$/.test(code)) return 'unreachable';
    if (/^53|^57014$|^55P03$|^40P01$/.test(code)) return 'busy';
    return undefined;
  }
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : '';
  if (/timeout exceeded when trying to connect/i.test(message)) return 'busy';
  if (typeof e?.code === 'string' && SOCKET_ERROR.test(e.code)) return 'unreachable';
  return /connection|timeout|terminated|not queryable|ended/i.test(message) ? 'unreachable' : undefined;
}

/** The comment that ends a statement to be prepared once per connection (see `preparedStatement`). */
export const PREPARED_MARK = '/* prepared */';

/**
 * A statement ending in `PREPARED_MARK` is sent as a named prepared statement: each connection
 * parses and plans it once, then only binds and executes it. For the grants' few hot statements,
 * whose parse and plan cost PostgreSQL more than running them. The name is a hash of the text, so
 * two texts never share one; the marked texts are a fixed, small set (a handful of variants).
 */
function preparedStatement(text: string, values: readonly unknown[]): pg.QueryConfig {
  if (!text.endsWith(PREPARED_MARK)) return { text, values: values as unknown[] };
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = `gh_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
    preparedNames.set(text, name);
  }
  return { name, text, values: values as unknown[] };
}

/** The names of the marked texts: a fixed, small set, so the map stays small. */
const preparedNames = new Map<string, string>();

/** A short, secret-free description of an unavailability error, for logs and `/readyz`. */
export function describePostgresError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  if (error instanceof pgDriver().DatabaseError) return `PostgreSQL cannot run the statement now (SQLSTATE ${e.code})`;
  if (typeof e?.message === 'string' && /timeout exceeded when trying to connect/i.test(e.message)) return 'every PostgreSQL connection of this node is busy';
  if (typeof e?.code === 'string' && SOCKET_ERROR.test(e.code)) return `PostgreSQL is unreachable (${e.code})`;
  if (typeof e?.message === 'string' && /timeout/i.test(e.message)) return 'PostgreSQL did not answer in time';
  return 'the connection to PostgreSQL was lost';
}

/**
 * Wraps the `pg` pool Kysely uses so that no database fault can end the process and every one
 * becomes a `StorageUnavailableError`:
 * - the pool's own `error` event (an idle connection dropped by the server) is handled;
 * - a checked-out client gets an `error` listener for as long as it is out: between two
 *   statements of a transaction `pg` has no listener of its own, and an unheard `error` event
 *   kills the process;
 * - a client that saw a connection fault or a timeout is destroyed on release, not reused (a
 *   timed-out query may still be running on it);
 * - after a connection fault every idle connection opened before it is discarded when next
 *   taken from the pool, not tried: after an outage, old sockets may be half-open and would
 *   only wait for the timeout;
 * - while a connection fault says the server is unreachable, statements fail at once instead of
 *   each waiting for the timeout (so a request makes one bounded wait at most, and requests do
 *   not pile up); only `probe` tries the server, and its first success reopens the way.
 */
export function resilientPool(pool: pg.Pool, health: StorageHealthState, probeConfig: pg.ClientConfig): { pool: PostgresPool; probe: () => Promise<void> } {
  const guard = new PoolGuard(pool, health, probeConfig);
  const kyselyPool: PostgresPool = {
    connect: () => guard.connect(),
    end: () => pool.end(),
  };
  return { pool: kyselyPool, probe: () => guard.probe() };
}

/** What `resilientPool` knows about the server between statements, and the connections it hands out. */
class PoolGuard {
  private unreachable = false;
  // A failure of an attempt that started before the last success is old news (a connection
  // attempt made during the outage that timed out after it): it must not close the way again.
  private lastAnswerAt = 0;
  private connectionFaults = 0;
  private readonly openedAfter = new WeakMap<pg.PoolClient, number>();
  private probing: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly health: StorageHealthState,
    private readonly probeConfig: pg.ClientConfig,
  ) {
    pool.on('error', (error) => {
      // An idle connection dropped: later ones must not reuse its siblings, but the server may well
      // answer a new connection, so statements are still tried.
      this.connectionFaults += 1;
      this.health.markDown(describePostgresError(error));
    });
  }

  /** A pooled connection for Kysely; fails at once while the server is known to be unreachable. */
  async connect(): Promise<PostgresPoolClient> {
    if (this.unreachable) throw new StorageUnavailableError(this.health.reason ?? 'PostgreSQL is unreachable');
    const { client } = await this.acquireOrFail();
    return this.watched(client);
  }

  /** Tries the server: through the pool while it answers, else on a connection of its own. */
  probe(): Promise<void> {
    if (!this.unreachable) return this.probeWithPool();
    this.probing ??= this.probeAlone().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  /**
   * `client` as Kysely uses it: listened to for `error` while it is out, its faults turned into
   * StorageUnavailableError, and destroyed on release once it saw a connection fault or a timeout.
   */
  private watched(client: pg.PoolClient): PostgresPoolClient {
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
      this.health.markDown(describePostgresError(error));
    };
    client.on('error', onError);
    return {
      query: async <R>(sql: string, parameters: readonly unknown[]) => {
        // A connection that failed once is not asked again (not even for the ROLLBACK of its
        // transaction, which would wait for a second timeout): the server rolls back when it goes.
        if (broken) throw new StorageUnavailableError(describePostgresError(broken), { cause: broken });
        const queryStartedAt = performance.now();
        try {
          const result = await client.query(preparedStatement(sql, parameters));
          this.answered();
          return result as unknown as { command: 'UPDATE' | 'DELETE' | 'INSERT' | 'SELECT' | 'MERGE'; rowCount: number; rows: R[] };
        } catch (error) {
          if (postgresFault(error) === undefined) throw error;
          // A statement the server cancelled leaves a usable connection; anything else may not.
          if (!(error instanceof pgDriver().DatabaseError)) broken ??= error as Error;
          throw this.unavailable(error, queryStartedAt);
        }
      },
      release: () => {
        client.removeListener('error', onError);
        // A truthy argument makes pg-pool destroy the client instead of reusing it.
        client.release(broken ?? false);
      },
    } as PostgresPoolClient;
  }

  /** `connecting`: the error came from opening a connection, where any refusal means unreachable. */
  private unavailable(error: unknown, startedAt: number, connecting = false): StorageUnavailableError {
    const reason = describePostgresError(error);
    const fault = postgresFault(error) ?? (connecting ? 'unreachable' : undefined);
    if (fault === 'unreachable' && startedAt >= this.lastAnswerAt) {
      this.connectionFaults += 1;
      this.unreachable = true;
      this.health.markDown(reason);
    }
    return new StorageUnavailableError(reason, { cause: error });
  }

  private answered(): void {
    this.lastAnswerAt = performance.now();
    this.unreachable = false;
    this.health.markUp();
  }

  /** A pooled connection opened after the last connection fault; older idle ones are discarded, not tried. */
  private async acquire(): Promise<pg.PoolClient> {
    for (;;) {
      const client = await this.pool.connect();
      const faults = this.openedAfter.get(client);
      if (faults === undefined) this.openedAfter.set(client, this.connectionFaults);
      else if (faults < this.connectionFaults) {
        client.release(true);
        continue;
      }
      return client;
    }
  }

  /** A pooled connection, or the StorageUnavailableError its failure means. */
  private async acquireOrFail(): Promise<{ client: pg.PoolClient; startedAt: number }> {
    const startedAt = performance.now();
    try {
      return { client: await this.acquire(), startedAt };
    } catch (error) {
      throw this.unavailable(error, startedAt, true);
    }
  }

  private async probeWithPool(): Promise<void> {
    const { client, startedAt } = await this.acquireOrFail();
    try {
      await client.query('select 1');
      client.release();
      this.answered();
    } catch (error) {
      client.release(true);
      throw this.unavailable(error, startedAt);
    }
  }

  // While unreachable, a probe uses a connection of its own with a short timeout, one at a time:
  // probes then never fill the pool with connection attempts that hang past the server's return.
  private async probeAlone(): Promise<void> {
    const startedAt = performance.now();
    const client = new (pgDriver().Client)(this.probeConfig);
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      this.answered();
    } catch (error) {
      throw this.unavailable(error, startedAt, true);
    } finally {
      void client.end().catch(() => {});
    }
  }
}
