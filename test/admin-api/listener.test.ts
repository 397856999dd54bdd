import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore } from '../helpers/fixtures.ts';

describe('admin API settings', () => {
  it('is off by default, on loopback when on, for the gatehouse-admin environment', () => {
    const config = loadConfig({});
    assert.deepEqual([config.adminPort, config.adminHost, config.adminEnvironment, config.adminRateLimit], [undefined, '127.0.0.1', 'gatehouse-admin', 600]);
    const on = loadConfig({ GATEHOUSE_ADMIN_PORT: '9090', GATEHOUSE_ADMIN_ENV: 'ops' });
    assert.deepEqual([on.adminPort, on.adminEnvironment], [9090, 'ops']);
  });

  it('refuses the public port, a bad environment name and a bad limit, naming the setting', () => {
    assert.throws(
      () => loadConfig({ GATEHOUSE_PORT: '8080', GATEHOUSE_ADMIN_PORT: '8080' }),
      (e: unknown) => e instanceof ConfigError && /GATEHOUSE_ADMIN_PORT/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ GATEHOUSE_ADMIN_ENV: 'no spaces' }),
      (e: unknown) => e instanceof ConfigError && /GATEHOUSE_ADMIN_ENV/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ GATEHOUSE_ADMIN_RATE_LIMIT: '0' }),
      (e: unknown) => e instanceof ConfigError && /GATEHOUSE_ADMIN_RATE_LIMIT/.test(e.message),
    );
  });
});

for (const database of (await testDatabases()).filter((d) => d.name === 'sqlite')) {
  describe('admin API listener', () => {
    const suite = suiteStore(database, { before, after });

    it('is not built without GATEHOUSE_ADMIN_PORT', async () => {
      const t = await suite.build();
      assert.equal(t.app.adminServer, undefined);
      assert.equal((await t.app.server.inject({ url: '/admin/v1/environments' })).statusCode, 404);
    });

    it('listens on its own loopback port, never on the public one, and closes with the node', async () => {
      const t = await suite.build({ adminPort: 0, host: '127.0.0.1' });
      const publicAddress = await t.app.start();
      const admin = t.app.adminServer;
      assert.ok(admin);
      const { address, port } = admin.server.address() as AddressInfo;
      assert.equal(address, '127.0.0.1');
      assert.notEqual(`http://127.0.0.1:${port}`, publicAddress);
      const res = await fetch(`http://127.0.0.1:${port}/admin/v1/environments`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 401);
      assert.match(String(res.headers.get('www-authenticate')), /^Bearer /);
      const onPublic = await fetch(`${publicAddress}/admin/v1/environments`, { signal: AbortSignal.timeout(5000) });
      assert.equal(onPublic.status, 404);
      assert.equal(onPublic.headers.get('content-type')?.includes('problem'), false);
      await t.app.stop(1000);
      assert.equal(admin.server.listening, false);
    });
  });
}
