import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../src/domain/storage.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer } from '../../src/server/server.ts';
import { takeWarmSnapshot, WARM_CLIENTS_USED_WITHIN_MS } from '../../src/server/warm-start.ts';
import { openStore } from '../../src/store/open.ts';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form, suiteStore, type TestApp, testConfig } from '../helpers/fixtures.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';

const FORM = 'application/x-www-form-urlencoded';
const HOUR = 3600 * 1000;
const LIMITS = { usedWithinMs: WARM_CLIENTS_USED_WITHIN_MS, maxClients: 100, budgetMs: 10_000 };

interface Creds {
  id: string;
  secret: string;
}

const tokenRequest = (t: Pick<TestApp, 'app'>, env: string, c: Creds) =>
  t.app.server.inject({
    method: 'POST',
    url: `/envs/${env}/token`,
    headers: { authorization: basic(c.id, c.secret), 'content-type': FORM },
    payload: form({ grant_type: 'client_credentials' }),
  });

for (const database of await testDatabases()) {
  describe(`warm start on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /** An environment with three clients: `old` used two days ago, `recent` an hour ago, `fresh` just now, `never` never. */
    async function setup(given?: TestApp) {
      const t = given ?? (await suite.build());
      const env = `warm-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const make = async (name: string): Promise<Creds> => {
        const c = await t.admin.createClient({ env, name, scopes: ['read'] });
        return { id: c.client_id, secret: c.client_secret ?? '' };
      };
      const clients = { old: await make('old'), recent: await make('recent'), fresh: await make('fresh'), never: await make('never') };
      const use = async (c: Creds) => {
        assert.equal((await tokenRequest(t, env, c)).statusCode, 200);
        await t.app.usage.flush();
      };
      await use(clients.old);
      t.clock.advance(47 * HOUR);
      await use(clients.recent);
      t.clock.advance(HOUR);
      await use(clients.fresh);
      const envId = (await t.store.environments.findByName(env))?.id ?? '';
      return { t, env, envId, clients };
    }

    it('reads every environment with its keys and APIs, and the clients used within a day, most recent first', async () => {
      const { t, envId, clients } = await setup();
      const snapshot = await takeWarmSnapshot(t.store, t.clock, LIMITS);
      assert.ok(snapshot?.complete);
      assert.ok(snapshot.environments.some((e) => e.id === envId));
      assert.ok((snapshot.keys.find((k) => k.envId === envId)?.keys.length ?? 0) > 0, 'the published keys');
      assert.ok(snapshot.apis.some((a) => a.envId === envId));
      const ids = snapshot.clients.filter((c) => c.envId === envId).map((c) => c.clientId);
      assert.deepEqual(ids, [clients.fresh.id, clients.recent.id]);
      const record = snapshot.clients.find((c) => c.clientId === clients.fresh.id)?.record;
      assert.equal(record?.secrets.length, 1, 'the secret hash, to authenticate without the database');
      assert.doesNotMatch(JSON.stringify(snapshot), new RegExp(clients.fresh.secret), 'never a secret in clear');
    });

    it('is bounded: at most maxClients, the most recently used first', async () => {
      // A database of its own: the suite's holds other tests' clients, used at the same times.
      const opened = await database.open();
      after(() => opened.cleanup());
      const built = await buildTestApp(opened.store);
      after(() => built.app.stop());
      const { t, envId, clients } = await setup(built);
      const snapshot = await takeWarmSnapshot(t.store, t.clock, { ...LIMITS, maxClients: 1 });
      assert.deepEqual(
        snapshot?.clients.map((c) => c.clientId),
        [clients.fresh.id],
      );
      assert.ok(snapshot?.environments.some((e) => e.id === envId));
      const none = await takeWarmSnapshot(t.store, t.clock, { ...LIMITS, maxClients: 0 });
      assert.deepEqual(none?.clients, []);
    });

    if (database.name === 'postgres') {
      it('a node started during an outage serves, from the snapshot, the clients used the day before, and only them', async () => {
        const opened = await database.open();
        const { t, env, clients } = await setup(await buildTestApp(opened.store));
        const snapshot = await takeWarmSnapshot(t.store, t.clock, LIMITS);
        assert.ok(snapshot);
        const direct = new URL(POSTGRES_URL);
        const proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
        const viaProxy = new URL(POSTGRES_URL);
        viaProxy.host = `127.0.0.1:${proxy.port}`;
        const schema = opened.schema;
        let store: Store | undefined;
        let node: Awaited<ReturnType<typeof createServer>> | undefined;
        try {
          proxy.cut();
          store = openStore(viaProxy.href, { ...(schema ? { postgresSchema: schema } : {}), poolSize: 2, timeoutMs: 1000 });
          node = await createServer(testConfig({ databaseTimeout: 1 }), { store, clock: t.clock, logger: createLogger('silent') });
          // Without a snapshot a node started now knows nothing: every client is a 503.
          assert.equal((await tokenRequest({ app: node }, env, clients.fresh)).statusCode, 503);
          await node.warm(snapshot);
          for (const c of [clients.fresh, clients.recent]) {
            const res = await tokenRequest({ app: node }, env, c);
            assert.equal(res.statusCode, 200, res.body);
          }
          // A secret the cached hashes do not match is looked up again (it may have been rotated in
          // on another node): never accepted, and 503 while the database cannot say.
          assert.equal((await tokenRequest({ app: node }, env, { ...clients.fresh, secret: 'wrong' })).statusCode, 503);
          for (const c of [clients.old, clients.never]) assert.equal((await tokenRequest({ app: node }, env, c)).statusCode, 503);
        } finally {
          await node?.stop();
          proxy.restore();
          await store?.close();
          await proxy.close();
          await t.app.stop();
          await opened.cleanup();
        }
      });
    }
  });
}
