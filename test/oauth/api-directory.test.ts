import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Api } from '../../src/domain/model.ts';
import { StorageUnavailableError, type Store } from '../../src/domain/storage.ts';
import { API_MISS_REREAD_MS, ApiDirectory } from '../../src/oauth/apis.ts';

const api = (identifier: string): Api => ({ identifier }) as Api;
const covers = (identifier: string) => (apis: readonly Api[]) => apis.some((a) => a.identifier === identifier);

/** A store whose API list is `apis`, or fails as an unreachable database does while `down`. */
function fakeStore() {
  const state = { apis: [api('https://a.example')], down: false, reads: 0 };
  const store = {
    apis: {
      list: async () => {
        state.reads++;
        if (state.down) throw new StorageUnavailableError('database unreachable');
        return [...state.apis];
      },
    },
    health: { available: true, reason: undefined, onChange: () => () => undefined },
  } as unknown as Pick<Store, 'apis' | 'health'>;
  return { store, state };
}

describe('the API directory read again on a miss', () => {
  it('finds an API created elsewhere at once, and re-reads at most once a second per environment', async () => {
    const { store, state } = fakeStore();
    const clock = new ManualClock(0);
    const directory = new ApiDirectory(store, clock, 60_000);
    assert.equal((await directory.list('env')).length, 1);
    state.apis.push(api('https://b.example'));
    assert.ok(covers('https://b.example')(await directory.listCovering('env', covers('https://b.example'))));
    assert.equal(state.reads, 2);
    // Within the second: a miss is judged on the cached list, with no read.
    await directory.listCovering('env', covers('https://made-up.example'));
    assert.equal(state.reads, 2);
    // The list read on the miss is what the cache serves from then on.
    assert.equal((await directory.list('env')).length, 2);
    assert.equal(state.reads, 2);
    clock.advance(API_MISS_REREAD_MS);
    await directory.listCovering('env', covers('https://made-up.example'));
    assert.equal(state.reads, 3);
  });

  it('a miss read that fails leaves the cached list serving every other request (no stale-if-error needed)', async () => {
    const { store, state } = fakeStore();
    const clock = new ManualClock(0);
    const directory = new ApiDirectory(store, clock, 60_000, 0);
    await directory.list('env');
    state.down = true;
    // The request that missed is judged on the cached list.
    assert.deepEqual(
      (await directory.listCovering('env', covers('https://made-up.example'))).map((a) => a.identifier),
      ['https://a.example'],
    );
    // And the cache still answers, without a read, until its time-to-live ends.
    const reads = state.reads;
    clock.advance(30_000);
    assert.deepEqual(
      (await directory.list('env')).map((a) => a.identifier),
      ['https://a.example'],
    );
    assert.equal(state.reads, reads);
  });
});
