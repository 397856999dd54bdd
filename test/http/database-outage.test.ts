import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { AdminService } from '../../src/admin/admin-service.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';
import { basic, form, testConfig } from '../helpers/fixtures.ts';
import { createEnvironments, surfacesConfig } from '../helpers/surfaces.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const FORM = 'application/x-www-form-urlencoded';
const TIMEOUT_S = 1;

/**
 * A node whose database goes away: it never crashes, answers 503 `temporarily_unavailable` with
 * Retry-After (in each surface's dialect) to whatever needs the database, keeps issuing JWTs to
 * cached clients and publishing its keys, says so on /readyz, and recovers by itself.
 */
async function outageApp(store: Store, setupStore: Store) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
  const config = testConfig({ ...surfacesConfig(), databaseTimeout: TIMEOUT_S });
  const app = await createServer(config, { store, clock, logger: createLogger('silent') });
  const admin = new AdminService(config, config.keySecret, setupStore, undefined, clock);
  await createEnvironments({ admin } as never);
  const jwt = await admin.createClient({ env: 'PRODUCTION', name: 'jwt', scopes: ['read'] });
  const opaque = await admin.createClient({ env: 'PRODUCTION', name: 'opaque', scopes: ['read'], tokenFormat: 'opaque' });
  const inject = (method: 'GET' | 'POST', url: string, payload?: string, headers: Record<string, string> = {}) =>
    app.server.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload }),
      headers: payload === undefined ? headers : { 'content-type': FORM, ...headers },
    });
  const token = (id: string, secret: string) =>
    inject('POST', '/envs/PRODUCTION/token', form({ grant_type: 'client_credentials' }), { authorization: basic(id, secret) });
  return {
    app,
    clock,
    inject,
    token,
    jwt: { id: jwt.client_id, secret: jwt.client_secret ?? '' },
    opaque: { id: opaque.client_id, secret: opaque.client_secret ?? '' },
  };
}

type Outage = Awaited<ReturnType<typeof outageApp>>;

function assertUnavailable(res: LightMyRequestResponse): Record<string, unknown> {
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.headers['retry-after'], '5');
  return res.json() as Record<string, unknown>;
}

/** Every request that needs the database, in every surface's dialect: 503, never 500, in bounded time. */
async function assertRefusalsInEachDialect(t: Outage): Promise<void> {
  const unknown = { id: 'gh_not_cached', secret: 'whatever' };
  const started = Date.now();
  assert.equal(assertUnavailable(await t.token(unknown.id, unknown.secret)).error, 'temporarily_unavailable');
  assert.equal(assertUnavailable(await t.token(t.opaque.id, t.opaque.secret)).error, 'temporarily_unavailable');
  const json = (url: string, body: unknown) => t.inject('POST', url, JSON.stringify(body), { 'content-type': 'application/json' });
  assert.equal(assertUnavailable(await json('/v1beta1/auth/token', { grant_type: 'client_credentials', client_id: unknown.id, client_secret: 'x' })).code, 14);
  assert.equal(assertUnavailable(await json('/v1/oauth/token', { clientId: unknown.id, clientSecret: 'x' })).code, 'SERVICE_UNAVAILABLE');
  const ignisign = {
    grant_type: 'authorization_code',
    client_id: unknown.id,
    client_secret: 'x',
    code: 'c',
    code_verifier: 'v',
    redirect_uri: 'https://a.test/cb',
  };
  const ig = assertUnavailable(await json('/v4/envs/PRODUCTION/oauth2/proofs-token', ignisign));
  assert.equal(ig.code, 'SERVICE_UNAVAILABLE');
  assert.equal(ig.status, 503);
  const rs = assertUnavailable(
    await t.inject('POST', '/oauth/token', form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: unknown.id, client_secret: 'x' })),
  );
  assert.equal(rs.error, 'temporarily_unavailable');
  const page = await t.inject('GET', `/envs/PRODUCTION/authorize?response_type=code&client_id=${unknown.id}`);
  assert.equal(page.statusCode, 503);
  assert.equal(page.headers['retry-after'], '5');
  const ready = await t.inject('GET', '/readyz');
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().status, 'unavailable');
  assert.match(ready.json().reason, /PostgreSQL|SQLite/);
  // Nine requests: at most the first waits (a refused or reset connection fails at once, a
  // silent one after the timeout); the others are refused at once.
  assert.ok(Date.now() - started < (TIMEOUT_S + 1) * 1000, `took ${Date.now() - started} ms`);
}

