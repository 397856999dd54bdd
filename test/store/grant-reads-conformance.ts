import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Environment, TokenFamily } from '../../src/domain/model.ts';
import type { Store } from '../../src/domain/storage.ts';
import type { TestDatabase } from '../helpers/databases.ts';
import { createEnvironments } from './authorization-conformance.ts';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const environment = (name: string): Environment => ({ id: `env-reads-${name}`, name: `READS_${name}`, createdAt: T0, defaultQuota: null });

const family = (envId: string, familyId: string, userId: string): TokenFamily => ({
  familyId,
  envId,
  clientId: 'app',
  userId,
  scope: ['read', 'write'],
  resources: ['https://api.example/'],
  createdAt: T0,
  expiresAt: T0 + 90 * 24 * 60 * MINUTE,
  revokedAt: null,
});

/** Storage specification of the one read each grant makes before it writes, run on every database. */
export function grantReadsConformance(database: TestDatabase): void {
  describe(`Grant reads conformance on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const a = environment('A');
    const b = environment('B');

    /** A redeemed code of `userId` whose family holds refresh token `rt-<familyId>`. */
    async function redeemed(familyId: string, userId: string): Promise<void> {
      await store.authorizationCodes.insert({
        codeHash: `code-${familyId}`,
        envId: a.id,
        clientId: 'app',
        userId,
        redirectUri: 'https://app.example/cb',
        scope: ['read', 'write'],
        codeChallenge: 'challenge',
        familyId,
        issuedAt: T0,
        expiresAt: T0 + 10 * MINUTE,
        consumedAt: null,
      });
      const refreshToken = {
        tokenHash: `rt-${familyId}`,
        envId: a.id,
        familyId,
        clientId: 'app',
        userId,
        issuedAt: T0,
        expiresAt: T0 + 14 * 24 * 60 * MINUTE,
        rotatedAt: null,
        revokedAt: null,
      };
      const issue = { refreshToken, accessToken: { jti: `jti-${familyId}`, expiresAt: T0 + 60 * MINUTE, opaque: undefined } };
      assert.ok(await store.authorizationCodes.redeem(a.id, `code-${familyId}`, T0 + 1, family(a.id, familyId, userId), issue));
    }

    before(async () => {
      ({ store, cleanup } = await database.open());
      await createEnvironments(store, [a, b], T0);
      for (const username of ['alice', 'bob']) {
        await store.users.create({
          envId: a.id,
          userId: `usr_${username}`,
          username,
          passwordHash: '$scrypt$ln=10,r=8,p=1$salt$hash',
          enabled: true,
          createdAt: T0,
          updatedAt: T0,
        });
      }
    });
    after(async () => cleanup());

    it('reads a code with whether its user is active, only in its environment', async () => {
      await store.authorizationCodes.insert({
        codeHash: 'code-read',
        envId: a.id,
        clientId: 'app',
        userId: 'usr_alice',
        redirectUri: 'https://app.example/cb',
        scope: ['read'],
        codeChallenge: null,
        familyId: 'fam-read',
        resources: ['https://api.example/'],
        issuedAt: T0,
        expiresAt: T0 + 10 * MINUTE,
        consumedAt: null,
      });
      const found = await store.authorizationCodes.findForRedemption(a.id, 'code-read');
      assert.deepEqual(found, { code: await store.authorizationCodes.find(a.id, 'code-read'), userActive: true });
      assert.equal(await store.authorizationCodes.findForRedemption(b.id, 'code-read'), undefined);
      assert.equal(await store.authorizationCodes.findForRedemption(a.id, 'code-none'), undefined);
      await redeemed('fam-gone', 'usr_nobody');
      assert.equal((await store.authorizationCodes.findForRedemption(a.id, 'code-fam-gone'))?.userActive, false, 'a user who does not exist');
      assert.equal((await store.authorizationCodes.findForRedemption(a.id, 'code-fam-gone'))?.code.consumedAt, T0 + 1);
    });

    it('reads a refresh token with its family and whether its user is active', async () => {
      await redeemed('fam-bob', 'usr_bob');
      const found = await store.tokenFamilies.findForRotation(a.id, 'rt-fam-bob');
      assert.deepEqual(found, {
        token: await store.tokenFamilies.findRefreshToken(a.id, 'rt-fam-bob'),
        family: family(a.id, 'fam-bob', 'usr_bob'),
        userActive: true,
      });
      assert.equal(await store.tokenFamilies.findForRotation(b.id, 'rt-fam-bob'), undefined);
      await store.users.setEnabled(a.id, 'bob', false, T0 + 2);
      assert.equal((await store.tokenFamilies.findForRotation(a.id, 'rt-fam-bob'))?.userActive, false, 'a disabled user');
      await store.tokenFamilies.revoke(a.id, 'fam-bob', T0 + 3);
      const revoked = await store.tokenFamilies.findForRotation(a.id, 'rt-fam-bob');
      assert.equal(revoked?.family?.revokedAt, T0 + 3);
      assert.equal(revoked?.token.revokedAt, T0 + 3);
    });
  });
}
