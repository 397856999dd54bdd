import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import { StorageUnavailableError } from '../../src/domain/storage.ts';
import { RefreshingCache } from '../../src/oauth/refreshing-cache.ts';
import { StorageHealthState } from '../../src/store/health.ts';

function setup(policy = { ttlMs: 5_000, staleIfErrorMs: 60_000, maxEntries: 10 }) {
  const clock = new ManualClock();
  const health = new StorageHealthState();
  const cache = new RefreshingCache<string>(clock, health, policy);
  let calls = 0;
  let next: () => Promise<string> = async () => `v${calls}`;
  const load = () => {
    calls += 1;
    return next();
  };
  return {
    clock,
    health,
    cache,
    load,
    calls: () => calls,
    fail: () => {
      next = async () => {
        throw new StorageUnavailableError('down');
      };
    },
    recover: () => {
      next = async () => `v${calls}`;
    },
  };
}

describe('RefreshingCache', () => {
  it('serves a value for the TTL, then reads it again', async () => {
    const s = setup();
    assert.deepEqual(await s.cache.get('k', s.load), { value: 'v1', cached: false });
    s.clock.advance(4_999);
    assert.deepEqual(await s.cache.get('k', s.load), { value: 'v1', cached: true });
    s.clock.advance(1);
    assert.deepEqual(await s.cache.get('k', s.load), { value: 'v2', cached: false });
    assert.equal(s.calls(), 2);
  });

  it('serves the last value while the database is unavailable, within the stale-if-error bound only', async () => {
    const s = setup();
    await s.cache.get('k', s.load);
    s.fail();
    s.clock.advance(10_000);
    // The read fails with StorageUnavailableError: the stale value is answered instead.
    assert.deepEqual(await s.cache.get('k', s.load), { value: 'v1', cached: true });
    assert.equal(s.calls(), 2);
    // Known to be down: no read that would only time out.
    s.health.markDown('down');
    assert.deepEqual(await s.cache.get('k', s.load), { value: 'v1', cached: true });
    assert.equal(s.calls(), 2);
    // Past the bound (60 s after it was read) the failure shows.
    s.clock.advance(50_000);
    await assert.rejects(s.cache.get('k', s.load), StorageUnavailableError);
    s.health.markUp();
    s.recover();
    assert.equal((await s.cache.get('k', s.load)).cached, false);
  });

  it('never falls back for a fresh read, for other errors, or with stale-if-error off', async () => {
    const s = setup();
    await s.cache.get('k', s.load);
    s.fail();
    await assert.rejects(s.cache.get('k', s.load, { fresh: true }), StorageUnavailableError);
    const off = setup({ ttlMs: 5_000, staleIfErrorMs: 0, maxEntries: 10 });
    await off.cache.get('k', off.load);
    off.fail();
    off.clock.advance(10_000);
    await assert.rejects(off.cache.get('k', off.load), StorageUnavailableError);
    const other = setup();
    await other.cache.get('k', other.load);
    other.clock.advance(10_000);
    await assert.rejects(
      other.cache.get('k', async () => {
        throw new TypeError('a bug');
      }),
      TypeError,
    );
  });

  it('does not cache values `keep` refuses (unknown ids), and shares one read between concurrent callers', async () => {
    const s = setup();
    await s.cache.get('missing', s.load, { keep: () => false });
    await s.cache.get('missing', s.load, { keep: () => false });
    assert.equal(s.calls(), 2);
    const [a, b] = await Promise.all([s.cache.get('k', s.load), s.cache.get('k', s.load)]);
    assert.equal(a.value, b.value);
    assert.equal(s.calls(), 3);
  });
});
