import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/domain/clock.ts';
import { DocumentCache } from '../../../src/oauth/client-metadata-documents/document-cache.ts';
import type { FetchOutcome } from '../../../src/oauth/client-metadata-documents/fetcher.ts';
import { maxAgeOf } from '../../../src/oauth/client-metadata-documents/fetcher.ts';
import { validateMetadataDocument } from '../../../src/oauth/client-metadata-documents/validator.ts';
import { DOCUMENT_CACHE_POLICY } from '../../../src/oauth/client-metadata-documents/wiring.ts';

const URL_A = 'https://client.example.com/a.json';
const URL_B = 'https://client.example.com/b.json';
const doc = (clientId: string) => ({ client_id: clientId, redirect_uris: ['https://client.example.com/cb'] });

/** A fetch that answers from a script and counts its calls. */
function scripted(answer: (url: URL) => FetchOutcome | Promise<FetchOutcome>) {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (url: URL) => {
      calls.push(url.href);
      return answer(url);
    },
  };
}

describe('Client ID Metadata Documents: the document cache', () => {
  it('keeps a document for its max-age, clamped to the minimum and maximum', async () => {
    for (const [maxAge, heldMs] of [
      [5, DOCUMENT_CACHE_POLICY.minTtlMs],
      [600, 600_000],
      [10 * 86_400, DOCUMENT_CACHE_POLICY.maxTtlMs],
      [undefined, DOCUMENT_CACHE_POLICY.maxTtlMs],
      [0, DOCUMENT_CACHE_POLICY.minTtlMs],
    ] as const) {
      const clock = new ManualClock();
      const source = scripted((url) => ({ ok: true, document: doc(url.href), maxAge }));
      const cache = new DocumentCache(source.fetch, clock, DOCUMENT_CACHE_POLICY, validateMetadataDocument);
      assert.ok('document' in (await cache.get(new URL(URL_A))));
      clock.advance(heldMs - 1);
      await cache.get(new URL(URL_A));
      assert.equal(source.calls.length, 1, `max-age ${maxAge}: fetched again before ${heldMs} ms`);
      clock.advance(1);
      await cache.get(new URL(URL_A));
      assert.equal(source.calls.length, 2, `max-age ${maxAge}: not fetched again after ${heldMs} ms`);
    }
  });

  it('reads Cache-Control: max-age, no-store and no-cache', () => {
    assert.equal(maxAgeOf('public, max-age=300'), 300);
    assert.equal(maxAgeOf('no-store'), 0);
    assert.equal(maxAgeOf('max-age=300, no-cache'), 0);
    assert.equal(maxAgeOf('max-age=abc'), undefined);
    assert.equal(maxAgeOf(undefined), undefined);
  });

  it('backs off a failing host, doubling up to the maximum, and forgets the failures after a success', async () => {
    const clock = new ManualClock();
    let fail = true;
    const source = scripted((url) => (fail ? { ok: false, reason: 'status 500' } : { ok: true, document: doc(url.href), maxAge: 60 }));
    const cache = new DocumentCache(source.fetch, clock, DOCUMENT_CACHE_POLICY, validateMetadataDocument);
    assert.deepEqual(await cache.get(new URL(URL_A)), { refused: 'status 500', fetchedMs: 0 });
    // Another URL on the same host is not fetched during the backoff.
    assert.deepEqual(await cache.get(new URL(URL_B)), { refused: 'host is backing off after a failed fetch' });
    clock.advance(DOCUMENT_CACHE_POLICY.failureBackoffMs);
    await cache.get(new URL(URL_A));
    clock.advance(DOCUMENT_CACHE_POLICY.failureBackoffMs);
    assert.deepEqual(await cache.get(new URL(URL_A)), { refused: 'host is backing off after a failed fetch' }, 'the second backoff is twice as long');
    clock.advance(DOCUMENT_CACHE_POLICY.maxFailureBackoffMs);
    fail = false;
    assert.ok('document' in (await cache.get(new URL(URL_B))));
    assert.equal(source.calls.length, 3);
  });

  it('fetches one URL once for concurrent callers and refuses more than the per-host limit', async () => {
    const clock = new ManualClock();
    const pending: ((outcome: FetchOutcome) => void)[] = [];
    const source = scripted(() => new Promise<FetchOutcome>((resolve) => pending.push(resolve)));
    const cache = new DocumentCache(source.fetch, clock, { ...DOCUMENT_CACHE_POLICY, perHostConcurrency: 2 }, validateMetadataDocument);
    const first = cache.get(new URL(URL_A));
    const same = cache.get(new URL(URL_A));
    const second = cache.get(new URL(URL_B));
    const third = await cache.get(new URL('https://client.example.com/c.json'));
    assert.deepEqual(third, { refused: 'too many fetches running for this host' });
    assert.equal(source.calls.length, 2);
    for (const [i, resolve] of pending.entries()) resolve({ ok: true, document: doc(i === 0 ? URL_A : URL_B), maxAge: 60 });
    assert.ok('document' in (await first));
    assert.ok('document' in (await same));
    assert.ok('document' in (await second));
  });
});
