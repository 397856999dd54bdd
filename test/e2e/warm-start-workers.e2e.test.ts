import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';
import { httpRequest, type ProductionServer, productionServer, tokenRequest } from '../helpers/production-server.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

/** The worker processes of a primary, by PID. */
function workersOf(primary: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Warm start under `serve --workers 2` on PostgreSQL through a proxy the test cuts: the primary
 * keeps a snapshot of what the workers serve, so workers started during the outage (both killed
 * and forked again) still issue JWTs to the clients used before it, and only to those.
 */
if ((await testDatabases()).some((d) => d.name === 'postgres')) {
  describe('a worker started during a PostgreSQL outage', () => {
    const schema = `gh_warm_${randomBytes(5).toString('hex')}`;
    let proxy: TcpProxy;
    let server: ProductionServer;
    const clients: Record<'used' | 'unused', { id: string; secret: string }> = { used: { id: '', secret: '' }, unused: { id: '', secret: '' } };

    const withSchema = (url: string) => {
      const u = new URL(url);
      u.searchParams.set('options', `-c search_path=${schema}`);
      return u.href;
    };

    before(async () => {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      const target = new URL(POSTGRES_URL);
      proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
      const viaProxy = new URL(POSTGRES_URL);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      server = await productionServer({ GATEHOUSE_DATABASE_URL: withSchema(viaProxy.href), GATEHOUSE_DATABASE_TIMEOUT: '1', GATEHOUSE_DRAIN_PERIOD: '0' });
      await server.cli(['env', 'create', 'PROD']);
      for (const name of ['used', 'unused'] as const) {
        const out = JSON.parse(await server.cli(['client', 'create', '--env', 'PROD', '--name', name, '--json'])) as {
          client_id: string;
          client_secret: string;
        };
        clients[name] = { id: out.client_id, secret: out.client_secret };
      }
    });

    after(async () => {
      await server?.dispose();
      await proxy?.close();
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    });

    it('serves the clients used the day before, from the primary’s snapshot', async (t) => {
      // Yesterday: the client is used; its last use is saved when the server stops.
      await server.start(2);
      assert.equal((await tokenRequest(server.baseUrl, 'PROD', clients.used)).status, 200);
      assert.equal((await server.signal('SIGTERM')).code, 0, server.stderr());

      // Today: the primary reads its snapshot as it starts; then the database goes away.
      await server.start(2);
      const before = workersOf(server.pid);
      assert.equal(before.length, 2, `two workers: ${before.join(', ')}`);
      proxy.cut();
      for (const pid of before) process.kill(pid, 'SIGKILL');

      // The primary forks two new workers; each asks it for the snapshot before it listens.
      const started = Date.now();
      let fresh: number[] = [];
      while (Date.now() - started < 20_000) {
        fresh = workersOf(server.pid).filter((pid) => !before.includes(pid));
        if (fresh.length === 2 && (await httpRequest(`${server.baseUrl}/healthz`).catch(() => undefined))?.status === 200) break;
        await delay(100);
      }
      assert.equal(fresh.length, 2, 'two new workers');
      // Each request on a new connection; the primary hands connections to the workers in turn.
      const used = await Promise.all(Array.from({ length: 8 }, () => tokenRequest(server.baseUrl, 'PROD', clients.used)));
      assert.deepEqual(
        used.map((r) => r.status),
        Array(8).fill(200),
        used.map((r) => r.body).join('\n'),
      );
      const unused = await tokenRequest(server.baseUrl, 'PROD', clients.unused);
      assert.equal(unused.status, 503, unused.body);
      t.diagnostic(`new workers ${fresh.join(', ')} answered ${Date.now() - started} ms after the old ones were killed, during the outage`);

      proxy.restore();
      assert.equal((await server.signal('SIGTERM')).code, 0, server.stderr());
    });
  });
}
