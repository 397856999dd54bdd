import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client, Environment } from '../../src/domain/model.ts';
import type { IdempotencyRecord, Store } from '../../src/domain/storage.ts';
import { testDatabases } from '../helpers/databases.ts';

const T0 = Date.UTC(2026, 0, 1);
const env: Environment = { id: 'env-admin-store', name: 'ADMIN_STORE', createdAt: T0, defaultQuota: null };
const signingKey = {
  kid: 'kid-admin-store',
  envId: env.id,
  alg: 'ES256',
  publicJwk: { kty: 'EC' },
  privateKeySealed: 'v1.sealed',
  status: 'active' as const,
  createdAt: T0,
  activateAt: T0,
  retiredAt: null,
  publishUntil: null,
};

const client = (clientId: string, overrides: Partial<Client> = {}): Client => ({
  envId: env.id,
  clientId,
  name: clientId,
  kind: 'confidential',
  grantTypes: ['client_credentials'],
  scopes: ['a', 'b'],
  defaultScopes: ['a'],
  redirectUris: [],
  tokenFormat: 'jwt',
  accessTokenTtl: null,
  introspectAny: false,
  allowMissingPkce: false,
  quota: null,
  enabled: true,
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
});

const record = (keyHash: string, overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord => ({
  keyHash,
  requestHash: 'request-1',
  status: null,
  response: null,
  createdAt: T0,
  expiresAt: T0 + 60_000,
  ...overrides,
});

for (const database of await testDatabases()) {
  describe(`admin API storage on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    before(async () => {
      ({ store, cleanup } = await database.open());
      await store.environments.create(env, signingKey);
    });
    after(async () => cleanup());

    it('updates every changeable field of a client, and nothing of another environment', async () => {
      await store.clients.create(client('c-update'), undefined);
      const changed = client('c-update', {
        name: 'renamed',
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['x'],
        defaultScopes: ['x'],
        redirectUris: ['https://app.example.test/cb'],
        tokenFormat: 'opaque',
        accessTokenTtl: 600,
        quota: 10,
        enabled: false,
        updatedAt: T0 + 1,
      });
      assert.equal(await store.clients.update(changed), true);
      assert.deepEqual(await store.clients.find(env.id, 'c-update'), changed);
      assert.equal(await store.clients.update({ ...changed, envId: 'other-env' }), false);
      assert.equal(await store.clients.update(client('c-missing')), false);
      // Conditional on the version read: a writer holding an older updatedAt changes nothing.
      assert.equal(await store.clients.update({ ...changed, name: 'stale', updatedAt: T0 + 2 }, T0), false);
      assert.equal(await store.clients.update({ ...changed, name: 'fresh', updatedAt: T0 + 2 }, T0 + 1), true);
      assert.equal((await store.clients.find(env.id, 'c-update'))?.name, 'fresh');
    });

    it('ends one secret by id and leaves the others', async () => {
      const secret = (id: string) => ({ id, secretHash: `hash-${id}`, createdAt: T0, expiresAt: null });
      await store.clients.create(client('c-secrets'), secret('s1'));
      await store.clients.rotateSecret(env.id, 'c-secrets', secret('s2'), T0 + 3600_000);
      assert.equal(await store.clients.expireSecret(env.id, 'c-secrets', 's1', T0 + 10), true);
      assert.deepEqual(
        (await store.clients.activeSecrets(env.id, 'c-secrets', T0 + 10)).map((s) => s.id),
        ['s2'],
      );
      assert.equal(await store.clients.expireSecret(env.id, 'c-secrets', 's1', T0 + 20), false, 'already ended');
      assert.equal(await store.clients.expireSecret(env.id, 'c-update', 's2', T0 + 20), false, 'another client’s secret');
    });

    it('deletes a client with its secrets and keys, revokes its opaque tokens, and removes it from APIs', async () => {
      await store.clients.create(client('c-delete'), { id: 'sd', secretHash: 'hash-sd', createdAt: T0, expiresAt: null });
      await store.clientKeys.insert({
        envId: env.id,
        kid: 'kid-del',
        clientId: 'c-delete',
        alg: 'ES256',
        publicJwk: { kty: 'EC' },
        createdAt: T0,
        revokedAt: null,
      });
      await store.accessTokens.insert({
        tokenHash: 'tok-del',
        envId: env.id,
        clientId: 'c-delete',
        subject: 'c-delete',
        scope: 'a',
        jti: 'jti-del',
        issuedAt: T0,
        expiresAt: T0 + 3600_000,
        revokedAt: null,
      });
      await store.apis.create({
        envId: env.id,
        identifier: 'https://api.example.test/del',
        name: 'del',
        scopes: [],
        tokenFormat: 'jwt',
        accessTokenTtl: null,
        clientIds: ['c-delete', 'c-update'],
        isDefault: false,
        createdAt: T0,
        updatedAt: T0,
      });
      assert.equal(await store.clients.delete(env.id, 'c-delete', T0 + 5), true);
      assert.equal(await store.clients.find(env.id, 'c-delete'), undefined);
      assert.deepEqual(await store.clients.activeSecrets(env.id, 'c-delete', T0 + 5), []);
      assert.equal(await store.clientKeys.find(env.id, 'kid-del'), undefined);
      assert.equal((await store.accessTokens.findByHash(env.id, 'tok-del'))?.revokedAt, T0 + 5);
      assert.deepEqual((await store.apis.find(env.id, 'https://api.example.test/del'))?.clientIds, ['c-update']);
      assert.equal(await store.clients.delete(env.id, 'c-delete', T0 + 6), false);
    });

    it('reserves an idempotency key once, completes it, and takes over only an expired one', async () => {
      assert.equal(await store.idempotencyKeys.reserve(record('k1'), T0), true);
      const racing = await Promise.all([store.idempotencyKeys.reserve(record('k2'), T0), store.idempotencyKeys.reserve(record('k2'), T0)]);
      assert.deepEqual(racing.sort(), [false, true]);
      assert.equal(await store.idempotencyKeys.reserve(record('k1', { requestHash: 'other' }), T0 + 1), false);
      await store.idempotencyKeys.complete('k1', 201, '{"client_id":"c"}');
      assert.deepEqual(await store.idempotencyKeys.find('k1', T0 + 1), record('k1', { status: 201, response: '{"client_id":"c"}' }));
      assert.equal(await store.idempotencyKeys.find('k1', T0 + 60_000), undefined, 'expired');
      assert.equal(
        await store.idempotencyKeys.reserve(record('k1', { requestHash: 'new', createdAt: T0 + 60_000, expiresAt: T0 + 120_000 }), T0 + 60_000),
        true,
      );
      assert.equal((await store.idempotencyKeys.find('k1', T0 + 60_001))?.requestHash, 'new');
    });

    it('commits what a transaction wrote only when its work returns; its multi-statement operations join it', async () => {
      const event = (id: string) => ({
        id,
        type: 'client.created' as const,
        time: T0,
        environment: { id: env.id, name: env.name },
        actor: { kind: 'cli' as const, id: 'operator' },
        subject: { kind: 'client', id },
        outcome: 'success' as const,
        details: {},
      });
      const pending = await store.audit.pendingDeliveries();
      const failure = new Error('refused');
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.clients.create(client('c-rolled-back'), { id: 's-rolled-back', secretHash: 'h', createdAt: T0, expiresAt: null });
          await tx.audit.insert(event('00000000-0000-7000-8000-000000000001'), true);
          assert.ok(await tx.clients.find(env.id, 'c-rolled-back'), 'visible inside');
          throw failure;
        }),
        (error: unknown) => error === failure,
      );
      assert.equal(await store.clients.find(env.id, 'c-rolled-back'), undefined);
      assert.deepEqual(await store.clients.activeSecrets(env.id, 'c-rolled-back', T0), []);
      assert.equal(await store.audit.pendingDeliveries(), pending, 'no outbox row');
      const result = await store.transaction(async (tx) => {
        await tx.clients.create(client('c-committed'), undefined);
        await tx.audit.insert(event('00000000-0000-7000-8000-000000000002'), true);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.ok(await store.clients.find(env.id, 'c-committed'));
      assert.equal(await store.audit.pendingDeliveries(), pending + 1);
    });

    it('writes an environment quota, a user or an API only in the version read', async () => {
      assert.equal(await store.environments.setDefaultQuota(env.name, 5, null), true);
      assert.equal(await store.environments.setDefaultQuota(env.name, 6, null), false, 'the quota is no longer null');
      assert.equal(await store.environments.setDefaultQuota(env.name, null, 5), true);
      assert.equal((await store.environments.findByName(env.name))?.defaultQuota, null);
      await store.users.create({ envId: env.id, userId: 'usr_v', username: 'versioned', passwordHash: 'h', enabled: true, createdAt: T0, updatedAt: T0 });
      assert.equal(await store.users.setEnabled(env.id, 'versioned', false, T0 + 1, T0 + 5), false);
      assert.equal(await store.users.setEnabled(env.id, 'versioned', false, T0 + 1, T0), true);
      assert.equal(await store.users.setEnabled(env.id, 'versioned', true, T0 + 2, T0), false, 'a second writer of the same version');
      const api = {
        envId: env.id,
        identifier: 'https://api.example.test/versioned',
        name: 'v',
        scopes: [],
        tokenFormat: 'jwt' as const,
        accessTokenTtl: null,
        clientIds: [],
        isDefault: false,
        createdAt: T0,
        updatedAt: T0,
      };
      await store.apis.create(api);
      assert.equal(await store.apis.update({ ...api, name: 'first', updatedAt: T0 + 1 }, T0), true);
      assert.equal(await store.apis.update({ ...api, name: 'second', updatedAt: T0 + 1 }, T0), false);
      assert.equal((await store.apis.find(env.id, api.identifier))?.name, 'first');
    });

    it("writes an environment's OpenID Connect settings only over the settings read", async () => {
      const defaults = { subjectType: 'public', refreshTokenPolicy: 'client' } as const;
      const found = await store.environments.findByName(env.name);
      assert.equal(found?.subjectType, undefined, 'public is the default, read back as absent');
      assert.equal(found?.refreshTokenPolicy, undefined);
      const changed = { subjectType: 'pairwise', refreshTokenPolicy: 'offline_access' } as const;
      assert.equal(await store.environments.setOidcSettings(env.name, changed, { ...defaults, subjectType: 'pairwise' }), false, 'not the settings read');
      assert.equal(await store.environments.setOidcSettings(env.name, changed, defaults), true);
      const read = await store.environments.findByName(env.name);
      assert.deepEqual([read?.subjectType, read?.refreshTokenPolicy], ['pairwise', 'offline_access']);
      assert.equal(await store.environments.setOidcSettings(env.name, defaults, defaults), false, 'a second writer of the same version');
      assert.equal(await store.environments.setOidcSettings(env.name, defaults), true);
      const back = await store.environments.findByName(env.name);
      assert.deepEqual([back?.subjectType, back?.refreshTokenPolicy, typeof back?.pairwiseSalt], [undefined, undefined, 'string']);
      assert.equal(await store.environments.setOidcSettings('NO_SUCH_ENV', defaults), false);
    });

    it("replaces a user's profile only in the version read, and clears it", async () => {
      await store.users.create({ envId: env.id, userId: 'usr_p', username: 'profiled', passwordHash: 'h', enabled: true, createdAt: T0, updatedAt: T0 });
      const profile = {
        email: 'ada@example.test',
        emailVerified: true,
        name: 'Ada Lovelace',
        givenName: 'Ada',
        familyName: 'Lovelace',
        preferredUsername: 'ada',
        picture: 'https://img.example.test/ada.png',
        locale: 'en-GB',
        zoneinfo: 'Europe/London',
        phoneNumber: '+442071234567',
        phoneNumberVerified: false,
        address: { street_address: '12 St James Square', locality: 'London', country: 'GB' },
      };
      assert.equal(await store.users.setProfile(env.id, 'profiled', profile, T0 + 1, T0 + 9), false, 'not the version read');
      assert.equal(await store.users.setProfile(env.id, 'profiled', profile, T0 + 1, T0), true);
      const read = await store.users.findByUsername(env.id, 'profiled');
      assert.deepEqual(read?.profile, profile);
      assert.equal(read?.updatedAt, T0 + 1);
      assert.equal(await store.users.setProfile(env.id, 'profiled', { ...profile, email: null }, T0 + 2, T0), false, 'a second writer of the same version');
      const changed = { ...profile, email: null, emailVerified: false, address: null };
      assert.equal(await store.users.setProfile(env.id, 'profiled', changed, T0 + 2, T0 + 1), true);
      assert.deepEqual((await store.users.find(env.id, 'usr_p'))?.profile, changed);
      assert.equal(await store.users.setProfile(env.id, 'profiled', undefined, T0 + 3), true);
      const cleared = await store.users.findByUsername(env.id, 'profiled');
      assert.equal(cleared?.profile, undefined);
      assert.equal(cleared?.passwordHash, 'h', 'the rest of the user is kept');
      assert.equal(await store.users.setProfile(env.id, 'nobody', profile, T0 + 3), false);
    });

    it('pages lists in SQL by key: after the cursor, filtered, one more row to tell whether more follow', async () => {
      const other: Environment = { id: 'env-paging', name: 'PAGING_STORE', createdAt: T0, defaultQuota: null };
      await store.environments.create(other, { ...signingKey, kid: 'kid-paging', envId: other.id });
      const mine = (id: string, overrides: Partial<Client> = {}) => ({ ...client(id, overrides), envId: other.id });
      await store.clients.create(mine('p-b', { name: 'Billing 100%' }), undefined);
      await store.clients.create(mine('p-a', { name: 'alpha' }), undefined);
      await store.clients.create(mine('p-c', { name: 'charlie', enabled: false }), undefined);
      await store.clients.create(mine('p-sa', { kind: 'service_account', name: 'robot' }), undefined);
      const ids = (page: { items: Client[] }) => page.items.map((c) => c.clientId);
      const first = await store.adminLists.clients(other.id, 'client', { after: undefined, limit: 2 });
      assert.deepEqual([ids(first), first.more], [['p-a', 'p-b'], true]);
      const second = await store.adminLists.clients(other.id, 'client', { after: 'p-b', limit: 2 });
      assert.deepEqual([ids(second), second.more], [['p-c'], false]);
      assert.deepEqual(ids(await store.adminLists.clients(other.id, 'service_account', { after: undefined, limit: 9 })), ['p-sa']);
      assert.deepEqual(ids(await store.adminLists.clients(other.id, 'client', { after: undefined, limit: 9, enabled: false })), ['p-c']);
      assert.deepEqual(ids(await store.adminLists.clients(other.id, 'client', { after: undefined, limit: 9, q: 'BILL' })), ['p-b']);
      assert.deepEqual(ids(await store.adminLists.clients(other.id, 'client', { after: undefined, limit: 9, q: '0%' })), ['p-b']);
      assert.deepEqual(ids(await store.adminLists.clients(other.id, 'client', { after: undefined, limit: 9, q: 'a_p' })), [], '_ is no wildcard');
      const names = (await store.adminLists.environments({ after: undefined, limit: 9, q: 'store' })).items.map((e) => e.name);
      assert.deepEqual(names, ['ADMIN_STORE', 'PAGING_STORE']);
      assert.deepEqual(
        (await store.adminLists.environments({ after: 'ADMIN_STORE', limit: 9, q: 'store' })).items.map((e) => e.name),
        ['PAGING_STORE'],
      );
      // Keys made in the same millisecond: the kid orders them.
      for (const kid of ['k-2', 'k-1', 'k-3']) {
        await store.clientKeys.insert({
          envId: other.id,
          kid,
          clientId: 'p-a',
          alg: 'ES256',
          publicJwk: {},
          createdAt: kid === 'k-3' ? T0 + 1 : T0,
          revokedAt: null,
        });
      }
      const keys = await store.adminLists.clientKeys(other.id, 'p-a', { after: { createdAt: T0, id: 'k-1' }, limit: 1 });
      assert.deepEqual([keys.items.map((k) => k.kid), keys.more], [['k-2'], true]);
      const last = await store.adminLists.clientKeys(other.id, 'p-a', { after: { createdAt: T0, id: 'k-2' }, limit: 1 });
      assert.deepEqual([last.items.map((k) => k.kid), last.more], [['k-3'], false]);
      const secret = (id: string, expiresAt: number | null) => ({ id, secretHash: `hash-${id}`, createdAt: T0, expiresAt });
      await store.clients.rotateSecret(other.id, 'p-a', secret('s-b', null), T0 + 10);
      await store.clients.rotateSecret(other.id, 'p-a', secret('s-a', null), T0 + 10);
      const secrets = await store.adminLists.clientSecrets(other.id, 'p-a', T0, { after: undefined, limit: 1 });
      assert.deepEqual([secrets.items.map((s) => s.id), secrets.more], [['s-a'], true]);
      assert.deepEqual(
        (await store.adminLists.clientSecrets(other.id, 'p-a', T0 + 20, { after: undefined, limit: 9 })).items.map((s) => s.id),
        ['s-a'],
      );
    });

    it('releases a running reservation but never a completed one, and deletes expired keys', async () => {
      await store.idempotencyKeys.release('k2');
      assert.equal(await store.idempotencyKeys.find('k2', T0), undefined);
      await store.idempotencyKeys.reserve(record('k3'), T0);
      await store.idempotencyKeys.complete('k3', 201, '{}');
      await store.idempotencyKeys.release('k3');
      assert.ok(await store.idempotencyKeys.find('k3', T0));
      assert.ok((await store.idempotencyKeys.deleteExpired(T0 + 60_001)) >= 1);
      assert.equal(await store.idempotencyKeys.find('k3', T0), undefined);
    });
  });
}