/** What needs no database keeps working: JWTs for cached clients (even past the cache TTL), JWKS, metadata, /healthz. */
async function assertCachedServiceContinues(t: Outage): Promise<void> {
  assert.equal((await t.token(t.jwt.id, t.jwt.secret)).statusCode, 200);
  t.clock.advance(30_000);
  assert.equal((await t.token(t.jwt.id, t.jwt.secret)).statusCode, 200);
  assert.equal((await t.inject('GET', '/envs/PRODUCTION/jwks.json')).statusCode, 200);
  assert.equal((await t.inject('GET', '/.well-known/oauth-authorization-server/envs/PRODUCTION')).statusCode, 200);
  assert.equal((await t.inject('GET', '/healthz')).statusCode, 200);
}

async function assertRecovered(t: Outage): Promise<void> {
  assert.equal((await t.inject('GET', '/readyz')).statusCode, 200);
  const res = await t.token(t.opaque.id, t.opaque.secret);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal((await t.token(t.jwt.id, t.jwt.secret)).statusCode, 200);
}

async function warm(t: Outage): Promise<void> {
  assert.equal((await t.token(t.jwt.id, t.jwt.secret)).statusCode, 200);
  assert.equal((await t.token(t.opaque.id, t.opaque.secret)).statusCode, 200);
  assert.equal((await t.inject('GET', '/envs/PRODUCTION/jwks.json')).statusCode, 200);
  assert.equal((await t.inject('GET', '/readyz')).statusCode, 200);
}

const databases = await testDatabases();

