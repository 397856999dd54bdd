import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminError } from '../../src/admin/admin-service.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';

const refused = (kind: AdminError['kind'], pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AdminError, String(error));
  assert.equal(error.kind, kind);
  assert.match(error.message, pattern);
  return true;
};

for (const database of await testDatabases()) {
  describe(`admin services for the admin API on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let s: AdminServices;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));

    before(async () => {
      ({ store, cleanup } = await database.open());
      s = createAdminServices(testConfig({ passwordHashCost: 10 }), store, clock);
      await s.admin.createEnvironment('DEVELOPMENT');
    });
    after(async () => cleanup());

    it('updates a client under the rules of creation; absent fields keep their value', async () => {
      const { client_id: id } = await s.admin.createClient({ env: 'DEVELOPMENT', name: 'app', scopes: ['a', 'b'] });
      const narrowed = await s.admin.updateClient('DEVELOPMENT', id, { scopes: ['a'], tokenFormat: 'opaque', accessTokenTtl: 300 });
      assert.deepEqual(
        [narrowed.scopes, narrowed.default_scopes, narrowed.token_format, narrowed.access_token_ttl, narrowed.name],
        [['a'], ['a'], 'opaque', 300, 'app'],
      );
      const coded = await s.admin.updateClient('DEVELOPMENT', id, {
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: ['https://app.example.test/cb'],
      });
      assert.deepEqual(coded.grant_types, ['authorization_code', 'refresh_token']);
      assert.deepEqual((await s.admin.getClient('DEVELOPMENT', id)).redirect_uris, ['https://app.example.test/cb']);
      await assert.rejects(s.admin.updateClient('DEVELOPMENT', id, { redirectUris: [] }), refused('invalid_argument', /needs at least one redirect URI/));
      await assert.rejects(s.admin.updateClient('DEVELOPMENT', id, { redirectUris: ['http://evil.example/cb'] }), refused('invalid_argument', /https/));
      await assert.rejects(
        s.admin.updateClient('DEVELOPMENT', id, { grantTypes: ['refresh_token'] }),
        refused('invalid_argument', /only issued with authorization_code/),
      );
      await assert.rejects(s.admin.updateClient('DEVELOPMENT', id, { defaultScopes: ['z'] }), refused('invalid_argument', /default scopes/));
      await assert.rejects(s.admin.updateClient('DEVELOPMENT', id, { accessTokenTtl: 10 ** 9 }), refused('invalid_argument', /lifetime/));
      await assert.rejects(s.admin.updateClient('DEVELOPMENT', id, { scopes: ['bad scope'] }), refused('invalid_argument', /invalid scope/));
      await assert.rejects(s.admin.updateClient('DEVELOPMENT', 'gh_nope', { name: 'x' }), refused('not_found', /no client/));
      const disabled = await s.admin.updateClient('DEVELOPMENT', id, { enabled: false, name: '  renamed  ' });
      assert.deepEqual([disabled.enabled, disabled.name], [false, 'renamed']);
    });

    it('writes only the version it read: of two updates of one version, one is refused', async () => {
      const { client_id: id } = await s.admin.createClient({ env: 'DEVELOPMENT', name: 'contended' });
      // Both read the same version before either writes: the reads wait for each other.
      let arrived = 0;
      let release: () => void = () => {};
      const together = new Promise<void>((resolve) => {
        release = resolve;
      });
      const find = store.clients.find.bind(store.clients);
      const racing = createAdminServices(
        testConfig(),
        {
          ...store,
          transaction: store.transaction.bind(store),
          dialect: store.dialect,
          health: store.health,
          environments: store.environments,
          clients: Object.assign(Object.create(store.clients), {
            async find(envId: string, clientId: string) {
              const found = await find(envId, clientId);
              arrived += 1;
              if (arrived === 2) release();
              await together;
              return found;
            },
          }),
        } as Store,
        clock,
      );
      const results = await Promise.allSettled([
        racing.admin.updateClient('DEVELOPMENT', id, { name: 'first' }),
        racing.admin.updateClient('DEVELOPMENT', id, { name: 'second' }),
      ]);
      const [won, lost] = [results.filter((r) => r.status === 'fulfilled'), results.filter((r) => r.status === 'rejected')];
      assert.deepEqual([won.length, lost.length], [1, 1]);
      for (const r of lost) assert.ok(refused('conflict', /changed while being updated/)((r as PromiseRejectedResult).reason));
      const refusal = new Error('stale');
      await assert.rejects(
        s.admin.updateClient('DEVELOPMENT', id, { name: 'never' }, () => {
          throw refusal;
        }),
        (e: unknown) => e === refusal,
      );
      assert.notEqual((await s.admin.getClient('DEVELOPMENT', id)).name, 'never');
    });

    it('writes an environment, user or API only in the version its If-Match check read: of two racing writers one wins', async () => {
      /** Wraps a read so that two calls both return before either goes on: both writers then hold the same version. */
      const meetingTwice = <A extends unknown[], R>(read: (...args: A) => Promise<R>) => {
        let arrived = 0;
        let release: () => void = () => {};
        const together = new Promise<void>((resolve) => {
          release = resolve;
        });
        return async (...args: A): Promise<R> => {
          const found = await read(...args);
          arrived += 1;
          if (arrived === 2) release();
          await together;
          return found;
        };
      };
      /** An If-Match as the admin API checks it: the representation must still be the one read first. */
      const unchangedSince = (seen: unknown) => (current: unknown) => {
        if (JSON.stringify(current) !== JSON.stringify(seen)) throw new Error('stale');
      };
      const settle = async (racing: Promise<unknown>[]) => {
        const results = await Promise.allSettled(racing);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        const [lost] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.match(String(lost?.reason), /stale/);
      };
      await s.users.create({ env: 'DEVELOPMENT', username: 'racer', password: 'a long enough passphrase' });
      await s.apis.create({ env: 'DEVELOPMENT', identifier: 'https://api.example.test/racer', name: 'racer' });
      const racingStore = (override: Partial<Store>) =>
        createAdminServices(testConfig({ passwordHashCost: 10 }), { ...store, transaction: store.transaction.bind(store), ...override } as Store, clock);

      const env = await s.admin.getEnvironment('DEVELOPMENT');
      const envs = racingStore({
        environments: Object.assign(Object.create(store.environments), { findByName: meetingTwice(store.environments.findByName.bind(store.environments)) }),
      });
      await settle([
        envs.admin.setEnvironmentQuota('DEVELOPMENT', 10, unchangedSince(env)),
        envs.admin.setEnvironmentQuota('DEVELOPMENT', 20, unchangedSince(env)),
      ]);

      const user = await s.users.get('DEVELOPMENT', 'racer');
      const users = racingStore({
        users: Object.assign(Object.create(store.users), { findByUsername: meetingTwice(store.users.findByUsername.bind(store.users)) }),
      });
      await settle([
        users.users.setEnabled('DEVELOPMENT', 'racer', false, unchangedSince(user)),
        users.users.setEnabled('DEVELOPMENT', 'racer', false, unchangedSince(user)),
      ]);

      const api = await s.apis.show('DEVELOPMENT', 'https://api.example.test/racer');
      const apis = racingStore({ apis: Object.assign(Object.create(store.apis), { find: meetingTwice(store.apis.find.bind(store.apis)) }) });
      await settle([
        apis.apis.update('DEVELOPMENT', api.identifier, { name: 'first' }, unchangedSince(api)),
        apis.apis.update('DEVELOPMENT', api.identifier, { name: 'second' }, unchangedSince(api)),
      ]);
      await s.admin.setEnvironmentQuota('DEVELOPMENT', null);
    });

    it('refuses client_credentials for a public client on update too', async () => {
      const { client_id: id } = await s.admin.createClient({
        env: 'DEVELOPMENT',
        name: 'spa',
        kind: 'public',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://spa.example.test/cb'],
      });
      await assert.rejects(s.admin.updateClient('DEVELOPMENT', id, { grantTypes: ['client_credentials'] }), refused('invalid_argument', /public client/));
    });

    it('bounds the lists as the admin API does: 100 scopes, 50 redirect URIs, 100 API scopes and sign-in policy items', async () => {
      const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
      const scopes = many(101, (i) => `s${i}`);
      await assert.rejects(s.admin.createClient({ env: 'DEVELOPMENT', name: 'wide', scopes }), refused('invalid_argument', /at most 100 scopes/));
      const redirectUris = many(51, (i) => `https://app.example.test/cb${i}`);
      await assert.rejects(
        s.admin.createClient({ env: 'DEVELOPMENT', name: 'wide', grantTypes: ['authorization_code'], redirectUris }),
        refused('invalid_argument', /at most 50 redirect URIs/),
      );
      const { client_id: id } = await s.admin.createClient({ env: 'DEVELOPMENT', name: 'narrow', scopes: scopes.slice(0, 100) });
      await assert.rejects(s.admin.updateClient('DEVELOPMENT', id, { scopes }), refused('invalid_argument', /at most 100 scopes/));
      const apiScopes = scopes.map((name) => ({ name, description: '' }));
      await assert.rejects(
        s.apis.create({ env: 'DEVELOPMENT', identifier: 'https://wide.example.test/', name: 'Wide', scopes: apiScopes }),
        refused('invalid_argument', /at most 100 scopes/),
      );
      await assert.rejects(
        s.signIn.update('DEVELOPMENT', { requiredScopes: scopes }),
        refused('invalid_argument', /required_scopes may hold at most 100 items/),
      );
    });

    it('lists secrets by id without their value, and ends one', async () => {
      const created = await s.admin.createClient({ env: 'DEVELOPMENT', name: 'rotating' });
      for (const overlap of [-1, 1.5, 90 * 86_400 + 1]) {
        await assert.rejects(
          s.admin.rotateClientSecret('DEVELOPMENT', created.client_id, overlap),
          refused('invalid_argument', /overlap must be 0 to 7776000 seconds/),
        );
      }
      await s.admin.rotateClientSecret('DEVELOPMENT', created.client_id, 3600);
      const secrets = await s.admin.listClientSecrets('DEVELOPMENT', created.client_id);
      assert.equal(secrets.length, 2);
      assert.ok(!JSON.stringify(secrets).includes(String(created.client_secret)));
      const current = secrets.find((x) => x.expires_at === null);
      assert.ok(current);
      const left = await s.admin.revokeClientSecret('DEVELOPMENT', created.client_id, current.id);
      assert.equal(left.length, 1);
      await assert.rejects(s.admin.revokeClientSecret('DEVELOPMENT', created.client_id, current.id), refused('not_found', /no active secret/));
    });

    it('deletes a client but not a service account through the client operation', async () => {
      const created = await s.admin.createClient({ env: 'DEVELOPMENT', name: 'doomed' });
      assert.deepEqual(await s.admin.deleteClient('DEVELOPMENT', created.client_id), {
        client_id: created.client_id,
        environment: 'DEVELOPMENT',
        deleted: true,
      });
      await assert.rejects(s.admin.getClient('DEVELOPMENT', created.client_id), refused('not_found', /no client/));
      const account = await s.serviceAccounts.create({ env: 'DEVELOPMENT', name: 'job' });
      await assert.rejects(s.admin.deleteClient('DEVELOPMENT', account.service_account_id), refused('invalid_argument', /service account/));
      await assert.rejects(
        s.admin.updateClient('DEVELOPMENT', account.service_account_id, { grantTypes: ['client_credentials'] }),
        refused('invalid_argument', /service account/),
      );
      assert.equal((await s.serviceAccounts.get('DEVELOPMENT', account.service_account_id)).name, 'job');
    });

    it('reads one user and signs them out everywhere without disabling them', async () => {
      const user = await s.users.create({ env: 'DEVELOPMENT', username: 'alice', password: 'correct horse battery staple' });
      await store.browserSessions.create({
        idHash: 'session-1',
        envId: (await store.environments.findByName('DEVELOPMENT'))?.id ?? '',
        userId: user.user_id,
        authenticatedAt: clock.now(),
        createdAt: clock.now(),
        expiresAt: clock.now() + 3600_000,
      });
      const after = await s.users.revokeSessions('DEVELOPMENT', 'alice');
      assert.equal(after.enabled, true);
      const envId = (await store.environments.findByName('DEVELOPMENT'))?.id ?? '';
      assert.equal(await store.browserSessions.find(envId, 'session-1', clock.now()), undefined);
      assert.deepEqual(await s.users.get('DEVELOPMENT', 'alice'), after);
      await assert.rejects(s.users.get('DEVELOPMENT', 'bob'), refused('not_found', /no user/));
    });
  });
}
