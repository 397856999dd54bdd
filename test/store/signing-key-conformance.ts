import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Environment, SigningKey } from '../../src/domain/model.ts';
import type { Store } from '../../src/domain/storage.ts';
import type { TestDatabase } from '../helpers/databases.ts';

const T0 = Date.UTC(2026, 2, 1);

const environment = (name: string): Environment => ({ id: `env-keys-${name}`, name: `keys-${name}`, createdAt: T0, defaultQuota: null });

const key = (envId: string, kid: string, createdAt: number, activateAt = createdAt): SigningKey => ({
  kid,
  envId,
  alg: 'ES256',
  publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid },
  privateKeySealed: 'v1.sealed',
  status: activateAt > createdAt ? 'next' : 'active',
  createdAt,
  activateAt,
  retiredAt: null,
  publishUntil: null,
});

/** The signing-key lifecycle of the storage interface: next keys, lazy switches, scheduled rotations. */
export function signingKeyStoreConformance(database: TestDatabase): void {
  describe(`signing-key lifecycle conformance on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const envs = ['schedule', 'race', 'now', 'interval', 'due', 'lead', 'revoke-active', 'revoke-next', 'revoke-retired', 'revoke-race'].map(environment);
    const [scheduled, race, immediate, interval, due, lead, revokeActive, revokeNext, revokeRetired, revokeRace] = envs as [
      Environment,
      Environment,
      Environment,
      Environment,
      Environment,
      Environment,
      Environment,
      Environment,
      Environment,
      Environment,
    ];

    before(async () => {
      ({ store, cleanup } = await database.open());
      for (const env of envs) await store.environments.create(env, key(env.id, `${env.id}-1`, T0));
    });
    after(async () => cleanup());

    const statuses = async (envId: string) => (await store.signingKeys.list(envId)).map((k) => [k.kid, k.status]);

    it('publishes a next key at once, retires the active key at its activation, switches statuses once', async () => {
      const id = scheduled.id;
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-2`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000), true);
      const published = await store.signingKeys.listPublished(id, T0 + 10);
      assert.deepEqual(
        published.map((k) => [k.kid, k.status, k.activateAt, k.retiredAt, k.publishUntil]),
        [
          [`${id}-2`, 'next', T0 + 1000, null, null],
          [`${id}-1`, 'active', T0, T0 + 1000, T0 + 5000],
        ],
      );
      assert.equal((await store.signingKeys.findActive(id))?.kid, `${id}-1`);
      // A second next key is refused while one is pending.
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-3`, T0 + 20, T0 + 1020), T0 + 20, T0 + 5020), false);
      assert.equal(await store.signingKeys.settle(T0 + 999, id), 0);
      assert.equal(await store.signingKeys.settle(T0 + 1000, id), 2);
      assert.equal(await store.signingKeys.settle(T0 + 1000, id), 0);
      assert.deepEqual(await statuses(id), [
        [`${id}-2`, 'active'],
        [`${id}-1`, 'retired'],
      ]);
      assert.equal((await store.signingKeys.findActive(id))?.kid, `${id}-2`);
      assert.deepEqual(
        (await store.signingKeys.listPublished(id, T0 + 5000)).map((k) => k.kid),
        [`${id}-2`],
      );
    });

    it('lets exactly one of concurrent scheduled rotations start, and settles concurrently once', async () => {
      const id = race.id;
      const attempts = await Promise.all(
        [1, 2, 3, 4].map((n) => store.signingKeys.scheduleNext(id, key(id, `${id}-r${n}`, T0 + n, T0 + 1000), T0 + n, T0 + 5000, T0 + 1)),
      );
      assert.equal(attempts.filter(Boolean).length, 1);
      assert.equal((await store.signingKeys.list(id)).filter((k) => k.status === 'next').length, 1);
      const switched = await Promise.all([1, 2, 3].map(() => store.signingKeys.settle(T0 + 1000)));
      assert.equal(
        switched.reduce((sum, n) => sum + n, 0),
        2,
      );
      assert.equal((await store.signingKeys.list(id)).filter((k) => k.status === 'active').length, 1);
    });

    it('an immediate rotation retires the active key and withdraws a pending next key, both still published', async () => {
      const id = immediate.id;
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-next`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000), true);
      await store.signingKeys.rotate(id, key(id, `${id}-now`, T0 + 20), T0 + 20, T0 + 4000);
      const published = await store.signingKeys.listPublished(id, T0 + 20);
      assert.deepEqual(
        published.map((k) => [k.kid, k.status, k.retiredAt, k.publishUntil]),
        [
          [`${id}-now`, 'active', null, null],
          [`${id}-next`, 'retired', T0 + 20, T0 + 4000],
          [`${id}-1`, 'retired', T0 + 20, T0 + 4000],
        ],
      );
      assert.equal(await store.signingKeys.settle(T0 + 1000, id), 0);
    });

    it('an immediate rotation with a lead publishes the new key first; the active key signs until it activates', async () => {
      const id = lead.id;
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-next`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000), true);
      await store.signingKeys.rotate(id, key(id, `${id}-now`, T0 + 20, T0 + 120), T0 + 20, T0 + 4000);
      assert.deepEqual(
        (await store.signingKeys.listPublished(id, T0 + 20)).map((k) => [k.kid, k.status, k.activateAt, k.retiredAt, k.publishUntil]),
        [
          [`${id}-now`, 'next', T0 + 120, null, null],
          [`${id}-next`, 'retired', T0 + 1000, T0 + 20, T0 + 4000],
          [`${id}-1`, 'active', T0, T0 + 120, T0 + 4000],
        ],
      );
      assert.equal(await store.signingKeys.settle(T0 + 119, id), 0);
      assert.equal(await store.signingKeys.settle(T0 + 120, id), 2);
      assert.deepEqual(await statuses(id), [
        [`${id}-now`, 'active'],
        [`${id}-next`, 'retired'],
        [`${id}-1`, 'retired'],
      ]);
    });

    it('revoking the active key removes it from the published set at once and activates the replacement', async () => {
      const id = revokeActive.id;
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-next`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000), true);
      const outcome = await store.signingKeys.revoke(id, `${id}-1`, T0 + 20, key(id, `${id}-fresh`, T0 + 20, T0 + 19), T0 + 4000);
      assert.deepEqual(outcome, { outcome: 'revoked', replaced: true, revokedAt: T0 + 20 });
      assert.equal(await store.signingKeys.isRevoked(id, `${id}-1`), true);
      assert.equal(await store.signingKeys.isRevoked(id, `${id}-fresh`), false);
      // Even a reader whose clock is behind the revocation no longer lists the key.
      assert.deepEqual(
        (await store.signingKeys.listPublished(id, T0)).map((k) => [k.kid, k.status, k.retiredAt]),
        [
          [`${id}-fresh`, 'active', null],
          [`${id}-next`, 'retired', T0 + 20],
        ],
      );
      const revoked = (await store.signingKeys.list(id)).find((k) => k.kid === `${id}-1`);
      assert.deepEqual([revoked?.status, revoked?.retiredAt, revoked?.publishUntil, revoked?.revokedAt], ['retired', T0 + 20, T0 + 20, T0 + 20]);
      assert.equal((await store.signingKeys.findActive(id))?.kid, `${id}-fresh`);
      assert.deepEqual(await store.signingKeys.revoke(id, `${id}-1`, T0 + 30, key(id, `${id}-unused`, T0 + 30), T0 + 4000), {
        outcome: 'already_revoked',
        revokedAt: T0 + 20,
      });
      assert.deepEqual(await store.signingKeys.revoke(id, 'no-such-kid', T0 + 30, key(id, `${id}-unused`, T0 + 30), T0 + 4000), { outcome: 'not_found' });
      // Another environment's kid is unknown here.
      assert.deepEqual(await store.signingKeys.revoke(lead.id, `${id}-fresh`, T0 + 30, key(lead.id, `${id}-unused`, T0 + 30), T0 + 4000), {
        outcome: 'not_found',
      });
      assert.equal(
        (await store.signingKeys.list(id)).some((k) => k.kid === `${id}-unused`),
        false,
      );
    });

    it('revoking a next key keeps the active key signing; revoking a retired key withdraws it early', async () => {
      const id = revokeNext.id;
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-next`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000), true);
      assert.deepEqual(await store.signingKeys.revoke(id, `${id}-next`, T0 + 20, key(id, `${id}-unused`, T0 + 20), T0 + 4000), {
        outcome: 'revoked',
        replaced: false,
        revokedAt: T0 + 20,
      });
      assert.deepEqual(
        (await store.signingKeys.listPublished(id, T0 + 2000)).map((k) => [k.kid, k.status, k.retiredAt, k.publishUntil]),
        [[`${id}-1`, 'active', null, null]],
      );
      assert.equal(await store.signingKeys.settle(T0 + 2000, id), 0);

      const old = revokeRetired.id;
      await store.signingKeys.rotate(old, key(old, `${old}-2`, T0 + 10), T0 + 10, T0 + 5000);
      assert.deepEqual(
        (await store.signingKeys.listPublished(old, T0 + 20)).map((k) => k.kid),
        [`${old}-2`, `${old}-1`],
      );
      assert.deepEqual((await store.signingKeys.revoke(old, `${old}-1`, T0 + 20, key(old, `${old}-unused`, T0 + 20), T0 + 4000)).outcome, 'revoked');
      assert.deepEqual(
        (await store.signingKeys.listPublished(old, T0 + 20)).map((k) => [k.kid, k.status]),
        [[`${old}-2`, 'active']],
      );
      assert.equal((await store.signingKeys.list(old)).find((k) => k.kid === `${old}-1`)?.retiredAt, T0 + 10);
    });

    it('of concurrent revocations of the active key, exactly one revokes it and one replacement signs', async () => {
      const id = revokeRace.id;
      const outcomes = await Promise.all(
        [1, 2, 3, 4].map((n) => store.signingKeys.revoke(id, `${id}-1`, T0 + n, key(id, `${id}-fresh-${n}`, T0 + n), T0 + 4000)),
      );
      assert.deepEqual(outcomes.map((o) => o.outcome).sort(), ['already_revoked', 'already_revoked', 'already_revoked', 'revoked']);
      const keys = await store.signingKeys.list(id);
      assert.equal(keys.filter((k) => k.status === 'active').length, 1);
      assert.equal(keys.length, 2);
    });

    it('stores rotation intervals per environment', async () => {
      assert.equal(await store.signingKeys.rotationInterval(interval.id), null);
      await store.signingKeys.setRotationInterval(interval.id, 86_400);
      assert.equal(await store.signingKeys.rotationInterval(interval.id), 86_400);
      assert.deepEqual(
        (await store.signingKeys.rotationSchedules()).filter((s) => s.envId.startsWith('env-keys-')),
        [{ envId: interval.id, seconds: 86_400 }],
      );
      await store.signingKeys.setRotationInterval(interval.id, null);
      assert.equal(await store.signingKeys.rotationInterval(interval.id), null);
    });

    it('starts a scheduled rotation only when the active key activated before the given time', async () => {
      const id = due.id;
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-early`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000, T0), false);
      assert.deepEqual(await statuses(id), [[`${id}-1`, 'active']]);
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-2`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000, T0 + 1), true);
    });
  });
}
