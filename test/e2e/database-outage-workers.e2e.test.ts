import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';
import { httpRequest, type ProductionServer, productionServer, tokenRequest } from '../helpers/production-server.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * `gatehouse serve --workers 2` on PostgreSQL through a proxy the test cuts: no worker dies, JWTs
 * for known clients keep coming, opaque tokens (which must be saved) answer 503 with Retry-After,
 * /readyz says 503, and once the proxy forwards again the same workers recover by themselves.
 */
if ((await testDatabases()).some((d) => d.name === 'postgres')) {
  describe('a PostgreSQL outage under `serve --workers 2`', () => {
    const schema = `gh_outage_${randomBytes(5).toString('hex')}`;
    let proxy: TcpProxy;
    let server: ProductionServer;
    const clients: Record<'jwt' | 'opaque', { id: string; secret: string }> = { jwt: { id: '', secret: '' }, opaque: { id: '', secret: '' } };

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
      for (const kind of ['jwt', 'opaque'] as const) {
        const out = JSON.parse(await server.cli(['client', 'create', '--env', 'PROD', '--name', kind, '--token-format', kind, '--json'])) as {
          client_id: string;
          client_secret: string;
        };
        clients[kind] = { id: out.client_id, secret: out.client_secret };
      }
      await server.start(2);
    });

    after(async () => {
      await server?.dispose();
      await proxy?.close();
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    });

    it('keeps every worker alive, answers 503 for what needs the database, and recovers', async (t) => {
      // One connection per request, so the primary spreads them over both workers (in turn) and
      // warms each worker's cache: three in a row of each kind reach both workers.
      for (let i = 0; i < 4; i++) {
        for (const kind of ['jwt', 'jwt', 'jwt', 'opaque', 'opaque', 'opaque'] as const) {
          assert.equal((await tokenRequest(server.baseUrl, 'PROD', clients[kind])).status, 200);
        }
        assert.equal((await httpRequest(`${server.baseUrl}/envs/PROD/jwks.json`)).status, 200);
      }

      proxy.cut();
      const outageStarted = Date.now();
      const jwt = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(server.baseUrl, 'PROD', clients.jwt)));
      assert.deepEqual(
        jwt.map((r) => r.status),
        Array(10).fill(200),
      );
      const opaque = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(server.baseUrl, 'PROD', clients.opaque)));
      for (const res of opaque) {
        assert.equal(res.status, 503, res.body);
        assert.equal(res.headers['retry-after'], '5');
        assert.equal(JSON.parse(res.body).error, 'temporarily_unavailable');
      }
      const ready = await httpRequest(`${server.baseUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal((await httpRequest(`${server.baseUrl}/envs/PROD/jwks.json`)).status, 200);
      assert.ok(Date.now() - outageStarted < 10_000);

      proxy.restore();
      const restored = Date.now();
      let recoveredAfterMs: number | undefined;
      while (Date.now() - restored < 15_000) {
        const statuses = await Promise.all(Array.from({ length: 4 }, () => tokenRequest(server.baseUrl, 'PROD', clients.opaque).then((r) => r.status)));
        if (statuses.every((s) => s === 200)) {
          recoveredAfterMs = Date.now() - restored;
          break;
        }
        await delay(100);
      }
      assert.ok(recoveredAfterMs !== undefined, 'the workers did not recover within 15 s');
      t.diagnostic(`outage answers took ${restored - outageStarted} ms; recovered ${recoveredAfterMs} ms after the proxy forwarded again`);
      assert.equal((await httpRequest(`${server.baseUrl}/readyz`)).status, 200);
      assert.doesNotMatch(server.stderr(), /exited/, 'no worker died');

      const { code } = await server.signal('SIGTERM');
      assert.equal(code, 0, server.stderr());
    });
  });
}
