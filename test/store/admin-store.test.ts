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