if (databases.some((d) => d.name === 'postgres')) {
  const postgres = databases.find((d) => d.name === 'postgres');
  describe('a PostgreSQL outage, simulated by a proxy between Gatehouse and the database', () => {
    let proxy: TcpProxy;
    let direct: Awaited<ReturnType<NonNullable<typeof postgres>['open']>>;
    let store: Store;
    let t: Outage;

    before(async () => {
      direct = await (postgres as NonNullable<typeof postgres>).open();
      const target = new URL(POSTGRES_URL);
      proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
      const viaProxy = new URL(POSTGRES_URL);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      store = openStore(viaProxy.href, { postgresSchema: direct.schema, poolSize: 4, timeoutMs: TIMEOUT_S * 1000 });
      t = await outageApp(store, direct.store);
      await warm(t);
    });
    after(async () => {
      await t?.app.stop();
      await store?.close();
      await proxy?.close();
      await direct?.cleanup();
    });

    it('connections reset and refused: 503 in every dialect, cached work goes on, /readyz says why, then recovery', async () => {
      proxy.cut();
      await assertRefusalsInEachDialect(t);
      await assertCachedServiceContinues(t);
      proxy.restore();
      await assertRecovered(t);
    });

    it('a busy database (a lock held by another session, every connection in use) is not mistaken for an unreachable one', async () => {
      await warm(t);
      const locker = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${direct.schema}` });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query('lock table access_tokens in exclusive mode');
        // Six writes for four connections: four wait for the lock (statement timeout), two for a connection.
        const writes = await Promise.all(Array.from({ length: 6 }, () => t.token(t.opaque.id, t.opaque.secret)));
        for (const res of writes) assertUnavailable(res);
        // Nothing says the server is unreachable: the next statements are tried, not refused at
        // once (an unknown client is read from the database and its failure counted there).
        const unknown = await t.token('gh_unknown_while_busy', 'x');
        assert.equal(unknown.statusCode, 401, unknown.body);
        assert.equal((await t.inject('GET', '/readyz')).statusCode, 200);
      } finally {
        await locker.query('rollback').catch(() => {});
        await locker.end();
      }
      await assertRecovered(t);
    });

    it('a server that stops answering: 503 once the timeout passes, then recovery', async () => {
      await warm(t);
      proxy.blackhole();
      const started = Date.now();
      assertUnavailable(await t.token(t.opaque.id, t.opaque.secret));
      // The connection or the query timeout (1 s here), never the default 5 s or an endless wait.
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      // Now known to be unreachable: the next request does not wait again, it answers at once.
      const again = Date.now();
      assertUnavailable(await t.token(t.opaque.id, t.opaque.secret));
      assert.ok(Date.now() - again < 500, `the second refusal took ${Date.now() - again} ms`);
      await assertCachedServiceContinues(t);
      proxy.restore();
      await assertRecovered(t);
    });
  });
}

describe('an SQLite database locked by another process', () => {
  let dir: string;
  let store: Store;
  let t: Outage;
  let path: string;

  before(async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    path = join(dir, 'gatehouse.db');
    store = openStore(path, { timeoutMs: TIMEOUT_S * 1000 });
    await store.migrate();
    t = await outageApp(store, store);
    await warm(t);
  });
  after(async () => {
    await t?.app.stop();
    await store?.close();
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true, force: true });
  });

  it('never blocks the event loop waiting for the lock; writes answer 503 after the timeout; recovery when released', async (context) => {
    const holder = new SqliteDatabase(path);
    holder.exec('BEGIN EXCLUSIVE');
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    try {
      const started = Date.now();
      const opaque = t.token(t.opaque.id, t.opaque.secret);
      // A transaction waiting for the write lock holds up nobody either.
      const transaction = store.clients.rotateSecret('no-env', 'no-client', { id: 'x', secretHash: 'x', createdAt: 0, expiresAt: null }, 0).then(
        () => 'committed',
        (error: Error) => error.name,
      );
      // While those writes wait for the lock, reads go on: past the cache TTL, a JWT request reads
      // its client, environment and key again, and answers at once.
      t.clock.advance(10_000);
      const jwtStarted = Date.now();
      const [jwt, health] = await Promise.all([t.token(t.jwt.id, t.jwt.secret), t.inject('GET', '/healthz')]);
      assert.equal(jwt.statusCode, 200);
      assert.ok(Date.now() - jwtStarted < 500, `the JWT took ${Date.now() - jwtStarted} ms`);
      assert.equal(health.statusCode, 200);
      assert.equal(assertUnavailable(await opaque).error, 'temporarily_unavailable');
      assert.equal(await transaction, 'StorageUnavailableError');
      const waited = Date.now() - started;
      assert.ok(waited >= TIMEOUT_S * 1000 - 50 && waited < TIMEOUT_S * 1000 + 500, `the write waited ${waited} ms for the lock`);
      const readyStarted = Date.now();
      const ready = await t.inject('GET', '/readyz');
      assert.ok(Date.now() - readyStarted < TIMEOUT_S * 1000 + 500, '/readyz answers within the probe timeout');
      assert.equal(ready.statusCode, 503);
      assert.match(ready.json().reason, /locked/);
    } finally {
      delay.disable();
      holder.exec('ROLLBACK');
      holder.close();
    }
    // The lock waits were asynchronous: the event loop never stalled for anything near the
    // timeout (a synchronous busy wait would show the full second here).
    const maxMs = delay.max / 1e6;
    context.diagnostic(`event-loop delay while the lock was held: p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${maxMs.toFixed(1)} ms`);
    assert.ok(maxMs < TIMEOUT_S * 1000 * 0.5, `event loop delay reached ${maxMs.toFixed(1)} ms`);
    await assertRecovered(t);
  });
});
