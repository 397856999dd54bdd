import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Client, Environment } from '../../src/domain/model.ts';
import type { LastUse, Store } from '../../src/domain/storage.ts';
import { UsageRecorder } from '../../src/observability/usage.ts';
import { testDatabases } from '../helpers/databases.ts';

const T0 = Date.UTC(2026, 0, 1);

const environment = (name: string): Environment => ({ id: `env-usage-${name}`, name: `USAGE_${name}`, createdAt: T0, defaultQuota: null });

const client = (envId: string, clientId: string): Client => ({
  envId,
  clientId,
  name: clientId,
  kind: 'confidential',
  grantTypes: ['client_credentials'],
  scopes: [],
  defaultScopes: [],
  redirectUris: [],
  tokenFormat: 'jwt',
  accessTokenTtl: null,
  introspectAny: false,
  allowMissingPkce: false,
  quota: null,
  enabled: true,
  createdAt: T0,
  updatedAt: T0,
});

const signingKey = (envId: string) => ({
  kid: `kid-${envId}`,
  envId,
  alg: 'ES256',
  publicJwk: { kty: 'EC' },
  privateKeySealed: 'v1.sealed',
  status: 'active' as const,
  createdAt: T0,
  activateAt: T0,
  retiredAt: null,
  publishUntil: null,
});

const use = (subject: LastUse['subject'], envId: string, id: string, at: number): LastUse => ({ subject, envId, id, at });

