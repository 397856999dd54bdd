import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Environment, RefreshToken, TokenFamily } from '../../src/domain/model.ts';
import type { FamilyIssue, RotationRetry, Store } from '../../src/domain/storage.ts';
import type { TestDatabase } from '../helpers/databases.ts';
import { createEnvironments } from './authorization-conformance.ts';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const GRACE = 10_000;

const environment = (name: string): Environment => ({ id: `env-retry-${name}`, name: `RETRY_${name}`, createdAt: T0, defaultQuota: null });

const family = (envId: string, familyId: string): TokenFamily => ({
  familyId,
  envId,
  clientId: 'app',
  userId: 'usr_alice',
  scope: ['read'],
  createdAt: T0,
  expiresAt: T0 + 90 * 24 * 60 * MINUTE,
  revokedAt: null,
});

const refresh = (envId: string, tokenHash: string, familyId: string): RefreshToken => ({
  tokenHash,
  envId,
  familyId,
  clientId: 'app',
  userId: 'usr_alice',
  issuedAt: T0,
  expiresAt: T0 + 14 * 24 * 60 * MINUTE,
  rotatedAt: null,
  revokedAt: null,
});

const issue = (envId: string, refreshHash: string, familyId: string, jti: string): FamilyIssue => ({
  refreshToken: refresh(envId, refreshHash, familyId),
  accessToken: { jti, expiresAt: T0 + 60 * MINUTE, opaque: undefined },
});

const retry = (sealedResponse: string, at: number, requestHash = 'request-1'): RotationRetry => ({ requestHash, sealedResponse, expiresAt: at + GRACE });

/** Storage specification of the retry records of refresh rotations (migration 016), run on every database. */
export function refreshRetryStoreConformance(database: TestDatabase): void {
  describe(`Refresh retry storage conformance on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const a = environment('A');
    const b = environment('B');

    /** A family whose first refresh token is `first`, as a code redemption leaves it. */
    async function newFamily(familyId: string, first: string): Promise<void> {
      await store.authorizationCodes.insert({
        codeHash: `code-${familyId}`,
        envId: a.id,
        clientId: 'app',
        userId: 'usr_alice',
        redirectUri: 'https://app.example/cb',
        scope: ['read'],
        codeChallenge: 'challenge',
        familyId,
        issuedAt: T0,
        expiresAt: T0 + 10 * MINUTE,
        consumedAt: null,
      });
      assert.ok(await store.authorizationCodes.redeem(a.id, `code-${familyId}`, T0, family(a.id, familyId), issue(a.id, first, familyId, `jti-${first}`)));
    }

    before(async () => {
      ({ store, cleanup } = await database.open());
      await createEnvironments(store, [a, b], T0);
    });
    after(async () => cleanup());

    it('keeps what a rotation sealed for its exact request until the grace period ends, in its environment only', async () => {
      await newFamily('fam-r1', 'rt-r1a');
      const at = T0 + MINUTE;
      assert.ok(await store.tokenFamilies.rotate(a.id, 'fam-r1', 'rt-r1a', at, issue(a.id, 'rt-r1b', 'fam-r1', 'jti-r1b'), retry('sealed-r1', at)));
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r1a', 'request-1', at + 1), 'sealed-r1');
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r1a', 'request-1', at + GRACE - 1), 'sealed-r1');
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r1a', 'request-1', at + GRACE), undefined, 'the grace period is over');
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r1a', 'request-2', at + 1), undefined, 'another request');
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r1b', 'request-1', at + 1), undefined, 'the new token was not rotated');
      assert.equal(await store.tokenFamilies.findRetry(b.id, 'rt-r1a', 'request-1', at + 1), undefined, 'another environment');
    });

    it('keeps only the winner’s record among 20 concurrent rotations', async () => {
      await newFamily('fam-r2', 'rt-r2a');
      const at = T0 + MINUTE;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.tokenFamilies.rotate(a.id, 'fam-r2', 'rt-r2a', at, issue(a.id, `rt-r2b-${i}`, 'fam-r2', `jti-r2b-${i}`), retry(`sealed-r2-${i}`, at)),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r2a', 'request-1', at + 1), `sealed-r2-${results.indexOf(true)}`);
    });

    it('forgets a rotation’s record once its new refresh token is used, the family revoked or the record swept', async () => {
      await newFamily('fam-r3', 'rt-r3a');
      const at = T0 + MINUTE;
      assert.ok(await store.tokenFamilies.rotate(a.id, 'fam-r3', 'rt-r3a', at, issue(a.id, 'rt-r3b', 'fam-r3', 'jti-r3b'), retry('sealed-r3a', at)));
      assert.ok(await store.tokenFamilies.rotate(a.id, 'fam-r3', 'rt-r3b', at + 1, issue(a.id, 'rt-r3c', 'fam-r3', 'jti-r3c'), retry('sealed-r3b', at + 1)));
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r3a', 'request-1', at + 2), undefined, 'its new token was used');
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r3b', 'request-1', at + 2), 'sealed-r3b');
      // A rotation without a record (retries turned off) leaves none behind either.
      assert.ok(await store.tokenFamilies.rotate(a.id, 'fam-r3', 'rt-r3c', at + 2, issue(a.id, 'rt-r3d', 'fam-r3', 'jti-r3d')));
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r3b', 'request-1', at + 3), undefined);
      assert.ok(await store.tokenFamilies.rotate(a.id, 'fam-r3', 'rt-r3d', at + 3, issue(a.id, 'rt-r3e', 'fam-r3', 'jti-r3e'), retry('sealed-r3d', at + 3)));
      await store.tokenFamilies.revoke(a.id, 'fam-r3', at + 4);
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r3d', 'request-1', at + 4), undefined, 'the family is revoked');

      await newFamily('fam-r4', 'rt-r4a');
      assert.ok(await store.tokenFamilies.rotate(a.id, 'fam-r4', 'rt-r4a', at, issue(a.id, 'rt-r4b', 'fam-r4', 'jti-r4b'), retry('sealed-r4', at)));
      await store.tokenFamilies.deleteExpired(at + GRACE + 1);
      assert.equal(await store.tokenFamilies.findRetry(a.id, 'rt-r4a', 'request-1', at + 1), undefined, 'swept once expired');
      assert.equal((await store.tokenFamilies.find(a.id, 'fam-r4'))?.revokedAt, null, 'the family itself lives on');
    });
  });
}
