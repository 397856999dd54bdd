import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
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

/** A key of the RS256 lineage, which signs only ID Tokens. */
const rsaKey = (envId: string, kid: string, createdAt: number, activateAt = createdAt): SigningKey => ({
  ...key(envId, kid, createdAt, activateAt),
  alg: 'RS256',
  publicJwk: { kty: 'RSA', n: 'n', e: 'AQAB', kid },
});

/** The signing-key lifecycle of the storage interface: next keys, lazy switches, scheduled rotations. */
export function signingKeyStoreConformance(database: TestDatabase): void {
  signingKeyLineageConformance(database);
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
      // A JWT's one read at introspection: withdrawn through its key, whatever its jti.
      assert.equal(await store.revokedJwts.isWithdrawn(id, '(no such jti)', `${id}-1`), true);
      assert.equal(await store.revokedJwts.isWithdrawn(id, '(no such jti)', `${id}-fresh`), false);
      assert.equal(await store.revokedJwts.isWithdrawn(`${id}-other-env`, '(no such jti)', `${id}-1`), false);
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

/**
 * Two lineages per environment, the access-token keys and the RS256 keys of ID Tokens: each has
 * its own active and next key, rotates and is revoked on its own; environments created before
 * the RS256 lineage get it once, whatever the number of nodes adding it at the same time.
 */
function signingKeyLineageConformance(database: TestDatabase): void {
  describe(`signing-key lineages conformance on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let opened: { url: string; schema?: string };
    const both = environment('lineages');
    const bothRevoke = environment('lineages-revoke');
    const legacy = ['legacy-a', 'legacy-b', 'legacy-race', 'legacy-loser'].map(environment) as [Environment, Environment, Environment, Environment];

    before(async () => {
      ({ store, cleanup, ...opened } = await database.open());
      for (const env of [both, bothRevoke]) await store.environments.create(env, key(env.id, `${env.id}-es`, T0), rsaKey(env.id, `${env.id}-rs`, T0));
      for (const env of legacy) await store.environments.create(env, key(env.id, `${env.id}-es`, T0));
    });
    after(async () => cleanup());

    const lineageStatuses = async (envId: string) => (await store.signingKeys.list(envId)).map((k) => [k.kid, k.alg, k.status]);

    it('keeps one active key per lineage, each with its own next key, and rotates one lineage without touching the other', async () => {
      const id = both.id;
      assert.equal((await store.signingKeys.findActive(id))?.kid, `${id}-es`, 'without alg: the access-token key');
      assert.equal((await store.signingKeys.findActive(id, 'RS256'))?.kid, `${id}-rs`);
      assert.equal((await store.signingKeys.findActive(id, 'ES256'))?.kid, `${id}-es`);
      assert.equal(await store.signingKeys.findActive(id, 'EdDSA'), undefined);
      // A next key in each lineage: one does not block the other; a second one in a lineage is refused.
      assert.equal(await store.signingKeys.scheduleNext(id, rsaKey(id, `${id}-rs2`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000), true);
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-es2`, T0 + 10, T0 + 2000), T0 + 10, T0 + 6000), true);
      assert.equal(await store.signingKeys.scheduleNext(id, rsaKey(id, `${id}-rs3`, T0 + 20, T0 + 1020), T0 + 20, T0 + 5020), false);
      const published = await store.signingKeys.listPublished(id, T0 + 20);
      assert.deepEqual(published.map((k) => [k.kid, k.status, k.retiredAt, k.publishUntil]).sort(), [
        [`${id}-es`, 'active', T0 + 2000, T0 + 6000],
        [`${id}-es2`, 'next', null, null],
        [`${id}-rs`, 'active', T0 + 1000, T0 + 5000],
        [`${id}-rs2`, 'next', null, null],
      ]);
      // The RS256 next key activates first: only its lineage switches.
      assert.equal(await store.signingKeys.settle(T0 + 1000, id), 2);
      assert.equal((await store.signingKeys.findActive(id, 'RS256'))?.kid, `${id}-rs2`);
      assert.equal((await store.signingKeys.findActive(id))?.kid, `${id}-es`);
      // An immediate rotation of the access-token lineage withdraws its next key only.
      await store.signingKeys.rotate(id, key(id, `${id}-es3`, T0 + 1100, T0 + 1200), T0 + 1100, T0 + 7000);
      assert.deepEqual((await lineageStatuses(id)).sort(), [
        [`${id}-es`, 'ES256', 'active'],
        [`${id}-es2`, 'ES256', 'retired'],
        [`${id}-es3`, 'ES256', 'next'],
        [`${id}-rs`, 'RS256', 'retired'],
        [`${id}-rs2`, 'RS256', 'active'],
      ]);
      const rs2 = (await store.signingKeys.list(id)).find((k) => k.kid === `${id}-rs2`);
      assert.deepEqual([rs2?.retiredAt, rs2?.publishUntil], [null, null], 'the RS256 key does not retire with the access-token key');
      assert.equal(await store.signingKeys.settle(T0 + 1200, id), 2);
      assert.equal((await store.signingKeys.findActive(id))?.kid, `${id}-es3`);
      assert.equal((await store.signingKeys.findActive(id, 'RS256'))?.kid, `${id}-rs2`);
    });

    it('replaces a revoked active RS256 key by an RS256 key, and leaves the access-token key alone', async () => {
      const id = bothRevoke.id;
      assert.equal(await store.signingKeys.scheduleNext(id, key(id, `${id}-es-next`, T0 + 10, T0 + 1000), T0 + 10, T0 + 5000), true);
      await assert.rejects(store.signingKeys.revoke(id, `${id}-rs`, T0 + 20, key(id, `${id}-wrong`, T0 + 20, T0 + 19), T0 + 4000), /cannot replace/);
      assert.equal(await store.revokedJwts.isWithdrawn(id, '(no such jti)', `${id}-rs`), false, 'nothing changed');
      const outcome = await store.signingKeys.revoke(id, `${id}-rs`, T0 + 20, rsaKey(id, `${id}-rs-fresh`, T0 + 20, T0 + 19), T0 + 4000);
      assert.deepEqual(outcome, { outcome: 'revoked', replaced: true, revokedAt: T0 + 20 });
      assert.deepEqual((await store.signingKeys.listPublished(id, T0 + 20)).map((k) => [k.kid, k.status, k.retiredAt]).sort(), [
        [`${id}-es`, 'active', T0 + 1000],
        [`${id}-es-next`, 'next', null],
        [`${id}-rs-fresh`, 'active', null],
      ]);
      assert.equal((await store.signingKeys.findActive(id, 'RS256'))?.kid, `${id}-rs-fresh`);
      // Revoking the access-token key's pending next key keeps its active key signing; the RS256 key is untouched.
      assert.deepEqual((await store.signingKeys.revoke(id, `${id}-es-next`, T0 + 30, key(id, `${id}-unused`, T0 + 30), T0 + 4000)).outcome, 'revoked');
      assert.deepEqual((await store.signingKeys.listPublished(id, T0 + 2000)).map((k) => [k.kid, k.status, k.retiredAt]).sort(), [
        [`${id}-es`, 'active', null],
        [`${id}-rs-fresh`, 'active', null],
      ]);
    });

    it('finds environments without an RS256 key and adds one, once; concurrent callers all get the one inserted', async () => {
      const ids = legacy.map((e) => e.id);
      const missing = async () => (await store.signingKeys.withoutLineage('RS256')).filter((id) => id.startsWith('env-keys-'));
      assert.deepEqual(await missing(), [...ids].sort());
      const [a] = legacy;
      const first = await store.signingKeys.startLineage(a.id, rsaKey(a.id, `${a.id}-rs`, T0 + 10), T0 + 10);
      assert.deepEqual([first.key.kid, first.created], [`${a.id}-rs`, true]);
      const again = await store.signingKeys.startLineage(a.id, rsaKey(a.id, `${a.id}-rs-again`, T0 + 20), T0 + 20);
      assert.deepEqual([again.key.kid, again.created], [`${a.id}-rs`, false]);
      assert.equal((await store.signingKeys.findActive(a.id, 'RS256'))?.kid, `${a.id}-rs`);
      assert.equal((await store.signingKeys.findActive(a.id))?.kid, `${a.id}-es`, 'the access-token key is untouched');

      // Several nodes start at once: exactly one key is inserted and every caller gets that one.
      const race = legacy[2].id;
      const results = await Promise.all([1, 2, 3, 4].map((n) => store.signingKeys.startLineage(race, rsaKey(race, `${race}-rs-${n}`, T0 + 10), T0 + 10)));
      assert.equal(results.filter((r) => r.created).length, 1);
      const winner = results.find((r) => r.created)?.key.kid;
      assert.deepEqual(
        results.map((r) => r.key.kid),
        [winner, winner, winner, winner],
      );
      assert.deepEqual(
        (await store.signingKeys.list(race)).filter((k) => k.alg === 'RS256').map((k) => [k.kid, k.status]),
        [[winner, 'active']],
      );
      assert.deepEqual(await missing(), [legacy[1].id, legacy[3].id].sort());
    });

    if (database.name === 'postgres') {
      it('a caller that finds no key but loses the insert to a concurrent one returns the winner key', async () => {
        // Another node's transaction has inserted its key and not committed yet: this caller finds
        // no key, its insert waits on the one-active-key index, and fails once the other commits.
        const id = legacy[3].id;
        const other = new pg.Client({ connectionString: opened.url });
        await other.connect();
        try {
          await other.query(`set search_path to ${opened.schema}`);
          await other.query('begin');
          await other.query(
            `insert into signing_keys (kid, env_id, alg, public_jwk, private_key_sealed, status, created_at, activate_at) values ($1, $2, 'RS256', '{}', 'v1.sealed', 'active', $3, $3)`,
            [`${id}-winner`, id, T0 + 5],
          );
          const pending = store.signingKeys.startLineage(id, rsaKey(id, `${id}-loser`, T0 + 10), T0 + 10);
          let settled = false;
          void pending.then(
            () => (settled = true),
            () => (settled = true),
          );
          // Proceed once the caller's insert waits for the other transaction's lock (or it failed first).
          for (let waiting = 0; waiting === 0 && !settled; ) {
            // Within a transaction, pg_stat_activity is a snapshot unless cleared.
            await other.query('select pg_stat_clear_snapshot()');
            const { rows } = await other.query<{ n: string }>(
              `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'insert into "signing_keys"%'`,
            );
            waiting = Number(rows[0]?.n);
          }
          await other.query('commit');
          const result = await pending;
          assert.deepEqual([result.key.kid, result.created], [`${id}-winner`, false]);
          assert.deepEqual(
            (await store.signingKeys.list(id)).filter((k) => k.alg === 'RS256').map((k) => k.kid),
            [`${id}-winner`],
          );
        } finally {
          await other.end();
        }
      });
    }

    it('the database itself refuses a second active key in a lineage, not one in the other lineage', async () => {
      const two = environment('two-rsa');
      await assert.rejects(
        store.environments.create(two, key(two.id, `${two.id}-es`, T0), rsaKey(two.id, `${two.id}-rs1`, T0), rsaKey(two.id, `${two.id}-rs2`, T0)),
      );
      const mixed = environment('es-and-eddsa');
      const eddsa = { ...key(mixed.id, `${mixed.id}-ed`, T0), alg: 'EdDSA' };
      await assert.rejects(store.environments.create(mixed, key(mixed.id, `${mixed.id}-es`, T0), eddsa), 'ES256 and EdDSA are one lineage');
      assert.equal(await store.environments.findByName(two.name), undefined);
      assert.equal(await store.environments.findByName(mixed.name), undefined);
    });
  });
}
