import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Api, AuthorizationCode, Environment, OpaqueAccessToken, TokenFamily } from '../../src/domain/model.ts';
import { ConflictError, type Store } from '../../src/domain/storage.ts';
import type { TestDatabase } from '../helpers/databases.ts';

const T0 = Date.UTC(2026, 0, 1);

const environment = (name: string): Environment => ({ id: `env-api-${name}`, name: `API_${name}`, createdAt: T0, defaultQuota: null });

const api = (envId: string, identifier: string, overrides: Partial<Api> = {}): Api => ({
  envId,
  identifier,
  name: `API ${identifier}`,
  scopes: [
    { name: 'invoices:read', description: 'Read your invoices' },
    { name: 'invoices:write', description: 'Create and change invoices' },
  ],
  tokenFormat: 'jwt',
  accessTokenTtl: 900,
  clientIds: ['c1', 'c2'],
  isDefault: false,
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
});

/** The API registry's part of the storage specification, and the RFC 8707 columns of the code flow. */
export function apiStoreConformance(database: TestDatabase): void {
  describe(`API store conformance on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const a = environment('A');
    const b = environment('B');
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

    before(async () => {
      ({ store, cleanup } = await database.open());
      await store.environments.create(a, signingKey(a.id));
      await store.environments.create(b, signingKey(b.id));
    });
    after(async () => cleanup());

    it('round-trips an API with every field, scoped to its environment; a duplicate identifier is a ConflictError', async () => {
      const billing = api(a.id, 'https://api.example/billing', { accessTokenTtl: null, tokenFormat: 'opaque' });
      await store.apis.create(billing);
      assert.deepEqual(await store.apis.find(a.id, billing.identifier), billing);
      assert.equal(await store.apis.find(b.id, billing.identifier), undefined);
      await assert.rejects(store.apis.create({ ...billing, name: 'again' }), ConflictError);
      // The same identifier in another environment is another API.
      await store.apis.create(api(b.id, billing.identifier));
      assert.deepEqual(
        (await store.apis.list(a.id)).map((x) => x.identifier),
        ['https://api.example/billing'],
      );
    });

    it('keeps at most one default API per environment', async () => {
      await store.apis.create(api(a.id, 'https://api.example/one', { isDefault: true }));
      assert.equal((await store.apis.findDefault(a.id))?.identifier, 'https://api.example/one');
      await store.apis.create(api(a.id, 'https://api.example/two', { isDefault: true }));
      assert.equal((await store.apis.findDefault(a.id))?.identifier, 'https://api.example/two');
      assert.equal((await store.apis.find(a.id, 'https://api.example/one'))?.isDefault, false);
      assert.equal(await store.apis.findDefault(b.id), undefined);
      const one = await store.apis.find(a.id, 'https://api.example/one');
      assert.ok(one);
      assert.equal(await store.apis.update({ ...one, isDefault: true }), true);
      assert.equal((await store.apis.findDefault(a.id))?.identifier, 'https://api.example/one');
      assert.equal((await store.apis.find(a.id, 'https://api.example/two'))?.isDefault, false);
    });

    it('updates and deletes an API; false for an unknown one', async () => {
      const id = 'https://api.example/reports';
      await store.apis.create(api(a.id, id));
      const changed = api(a.id, id, { name: 'Reports', clientIds: ['c3'], scopes: [], updatedAt: T0 + 5, accessTokenTtl: 60 });
      assert.equal(await store.apis.update(changed), true);
      assert.deepEqual(await store.apis.find(a.id, id), changed);
      assert.equal(await store.apis.update(api(b.id, id)), false);
      assert.equal(await store.apis.delete(b.id, id), false);
      assert.equal(await store.apis.delete(a.id, id), true);
      assert.equal(await store.apis.find(a.id, id), undefined);
      assert.equal(await store.apis.delete(a.id, id), false);
    });

    it('remembers the resources of a pending request, a code and a family, and the audience of an opaque token', async () => {
      const resources = ['https://api.example/billing', 'https://api.example/one'];
      await store.authorizationRequests.insert({
        idHash: 'req-1',
        envId: a.id,
        sessionIdHash: 'sess-1',
        clientId: 'c1',
        redirectUri: 'https://app.example/cb',
        scope: ['invoices:read'],
        state: null,
        codeChallenge: 'challenge',
        resources,
        createdAt: T0,
        expiresAt: T0 + 60_000,
      });
      assert.deepEqual((await store.authorizationRequests.find(a.id, 'req-1', 'sess-1', T0))?.resources, resources);
      const code: AuthorizationCode = {
        codeHash: 'code-1',
        envId: a.id,
        clientId: 'c1',
        userId: 'usr_alice',
        redirectUri: 'https://app.example/cb',
        scope: ['invoices:read'],
        codeChallenge: 'challenge',
        familyId: 'fam-1',
        resources,
        issuedAt: T0,
        expiresAt: T0 + 60_000,
        consumedAt: null,
      };
      await store.authorizationCodes.insert(code);
      assert.deepEqual(await store.authorizationCodes.find(a.id, 'code-1'), code);
      const family: TokenFamily = {
        familyId: 'fam-1',
        envId: a.id,
        clientId: 'c1',
        userId: 'usr_alice',
        scope: ['invoices:read'],
        resources,
        createdAt: T0,
        expiresAt: T0 + 3_600_000,
        revokedAt: null,
      };
      const opaque: OpaqueAccessToken = {
        tokenHash: 'tok-1',
        envId: a.id,
        clientId: 'c1',
        subject: 'usr_alice',
        scope: 'invoices:read',
        jti: 'jti-1',
        issuedAt: T0,
        expiresAt: T0 + 60_000,
        revokedAt: null,
        audience: resources,
      };
      assert.equal(
        await store.authorizationCodes.redeem(a.id, 'code-1', T0, family, {
          refreshToken: undefined,
          accessToken: { jti: 'jti-1', expiresAt: opaque.expiresAt, opaque },
        }),
        true,
      );
      assert.deepEqual(await store.tokenFamilies.find(a.id, 'fam-1'), family);
      assert.deepEqual(await store.accessTokens.findByHash(a.id, 'tok-1'), opaque);
      const standalone: OpaqueAccessToken = { ...opaque, tokenHash: 'tok-2', jti: 'jti-2', audience: ['https://api.example/billing'] };
      await store.accessTokens.insert(standalone);
      assert.deepEqual(await store.accessTokens.findByHash(a.id, 'tok-2'), standalone);
    });
  });
}