for (const database of await testDatabases()) {
  describe(`usage store on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const a = environment('A');
    const b = environment('B');

    before(async () => {
      ({ store, cleanup } = await database.open());
      for (const env of [a, b]) {
        await store.environments.create(env, signingKey(env.id));
        await store.clients.create(client(env.id, 'c1'), { id: `secret-${env.id}`, secretHash: 'h', createdAt: T0, expiresAt: null });
        await store.clientKeys.insert({ envId: env.id, kid: 'k1', clientId: 'c1', alg: 'ES256', publicJwk: { kty: 'EC' }, createdAt: T0, revokedAt: null });
        await store.users.create({ envId: env.id, userId: 'u1', username: 'alice', passwordHash: 'h', enabled: true, createdAt: T0, updatedAt: T0 });
      }
      await store.clients.create(client(a.id, 'c2'), undefined);
    });
    after(async () => cleanup());

    it('reads nothing for subjects never used', async () => {
      assert.deepEqual(await store.usage.lastUsed('client', a.id), new Map());
      assert.deepEqual(await store.usage.tokenCounts(a.id, 'c1', '2026-01-01', '2026-12-31'), new Map());
    });

    it('records last uses of every kind, scoped to the environment and, when asked, the client', async () => {
      await store.usage.record({
        lastUses: [
          use('client', a.id, 'c1', T0 + 10),
          use('client_secret', a.id, `secret-${a.id}`, T0 + 10),
          use('key', a.id, 'k1', T0 + 11),
          use('user', a.id, 'u1', T0 + 12),
          // Unknown subjects are skipped, not an error.
          use('client', a.id, 'gone', T0 + 10),
          use('key', a.id, 'gone', T0 + 10),
        ],
        tokenCounts: [],
      });
      assert.deepEqual(await store.usage.lastUsed('client', a.id), new Map([['c1', T0 + 10]]));
      assert.deepEqual(await store.usage.lastUsed('client_secret', a.id, 'c1'), new Map([[`secret-${a.id}`, T0 + 10]]));
      assert.deepEqual(await store.usage.lastUsed('client', a.id, undefined, ['c1', 'other']), new Map([['c1', T0 + 10]]));
      assert.deepEqual(await store.usage.lastUsed('client', a.id, undefined, ['other']), new Map());
      assert.deepEqual(await store.usage.lastUsed('client', a.id, undefined, []), new Map());
      assert.deepEqual(await store.usage.lastUsed('client_secret', a.id, 'c2'), new Map());
      assert.deepEqual(await store.usage.lastUsed('key', a.id, 'c1'), new Map([['k1', T0 + 11]]));
      assert.deepEqual(await store.usage.lastUsed('user', a.id), new Map([['u1', T0 + 12]]));
      assert.deepEqual(await store.usage.lastUsed('client', b.id), new Map());
      assert.deepEqual(await store.usage.lastUsed('key', b.id), new Map());
    });

    it('never moves a last-use time backwards, whatever order concurrent flushes commit in', async () => {
      const times = [500, 100, 900, 300, 700, 200, 800];
      await Promise.all(
        times.map((t, i) => {
          const lastUses = [use('user', b.id, 'u1', T0 + t), use('client', b.id, 'c1', T0 + t), use('key', b.id, 'k1', T0 + 1000 - t)];
          // Batches list the same rows in different orders: the store still locks them in one order.
          return store.usage.record({
            lastUses: i % 2 ? lastUses.reverse() : lastUses,
            tokenCounts: [{ envId: b.id, clientId: 'c1', day: '2026-01-01', count: 1 }],
          });
        }),
      );
      assert.deepEqual(await store.usage.lastUsed('client', b.id), new Map([['c1', T0 + 900]]));
      assert.deepEqual(await store.usage.lastUsed('user', b.id), new Map([['u1', T0 + 900]]));
      assert.deepEqual(await store.usage.lastUsed('key', b.id), new Map([['k1', T0 + 900]]));
      await store.usage.record({ lastUses: [use('client', b.id, 'c1', T0 + 50)], tokenCounts: [] });
      assert.deepEqual(await store.usage.lastUsed('client', b.id), new Map([['c1', T0 + 900]]));
      assert.deepEqual(await store.usage.tokenCounts(b.id, 'c1', '2026-01-01', '2026-01-01'), new Map([['2026-01-01', times.length]]));
    });

    it('adds counts per client and UTC day, and reads a range of days inclusively', async () => {
      const count = (clientId: string, day: string, n: number) => ({ envId: a.id, clientId, day, count: n });
      await store.usage.record({ lastUses: [], tokenCounts: [count('c1', '2026-01-31', 3), count('c1', '2026-02-01', 2), count('c2', '2026-02-01', 7)] });
      await store.usage.record({ lastUses: [], tokenCounts: [count('c1', '2026-02-01', 5), count('c1', '2026-02-03', 1)] });
      assert.deepEqual(
        await store.usage.tokenCounts(a.id, 'c1', '2026-01-31', '2026-02-02'),
        new Map([
          ['2026-01-31', 3],
          ['2026-02-01', 7],
        ]),
      );
      assert.deepEqual(await store.usage.tokenCounts(a.id, 'c2', '2026-02-01', '2026-02-01'), new Map([['2026-02-01', 7]]));
      assert.deepEqual(await store.usage.tokenCounts(b.id, 'c1', '2026-02-01', '2026-02-28'), new Map());
    });

    it('counts a token in the UTC day of its issue, whatever the time zone, through the recorder', async () => {
      const clock = new ManualClock(Date.UTC(2026, 5, 30, 23, 59, 59, 999));
      const recorder = new UsageRecorder(store.usage, clock);
      const issued = () => recorder.listener({ type: 'token.issued', env: { id: b.id, name: b.name }, clientId: 'c1', grantType: 'client_credentials' });
      issued();
      issued();
      clock.advance(1);
      issued();
      await recorder.flush();
      clock.advance(86_400_000);
      issued();
      await recorder.flush();
      assert.deepEqual(
        await store.usage.tokenCounts(b.id, 'c1', '2026-06-30', '2026-07-31'),
        new Map([
          ['2026-06-30', 2],
          ['2026-07-01', 1],
          ['2026-07-02', 1],
        ]),
      );
      assert.equal((await store.usage.lastUsed('client', b.id)).get('c1'), Date.UTC(2026, 6, 2));
    });

    it('writes a batch in one transaction: a failing row leaves nothing of it', async () => {
      const before = await store.usage.tokenCounts(a.id, 'c1', '2026-03-01', '2026-03-01');
      await assert.rejects(
        store.usage.record({
          lastUses: [use('client', a.id, 'c2', T0 + 5000)],
          tokenCounts: [
            { envId: a.id, clientId: 'c1', day: '2026-03-01', count: 4 },
            // A count that is not a number fails the NOT NULL column.
            { envId: a.id, clientId: 'c2', day: '2026-03-01', count: null as unknown as number },
          ],
        }),
      );
      assert.deepEqual(await store.usage.tokenCounts(a.id, 'c1', '2026-03-01', '2026-03-01'), before);
      assert.equal((await store.usage.lastUsed('client', a.id)).get('c2'), undefined);
    });
  });
}
