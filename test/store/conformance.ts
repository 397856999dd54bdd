import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client, Environment, SigningKey } from '../../src/domain/model.ts';
import { ConflictError, type Store } from '../../src/domain/storage.ts';
import type { TestDatabase } from '../helpers/databases.ts';

const T0 = Date.UTC(2026, 0, 1);

const environment = (name: string): Environment => ({ id: `env-${name}`, name, createdAt: T0, defaultQuota: null, pairwiseSalt: `salt-${name}` });

const key = (envId: string, kid: string, createdAt = T0): SigningKey => ({
  kid,
  envId,
  alg: 'ES256',
  publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid },
  privateKeySealed: 'v1.sealed',
  status: 'active',
  createdAt,
  activateAt: createdAt,
  retiredAt: null,
  publishUntil: null,
});

/** A client record for storage tests. */
export const client = (envId: string, clientId: string, overrides: Partial<Client> = {}): Client => ({
  envId,
  clientId,
  name: `client ${clientId}`,
  kind: 'confidential',
  grantTypes: ['client_credentials'],
  scopes: ['read', 'write'],
  defaultScopes: ['read'],
  redirectUris: ['https://app.example/cb'],
  tokenFormat: 'jwt',
  accessTokenTtl: 600,
  introspectAny: false,
  allowMissingPkce: false,
  quota: null,
  enabled: true,
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
});

