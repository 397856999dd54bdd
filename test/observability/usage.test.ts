import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import type { CoreEvent, CredentialUse } from '../../src/domain/events.ts';
import { StorageUnavailableError, type UsageBatch } from '../../src/domain/storage.ts';
import { UsageRecorder, utcDay } from '../../src/observability/usage.ts';

const env = { id: 'env-1', name: 'prod' };
const issued = (clientId: string, credential?: CredentialUse): CoreEvent => ({
  type: 'token.issued',
  env,
  clientId,
  grantType: 'client_credentials',
  credential,
});

/** A usage store that records each batch, or refuses while `down`. */
class FakeUsageStore {
  batches: UsageBatch[] = [];
  down = false;
  async record(batch: UsageBatch): Promise<void> {
    if (this.down) throw new StorageUnavailableError('connection refused');
    this.batches.push(structuredClone(batch));
  }
}

const byKey =
  <T>(key: (x: T) => string) =>
  (x: T, y: T) =>
    key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0;
const sorted = (batch: UsageBatch | undefined) => ({
  lastUses: [...(batch?.lastUses ?? [])].sort(byKey((u) => `${u.subject} ${u.id}`)),
  tokenCounts: [...(batch?.tokenCounts ?? [])].sort(byKey((c) => `${c.clientId} ${c.day}`)),
});

describe('usage recorder', () => {
  it('turns many events into one batch: the latest time per subject, tokens counted per client and UTC day', async () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 1, 23, 59, 58));
    const store = new FakeUsageStore();
    const recorder = new UsageRecorder(store, clock);
    for (let i = 0; i < 100; i++) {
      recorder.listener(issued('c1', { kind: 'client_secret', id: 's1' }));
      clock.advance(10);
    }
    clock.set(Date.UTC(2026, 4, 2, 0, 0, 1));
    recorder.listener(issued('c1', { kind: 'client_secret', id: 's1' }));
    recorder.listener(issued('sa', { kind: 'key', id: 'k1' }));
    recorder.listener({ type: 'user.login', env, outcome: 'success', userId: 'u1' });
    recorder.listener({ type: 'user.login', env, outcome: 'failure', userId: 'u2' });
    recorder.listener({ type: 'token.refused', env, grantType: 'client_credentials', code: 'invalid_client' });
    assert.equal(store.batches.length, 0, 'nothing is written before a flush');
    await recorder.flush();
    assert.equal(store.batches.length, 1);
    const at = clock.now();
    assert.deepEqual(sorted(store.batches[0]), {
      lastUses: [
        { subject: 'client', envId: env.id, id: 'c1', at },
        { subject: 'client', envId: env.id, id: 'sa', at },
        { subject: 'client_secret', envId: env.id, id: 's1', at },
        { subject: 'key', envId: env.id, id: 'k1', at },
        { subject: 'user', envId: env.id, id: 'u1', at },
      ],
      tokenCounts: [
        { envId: env.id, clientId: 'c1', day: '2026-05-01', count: 100 },
        { envId: env.id, clientId: 'c1', day: '2026-05-02', count: 1 },
        { envId: env.id, clientId: 'sa', day: '2026-05-02', count: 1 },
      ],
    });
    await recorder.flush();
    assert.equal(store.batches.length, 1, 'an empty flush writes nothing');
  });

  it('keeps a batch the database refused and merges it into the next one', async () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 1, 12));
    const store = new FakeUsageStore();
    const recorder = new UsageRecorder(store, clock);
    recorder.listener(issued('c1', { kind: 'client_secret', id: 's1' }));
    recorder.listener(issued('c2'));
    store.down = true;
    await assert.rejects(recorder.flush(), StorageUnavailableError);
    assert.equal(recorder.size, 5, 'the refused batch is held again');
    clock.advance(1000);
    recorder.listener(issued('c1'));
    await assert.rejects(recorder.flush(), StorageUnavailableError);
    store.down = false;
    await recorder.flush();
    assert.equal(store.batches.length, 1);
    const t = Date.UTC(2026, 4, 1, 12);
    assert.deepEqual(sorted(store.batches[0]), {
      lastUses: [
        { subject: 'client', envId: env.id, id: 'c1', at: t + 1000 },
        { subject: 'client', envId: env.id, id: 'c2', at: t },
        { subject: 'client_secret', envId: env.id, id: 's1', at: t },
      ],
      tokenCounts: [
        { envId: env.id, clientId: 'c1', day: '2026-05-01', count: 2 },
        { envId: env.id, clientId: 'c2', day: '2026-05-01', count: 1 },
      ],
    });
    assert.equal(recorder.size, 0);
  });

  it('never runs two flushes at once: a flush during another waits and writes what came after', async () => {
    const store = new FakeUsageStore();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let running = 0;
    let most = 0;
    const slow = {
      async record(batch: UsageBatch) {
        running += 1;
        most = Math.max(most, running);
        await gate;
        running -= 1;
        await store.record(batch);
      },
    };
    const recorder = new UsageRecorder(slow, new ManualClock());
    recorder.listener(issued('c1'));
    const first = recorder.flush();
    recorder.listener(issued('c2'));
    const second = recorder.flush();
    release();
    await Promise.all([first, second]);
    assert.equal(most, 1);
    assert.deepEqual(
      store.batches.map((b) => b.lastUses.map((u) => u.id)),
      [['c1'], ['c2']],
    );
  });

  it('flushes early when its maps reach the limit, and counts what it cannot hold while the database is down', async () => {
    const store = new FakeUsageStore();
    const dropped: number[] = [];
    const recorder = new UsageRecorder(store, new ManualClock(), { maxEntries: 10, onDropped: (n) => dropped.push(n) });
    for (let i = 0; i < 5; i++) recorder.listener(issued(`c${i}`));
    assert.equal(recorder.size, 10);
    recorder.listener(issued('c5'));
    assert.ok(recorder.size <= 10, 'the early flush took the full maps');
    await recorder.flush();
    assert.equal(store.batches.length, 2);
    assert.equal(store.batches.flatMap((b) => b.lastUses).length, 6, 'nothing was lost');
    assert.deepEqual(dropped, []);

    store.down = true;
    for (let i = 0; i < 5; i++) recorder.listener(issued(`d${i}`));
    await assert.rejects(recorder.flush());
    // Known subjects still update; new ones beyond the limit are dropped and reported, not silently.
    recorder.listener(issued('d0'));
    recorder.listener(issued('e0'));
    recorder.listener(issued('e1'));
    assert.equal(recorder.size, 10);
    store.down = false;
    await recorder.flush();
    assert.deepEqual(dropped, [4], 'two last uses and two day counts');
    const last = store.batches.at(-1);
    assert.equal(last?.tokenCounts.find((c) => c.clientId === 'd0')?.count, 2);
  });

  it('names days in UTC', () => {
    assert.equal(utcDay(Date.UTC(2026, 11, 31, 23, 59, 59, 999)), '2026-12-31');
    assert.equal(utcDay(Date.UTC(2027, 0, 1)), '2027-01-01');
  });
});
