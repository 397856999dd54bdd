import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Store } from '../../src/domain/storage.ts';
import { testDatabases } from '../helpers/databases.ts';
import { buildTestApp } from '../helpers/fixtures.ts';

const [sqlite] = await testDatabases();

describe('a node writes its usage records', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  before(async () => {
    assert.ok(sqlite);
    ({ store, cleanup } = await sqlite.open());
  });
  after(async () => cleanup());

  it('every GATEHOUSE_USAGE_FLUSH_INTERVAL, and what is left at stop', async () => {
    const t = await buildTestApp(store, { usageFlushInterval: 1, host: '127.0.0.1' });
    await t.admin.createEnvironment('PROD');
    const envId = (await store.environments.findByName('PROD'))?.id ?? '';
    const periodic = await t.admin.createClient({ env: 'PROD', name: 'periodic' });
    const last = await t.admin.createClient({ env: 'PROD', name: 'last' });
    const env = { id: envId, name: 'PROD' };
    await t.app.start();
    try {
      t.app.usage.listener({ type: 'token.issued', env, clientId: periodic.client_id, grantType: 'client_credentials' });
      // Bounded wait for the periodic flush (1 s interval): at most 5 s.
      let seen: number | undefined;
      for (let i = 0; i < 50 && seen === undefined; i++) {
        await delay(100);
        seen = (await store.usage.lastUsed('client', envId)).get(periodic.client_id);
      }
      assert.equal(seen, t.clock.now());
      t.app.usage.listener({ type: 'token.issued', env, clientId: last.client_id, grantType: 'client_credentials' });
    } finally {
      await t.app.stop(5000);
    }
    assert.equal((await store.usage.lastUsed('client', envId)).get(last.client_id), t.clock.now(), 'stop writes the last records');
  });
});