/** The storage interface's specification, run against every database (SQLite and PostgreSQL). */
export function storeConformance(database: TestDatabase): void {
  describe(`Store conformance on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const a = environment('A');
    const b = environment('B');

    before(async () => {
      ({ store, cleanup } = await database.open());
      await store.environments.create(a, key(a.id, 'kid-a1'));
      await store.environments.create(b, key(b.id, 'kid-b1'));
    });
    after(async () => cleanup());

    it('migrates idempotently', async () => {
      await store.migrate();
      await store.migrate();
    });

    it('creates, finds and lists environments; a duplicate name is a ConflictError', async () => {
      assert.deepEqual(await store.environments.findByName('A'), a);
      assert.equal(await store.environments.findByName('a'), undefined);
      assert.deepEqual(
        (await store.environments.list()).map((e) => e.name),
        ['A', 'B'],
      );
      await assert.rejects(store.environments.create({ ...environment('A'), id: 'other' }, key('other', 'kid-x')), ConflictError);
      // The failed create left no key behind.
      assert.deepEqual(await store.signingKeys.list('other'), []);
    });

    it('round-trips a client with every field, scoped to its environment', async () => {
      const c = client(a.id, 'c1', { introspectAny: true, accessTokenTtl: null, tokenFormat: 'opaque' });
      await store.clients.create(c, { id: 's1', secretHash: 'hash-1', createdAt: T0, expiresAt: null });
      assert.deepEqual(await store.clients.find(a.id, 'c1'), c);
      assert.equal(await store.clients.find(b.id, 'c1'), undefined);
      assert.deepEqual(
        (await store.clients.list(a.id)).map((x) => x.clientId),
        ['c1'],
      );
      assert.deepEqual(await store.clients.list(b.id), []);
      await assert.rejects(store.clients.create(c, undefined), ConflictError);
    });

    it('rotates secrets with an overlap, atomically', async () => {
      await store.clients.create(client(a.id, 'c2'), { id: 's2', secretHash: 'old', createdAt: T0, expiresAt: null });
      const rotated = await store.clients.rotateSecret(a.id, 'c2', { id: 's3', secretHash: 'new', createdAt: T0 + 10, expiresAt: null }, T0 + 1000);
      assert.equal(rotated, true);
      const during = await store.clients.activeSecrets(a.id, 'c2', T0 + 500);
      assert.deepEqual(
        during.map((s) => s.secretHash),
        ['new', 'old'],
      );
      assert.equal(during[1]?.expiresAt, T0 + 1000);
      const afterOverlap = await store.clients.activeSecrets(a.id, 'c2', T0 + 1000);
      assert.deepEqual(
        afterOverlap.map((s) => s.secretHash),
        ['new'],
      );
      // A second rotation with a longer overlap never extends an earlier expiry.
      await store.clients.rotateSecret(a.id, 'c2', { id: 's4', secretHash: 'newer', createdAt: T0 + 20, expiresAt: null }, T0 + 5000);
      const later = await store.clients.activeSecrets(a.id, 'c2', T0 + 2000);
      assert.deepEqual(
        later.map((s) => s.secretHash),
        ['newer', 'new'],
      );
      assert.equal(await store.clients.rotateSecret(b.id, 'c2', { id: 's5', secretHash: 'x', createdAt: T0, expiresAt: null }, T0), false);
      assert.deepEqual(await store.clients.activeSecrets(b.id, 'c2', T0), []);
    });

    it('enables and disables clients', async () => {
      await store.clients.create(client(a.id, 'c3'), undefined);
      assert.equal(await store.clients.setEnabled(a.id, 'c3', false, T0 + 1), true);
      const disabled = await store.clients.find(a.id, 'c3');
      assert.equal(disabled?.enabled, false);
      assert.equal(disabled?.updatedAt, T0 + 1);
      assert.equal(await store.clients.setEnabled(b.id, 'c3', false, T0), false);
      assert.equal(await store.clients.setEnabled(a.id, 'missing', false, T0), false);
    });

    it('rotates signing keys and publishes a retired key until its window closes', async () => {
      assert.equal((await store.signingKeys.findActive(a.id))?.kid, 'kid-a1');
      await store.signingKeys.rotate(a.id, key(a.id, 'kid-a2', T0 + 100), T0 + 100, T0 + 10_000);
      assert.equal((await store.signingKeys.findActive(a.id))?.kid, 'kid-a2');
      const published = await store.signingKeys.listPublished(a.id, T0 + 9_999);
      assert.deepEqual(
        published.map((k) => [k.kid, k.status]),
        [
          ['kid-a2', 'active'],
          ['kid-a1', 'retired'],
        ],
      );
      assert.equal(published[1]?.publishUntil, T0 + 10_000);
      assert.equal(published[1]?.retiredAt, T0 + 100);
      assert.deepEqual(
        (await store.signingKeys.listPublished(a.id, T0 + 10_000)).map((k) => k.kid),
        ['kid-a2'],
      );
      assert.equal((await store.signingKeys.list(a.id)).length, 2);
      // Environment B is untouched.
      assert.deepEqual(
        (await store.signingKeys.listPublished(b.id, T0)).map((k) => k.kid),
        ['kid-b1'],
      );
      assert.deepEqual((await store.signingKeys.findActive(a.id))?.publicJwk, key(a.id, 'kid-a2').publicJwk);
    });

    it('refuses a second active key, so racing rotations cannot both win', async () => {
      const results = await Promise.allSettled([
        store.signingKeys.rotate(b.id, key(b.id, 'kid-b-race-1', T0 + 1), T0 + 1, T0 + 100),
        store.signingKeys.rotate(b.id, key(b.id, 'kid-b-race-2', T0 + 1), T0 + 1, T0 + 100),
      ]);
      const active = (await store.signingKeys.list(b.id)).filter((k) => k.status === 'active');
      assert.equal(active.length, 1);
      assert.ok(results.some((r) => r.status === 'fulfilled'));
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError, String(r.reason));
    });

    it('stores opaque tokens by hash and revokes only for the owning client', async () => {
      const token = {
        tokenHash: 'th-1',
        envId: a.id,
        clientId: 'c1',
        subject: 'c1',
        scope: 'read',
        jti: 'j1',
        issuedAt: T0,
        expiresAt: T0 + 60_000,
        revokedAt: null,
      };
      await store.accessTokens.insert(token);
      assert.deepEqual(await store.accessTokens.findByHash(a.id, 'th-1'), token);
      assert.equal(await store.accessTokens.findByHash(b.id, 'th-1'), undefined);
      assert.equal(await store.accessTokens.revoke(a.id, 'th-1', 'someone-else', T0 + 1), false);
      assert.equal(await store.accessTokens.revoke(b.id, 'th-1', 'c1', T0 + 1), false);
      assert.equal(await store.accessTokens.revoke(a.id, 'th-1', 'c1', T0 + 2), true);
      assert.equal(await store.accessTokens.revoke(a.id, 'th-1', 'c1', T0 + 3), false);
      assert.equal((await store.accessTokens.findByHash(a.id, 'th-1'))?.revokedAt, T0 + 2);
      assert.equal(await store.accessTokens.deleteExpired(T0 + 60_000), 0);
      assert.equal(await store.accessTokens.deleteExpired(T0 + 60_001), 1);
      assert.equal(await store.accessTokens.findByHash(a.id, 'th-1'), undefined);
    });

    it('remembers revoked JWTs per environment until they expire', async () => {
      const entry = { envId: a.id, jti: 'jwt-1', clientId: 'c1', expiresAt: T0 + 1000, revokedAt: T0 };
      await store.revokedJwts.insert(entry);
      await store.revokedJwts.insert(entry);
      // The one read of a JWT's introspection: its jti revoked (its key is not, nor even known).
      assert.equal(await store.revokedJwts.isWithdrawn(a.id, 'jwt-1', '(no such kid)'), true);
      assert.equal(await store.revokedJwts.isWithdrawn(b.id, 'jwt-1', '(no such kid)'), false);
      assert.equal(await store.revokedJwts.isWithdrawn(a.id, 'jwt-2', '(no such kid)'), false);
      assert.equal(await store.revokedJwts.deleteExpired(T0 + 1001), 1);
      assert.equal(await store.revokedJwts.isWithdrawn(a.id, 'jwt-1', '(no such kid)'), false);
    });

    it('stores client keys per environment and revokes them once, for their owner only', async () => {
      await store.clients.create(client(a.id, 'sa-1', { kind: 'service_account' }), undefined);
      const k = { envId: a.id, kid: 'ck-1', clientId: 'sa-1', alg: 'ES256', publicJwk: { kty: 'EC', kid: 'ck-1' }, createdAt: T0, revokedAt: null };
      await store.clientKeys.insert(k);
      await store.clientKeys.insert({ ...k, kid: 'ck-2', createdAt: T0 + 1 });
      assert.deepEqual(await store.clientKeys.find(a.id, 'ck-1'), k);
      assert.equal(await store.clientKeys.find(b.id, 'ck-1'), undefined);
      assert.deepEqual(
        (await store.clientKeys.list(a.id, 'sa-1')).map((x) => x.kid),
        ['ck-2', 'ck-1'],
      );
      assert.equal(await store.clientKeys.revoke(a.id, 'someone-else', 'ck-1', T0 + 5), false);
      assert.equal(await store.clientKeys.revoke(a.id, 'sa-1', 'ck-1', T0 + 5), true);
      assert.equal(await store.clientKeys.revoke(a.id, 'sa-1', 'ck-1', T0 + 6), false);
      assert.equal((await store.clientKeys.find(a.id, 'ck-1'))?.revokedAt, T0 + 5);
      await assert.rejects(store.clientKeys.insert(k));
    });

    it('consumes an assertion id exactly once until it expires, even under concurrency', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.usedAssertions.consume(a.id, 'sa-1', 'jti-1', T0 + 1000, T0)));
      assert.equal(results.filter(Boolean).length, 1);
      // The same jti is independent per client and per environment.
      assert.equal(await store.usedAssertions.consume(a.id, 'sa-2', 'jti-1', T0 + 1000, T0), true);
      assert.equal(await store.usedAssertions.consume(b.id, 'sa-1', 'jti-1', T0 + 1000, T0), true);
      // Still blocked just before expiry, free again once the first assertion has expired.
      assert.equal(await store.usedAssertions.consume(a.id, 'sa-1', 'jti-1', T0 + 5000, T0 + 999), false);
      assert.equal(await store.usedAssertions.consume(a.id, 'sa-1', 'jti-1', T0 + 5000, T0 + 1000), true);
      assert.equal(await store.usedAssertions.deleteExpired(T0 + 1001), 2);
    });

    it("consumes an assertion id only while its key is the owner's and not revoked and its owner enabled, in one atomic statement", async () => {
      await store.clients.create(client(a.id, 'sa-k', { kind: 'service_account' }), undefined);
      await store.clients.create(client(a.id, 'sa-other', { kind: 'service_account' }), undefined);
      const k = { envId: a.id, kid: 'ck-k', clientId: 'sa-k', alg: 'ES256', publicJwk: { kty: 'EC', kid: 'ck-k' }, createdAt: T0, revokedAt: null };
      await store.clientKeys.insert(k);
      const use = (jti: string, owner = 'sa-k', kid = 'ck-k', now = T0) => store.usedAssertions.consumeWithKey(a.id, owner, kid, jti, T0 + 1000, now);
      const results = await Promise.all(Array.from({ length: 20 }, () => use('jti-k')));
      assert.equal(results.filter((r) => r === 'consumed').length, 1);
      assert.equal(results.filter((r) => r === 'replayed').length, 19);
      // Spent through either method: the two share one record per jti.
      assert.equal(await store.usedAssertions.consume(a.id, 'sa-k', 'jti-k', T0 + 1000, T0), false);
      assert.equal(await use('jti-k', 'sa-k', 'ck-k', T0 + 1000), 'consumed', 'free again once the first has expired');
      assert.equal(await use('jti-x', 'sa-other'), 'key_revoked', "another account's key");
      assert.equal(await use('jti-x', 'sa-k', 'no-such-kid'), 'key_revoked');
      assert.equal(await store.clients.setEnabled(a.id, 'sa-k', false, T0 + 4), true);
      assert.equal(await use('jti-d'), 'owner_disabled');
      assert.equal(await store.clients.setEnabled(a.id, 'sa-k', true, T0 + 5), true);
      assert.equal(await use('jti-d'), 'consumed', 'a refusal recorded nothing: the same jti is spent once enabled again');
      assert.equal(await store.clientKeys.revoke(a.id, 'sa-k', 'ck-k', T0 + 5), true);
      assert.equal(await use('jti-y'), 'key_revoked');
      // A refusal spends nothing: the jti was not recorded.
      assert.equal(await store.usedAssertions.consume(a.id, 'sa-k', 'jti-y', T0 + 1000, T0), true);
    });

    it('keeps large epoch-millisecond times exact', async () => {
      const far = Date.UTC(2200, 0, 1) + 123;
      await store.accessTokens.insert({
        tokenHash: 'th-far',
        envId: a.id,
        clientId: 'c1',
        subject: 'c1',
        scope: '',
        jti: 'j-far',
        issuedAt: far,
        expiresAt: far + 1,
        revokedAt: null,
      });
      const found = await store.accessTokens.findByHash(a.id, 'th-far');
      assert.equal(found?.issuedAt, far);
      assert.equal(typeof found?.expiresAt, 'number');
    });
  });
}
