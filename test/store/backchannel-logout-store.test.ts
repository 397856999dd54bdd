import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Environment } from '../../src/domain/model.ts';
import type { BackchannelLogout, Store } from '../../src/domain/storage.ts';
import { testDatabases } from '../helpers/databases.ts';
import { createEnvironment, createLogoutClient, createUser, familyInSession, signedInSession } from '../helpers/logout.ts';

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

for (const database of await testDatabases()) {
  describe(`back-channel logout outbox and logout lookups (${database.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let env: Environment;

    before(async () => {
      ({ store, cleanup } = await database.open());
      env = await createEnvironment(store, 'ES256', T0);
    });
    after(() => cleanup());

    const logout = (id: string, createdAt = T0): BackchannelLogout => ({ id, envId: env.id, clientId: 'gh_rp', subject: 'usr_1', sid: `sid-${id}`, createdAt });

    /** Empties the outbox between tests. */
    async function drain(now: number): Promise<void> {
      for (const { logout: l } of await store.backchannelLogouts.claim(now, now + 1, 1000)) await store.backchannelLogouts.finish(l.id);
      assert.equal(await store.backchannelLogouts.pending(), 0);
    }

    it('keeps what a logout token is signed from, due at its creation, and leases it to one claimer until the lease ends', async () => {
      await store.backchannelLogouts.enqueue([logout('a'), logout('b', T0 + 10)]);
      assert.equal(await store.backchannelLogouts.pending(), 2);
      assert.deepEqual(await store.backchannelLogouts.claim(T0 - 1, T0 + 100, 10), []);
      const first = await store.backchannelLogouts.claim(T0, T0 + 100, 10);
      assert.deepEqual(first, [{ logout: logout('a'), attempts: 1 }]);
      // Leased: nobody else gets it before the lease ends.
      assert.deepEqual(
        (await store.backchannelLogouts.claim(T0 + 50, T0 + 150, 10)).map((d) => d.logout.id),
        ['b'],
      );
      const again = await store.backchannelLogouts.claim(T0 + 100, T0 + 200, 10);
      assert.deepEqual(again, [{ logout: logout('a'), attempts: 2 }]);
      await drain(T0 + 1000);
    });

    it('a retry is due at its time; a node whose lease ran out and was claimed again leaves the row to the new claim', async () => {
      await store.backchannelLogouts.enqueue([logout('r')]);
      const [claimed] = await store.backchannelLogouts.claim(T0, T0 + 10, 1);
      assert.equal(claimed?.attempts, 1);
      // The lease ends; another node claims it (attempt 2) while the first is still at work.
      const [reclaimed] = await store.backchannelLogouts.claim(T0 + 10, T0 + 500, 1);
      assert.equal(reclaimed?.attempts, 2);
      // The first node's late failure does not release the second node's lease.
      await store.backchannelLogouts.retryLater('r', 1, T0 + 20, 'timeout');
      assert.deepEqual(await store.backchannelLogouts.claim(T0 + 100, T0 + 600, 1), []);
      await store.backchannelLogouts.retryLater('r', 2, T0 + 1000, `HTTP 503 ${'x'.repeat(500)}`);
      assert.deepEqual(await store.backchannelLogouts.claim(T0 + 999, T0 + 2000, 1), []);
      const [third] = await store.backchannelLogouts.claim(T0 + 1000, T0 + 2000, 1);
      assert.equal(third?.attempts, 3);
      await store.backchannelLogouts.finish('r');
      assert.equal(await store.backchannelLogouts.pending(), 0);
    });

    it('of concurrent claimers, each logout goes to exactly one', async () => {
      await store.backchannelLogouts.enqueue(Array.from({ length: 40 }, (_, i) => logout(`c${String(i).padStart(2, '0')}`, T0 + i)));
      const claims = await Promise.all(Array.from({ length: 6 }, () => store.backchannelLogouts.claim(T0 + 100, T0 + 10_000, 10)));
      // PostgreSQL: a claimer whose candidates another took meanwhile gets fewer (re-checked rows are skipped), never the same.
      claims.push(await store.backchannelLogouts.claim(T0 + 100, T0 + 10_000, 40));
      const ids = claims.flat().map((d) => d.logout.id);
      assert.equal(new Set(ids).size, ids.length);
      assert.equal(ids.length, 40);
      // Oldest first within a claim.
      for (const claim of claims) {
        const times = claim.map((d) => d.logout.createdAt);
        assert.deepEqual(
          times,
          [...times].sort((a, b) => a - b),
        );
      }
      await drain(T0 + 20_000);
    });

    it('ends one session once, however many ask at once, and ends every session of a user', async () => {
      const userId = await createUser(store, env, T0);
      const one = await signedInSession(store, env, userId, T0);
      const two = await signedInSession(store, env, userId, T0);
      const other = await signedInSession(store, env, await createUser(store, env, T0), T0);
      const ended = await Promise.all([store.browserSessions.end(env.id, one.session.idHash), store.browserSessions.end(env.id, one.session.idHash)]);
      assert.deepEqual(
        ended.filter((s) => s !== undefined),
        [one.session],
      );
      assert.equal(await store.browserSessions.end('another-env', two.session.idHash), undefined);
      assert.deepEqual(await store.browserSessions.endForUser(env.id, userId), [two.session]);
      assert.deepEqual(await store.browserSessions.endForUser(env.id, userId), []);
      assert.ok(await store.browserSessions.find(env.id, other.session.idHash, T0));
    });

    it('lists the families begun in a session by its sid, revoked ones too, and only in its environment', async () => {
      const client = await createLogoutClient(store, env, T0);
      const userId = await createUser(store, env, T0);
      const { session } = await signedInSession(store, env, userId, T0);
      const first = await familyInSession(store, env, client.clientId, userId, session.sid, T0);
      const second = await familyInSession(store, env, client.clientId, userId, session.sid, T0 + 1);
      await familyInSession(store, env, client.clientId, userId, 'another-sid', T0);
      await familyInSession(store, env, client.clientId, userId, undefined, T0);
      await store.tokenFamilies.revoke(env.id, first, T0 + 5);
      const families = await store.tokenFamilies.listBySid(env.id, session.sid as string);
      assert.deepEqual(
        families.map((f) => [f.familyId, f.sid, f.revokedAt]),
        [
          [first, session.sid, T0 + 5],
          [second, session.sid, null],
        ],
      );
      assert.deepEqual(await store.tokenFamilies.listBySid('another-env', session.sid as string), []);
    });
  });
}
