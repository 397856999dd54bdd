import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type AuditEvent, SYSTEM_ACTOR } from '../../src/domain/audit.ts';
import type { Store } from '../../src/domain/storage.ts';
import { testDatabases } from '../helpers/databases.ts';

const T0 = Date.UTC(2026, 0, 1);
const env = { id: 'env-1', name: 'PRODUCTION' };

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: randomUUID(),
    type: 'client.created',
    time: T0,
    environment: env,
    actor: { kind: 'cli', id: 'alice' },
    subject: { kind: 'client', id: 'gh_1' },
    outcome: 'success',
    details: { name: 'billing', scopes: ['a', 'b'] },
    ...overrides,
  };
}

for (const database of await testDatabases()) {
  describe(`audit store on ${database.name}`, { timeout: 180_000 }, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await database.open());
    });
    after(async () => cleanup());

    it('stores events and lists them newest first, filtered by environment, type and time', async () => {
      const a = event({ time: T0 + 1 });
      const b = event({ time: T0 + 2, type: 'client.disabled', outcome: 'failure' });
      const c = event({ time: T0 + 3, environment: null, type: 'server.started', actor: SYSTEM_ACTOR, subject: { kind: 'server', id: 'node' }, details: {} });
      for (const e of [a, b, c]) await store.audit.insert(e, false);
      assert.deepEqual(await store.audit.list({ limit: 10 }), [c, b, a]);
      assert.deepEqual(await store.audit.list({ limit: 10, envName: 'PRODUCTION' }), [b, a]);
      assert.deepEqual(await store.audit.list({ limit: 10, type: 'client.disabled' }), [b]);
      assert.deepEqual(await store.audit.list({ limit: 10, since: T0 + 2 }), [c, b]);
      assert.deepEqual(await store.audit.list({ limit: 1 }), [c]);
      assert.equal(await store.audit.pendingDeliveries(), 0);
      assert.equal(await store.audit.deleteBefore(T0 + 10), 3);
    });

    it('leases each due delivery to one claimer, retries after the backoff and forgets it once delivered', async () => {
      const e = event();
      await store.audit.insert(e, true);
      assert.equal(await store.audit.pendingDeliveries(), 1);
      const [first, second] = await Promise.all([store.audit.claimDeliveries(T0, T0 + 1000, 10), store.audit.claimDeliveries(T0, T0 + 1000, 10)]);
      assert.equal((first?.length ?? 0) + (second?.length ?? 0), 1, 'claimed by exactly one');
      const claimed = [...(first ?? []), ...(second ?? [])][0];
      assert.deepEqual(claimed, { event: e, attempts: 1 });
      assert.deepEqual(await store.audit.claimDeliveries(T0 + 500, T0 + 1500, 10), [], 'leased');
      await store.audit.markFailed(e.id, T0 + 5000, 'HTTP 500');
      assert.deepEqual(await store.audit.claimDeliveries(T0 + 4999, T0 + 6000, 10), [], 'not due yet');
      assert.equal((await store.audit.claimDeliveries(T0 + 5000, T0 + 6000, 10))[0]?.attempts, 2);
      // A lease that ran out (its node died) is claimed again.
      assert.equal((await store.audit.claimDeliveries(T0 + 6000, T0 + 7000, 10))[0]?.attempts, 3);
      await store.audit.markDelivered(e.id, T0 + 6500);
      await store.audit.markFailed(e.id, T0 + 9000, 'late failure of an older attempt');
      assert.deepEqual(await store.audit.claimDeliveries(T0 + 100_000, T0 + 101_000, 10), []);
      assert.equal(await store.audit.pendingDeliveries(), 0);
    });

    it('deletes events past retention together with their deliveries', async () => {
      const old = event({ time: T0 - 10 });
      const recent = event({ time: T0 + 10 });
      await store.audit.insert(old, true);
      await store.audit.insert(recent, true);
      assert.equal(await store.audit.deleteBefore(T0), 1);
      assert.deepEqual(await store.audit.list({ limit: 10, since: T0 + 1 }), [recent]);
      const due = await store.audit.claimDeliveries(T0 + 20, T0 + 30, 10);
      assert.deepEqual(
        due.map((d) => d.event.id),
        [recent.id],
      );
      // The delivered event of the previous test goes too.
      assert.equal(await store.audit.deleteBefore(T0 + 1_000_000), 2);
      assert.equal(await store.audit.pendingDeliveries(), 0);
    });
  });
}
