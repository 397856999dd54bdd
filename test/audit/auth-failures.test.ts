import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuthFailureDigest } from '../../src/audit/auth-failures.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore } from '../helpers/fixtures.ts';

const env = { id: 'env-1', name: 'PRODUCTION' };
const failure = (clientId: string | undefined, source = '203.0.113.9', throttled = false) =>
  ({ type: 'client.authentication_failed', env, clientId, throttled, source }) as const;

describe('failed client authentications in the audit log', () => {
  it("records a caller's first failure at once and the rest of its minute as one summary", () => {
    const digest = new AuthFailureDigest({ windowMs: 60_000, maxKeys: 100 });
    const start = 1_800_000_000_000 - (1_800_000_000_000 % 60_000);
    const first = digest.note(failure('gh_admin'), start + 1000);
    assert.deepEqual(
      first.map((e) => [e.type, e.subject, e.outcome, e.details]),
      [['client.authentication_failed', { kind: 'client', id: 'gh_admin' }, 'failure', { source: '203.0.113.9', failures: 1, throttled: 0 }]],
    );
    for (let i = 0; i < 500; i++) assert.deepEqual(digest.note(failure('gh_admin', '203.0.113.9', i >= 400), start + 2000 + i), []);
    assert.deepEqual(digest.drain(start + 59_999), []);
    const summary = digest.drain(start + 60_000);
    assert.equal(summary.length, 1);
    assert.deepEqual(summary[0]?.details, {
      source: '203.0.113.9',
      failures: 500,
      throttled: 100,
      window_start: new Date(start).toISOString(),
      last_at: new Date(start + 2499).toISOString(),
      summary: true,
    });
    // A caller with a single failure owes no summary.
    digest.note(failure('gh_other'), start + 61_000);
    assert.deepEqual(digest.drain(start + 120_000), []);
  });

  it('never names an unknown id, and bounds how many callers one window can fill', () => {
    const digest = new AuthFailureDigest({ windowMs: 60_000, maxKeys: 3 });
    const events = [];
    for (let i = 0; i < 50; i++) events.push(...digest.note(failure(undefined, `198.51.100.${i}`), 1000 + i));
    events.push(...digest.drain(0, true));
    assert.ok(events.length <= 3 + 3 + 1, `${events.length} events`);
    for (const event of events) assert.deepEqual(event.subject, { kind: 'unknown_client', id: '' });
    const overflow = events.filter((e) => e.details?.source === '(other sources)');
    assert.deepEqual(
      overflow.map((e) => e.details?.failures),
      [1, 46],
    );
  });
});

for (const database of await testDatabases()) {
  describe(`failed client authentications reach the audit log on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });

    it('stores a wrong secret for a known client, names no unknown id, and summarises a flood at shutdown', async () => {
      const t = await suite.build();
      await t.admin.createEnvironment('AUDITED');
      const { client_id: clientId } = await t.admin.createClient({ env: 'AUDITED', name: 'billing', scopes: ['read'] });
      const madeUp = `gh_${randomBytes(12).toString('hex')}`;
      const attempt = (id: string) =>
        t.app.server.inject({
          method: 'POST',
          url: '/envs/AUDITED/token',
          headers: { authorization: basic(id, 'wrong secret'), 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ grant_type: 'client_credentials' }),
        });
      for (let i = 0; i < 3; i++) assert.equal((await attempt(clientId)).statusCode, 401);
      assert.equal((await attempt(madeUp)).statusCode, 401);
      await t.app.stop();
      const events = await t.store.audit.list({ type: 'client.authentication_failed', envName: 'AUDITED', limit: 100 });
      const byClient = events.filter((e) => e.subject.id === clientId).map((e) => e.details.failures);
      assert.deepEqual(byClient.sort(), [1, 2]);
      const unknown = events.filter((e) => e.subject.kind === 'unknown_client');
      assert.equal(unknown.length, 1);
      assert.equal(unknown[0]?.details.source, '127.0.0.1');
      assert.ok(!JSON.stringify(events).includes(madeUp));
      assert.ok(!JSON.stringify(events).includes('wrong secret'));
    });
  });
}
