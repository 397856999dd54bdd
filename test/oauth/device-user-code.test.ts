import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/domain/clock.ts';
import type { RateCounterIncrement, RateCounterStore } from '../../src/domain/storage.ts';
import { formatUserCode, generateUserCode, normalizeUserCode, USER_CODE_ALPHABET } from '../../src/oauth/device/user-code.ts';
import { USER_CODE_SESSION_LIMIT, USER_CODE_SOURCE_LIMIT, UserCodeThrottle } from '../../src/oauth/device/user-code-throttle.ts';

const code = fc.array(fc.constantFrom(...USER_CODE_ALPHABET), { minLength: 8, maxLength: 8 }).map((chars) => chars.join(''));

/** Rate counters in memory, with the store's window semantics. */
class MemoryCounters implements RateCounterStore {
  private readonly counts = new Map<string, { windowStart: number; count: number }>();
  async add(increments: readonly RateCounterIncrement[]): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    for (const { keyHash, windowStart, delta } of increments) {
      const current = this.counts.get(keyHash);
      const next = current && current.windowStart === windowStart ? current.count + delta : delta;
      this.counts.set(keyHash, { windowStart, count: next });
      result.set(keyHash, next);
    }
    return result;
  }
  async deleteExpired(): Promise<number> {
    return 0;
  }
}

describe('user codes (RFC 8628 §6.1)', () => {
  it('are 8 letters of the 20-consonant alphabet, shown as XXXX-XXXX', () => {
    for (let i = 0; i < 500; i++) {
      const generated = generateUserCode();
      assert.match(generated, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
      assert.match(formatUserCode(generated), /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    }
  });

  it('read back whatever the case, dashes and spaces', () => {
    fc.assert(
      fc.property(code, fc.boolean(), fc.boolean(), (c, lower, spaced) => {
        let typed = formatUserCode(c);
        if (lower) typed = typed.toLowerCase();
        if (spaced) typed = ` ${typed.replace('-', ' - ')} `;
        assert.equal(normalizeUserCode(typed), c);
      }),
    );
  });

  it('refuse anything that cannot be a code', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (typed) => {
        const normalized = normalizeUserCode(typed);
        if (normalized !== undefined) assert.match(normalized, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
      }),
    );
    for (const typed of ['', 'BCDF-GHJ', 'BCDF-GHJKL', 'ABCD-EFGH', 'BCDF-GHJ1', 'BCDF_GHJK']) assert.equal(normalizeUserCode(typed), undefined, typed);
  });
});

describe('user code throttle', () => {
  it('refuses past the per-session limit, then lets the session try again in the next window', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const throttle = new UserCodeThrottle(new MemoryCounters(), clock, (k) => k);
    for (let i = 0; i < USER_CODE_SESSION_LIMIT; i++) assert.equal(await throttle.attempt('env', 'session', '192.0.2.1'), 0);
    assert.equal(await throttle.attempt('env', 'session', '192.0.2.1'), 600);
    assert.equal(await throttle.attempt('env', 'other session', '192.0.2.1'), 0);
    clock.advance(600_000);
    assert.equal(await throttle.attempt('env', 'session', '192.0.2.1'), 0);
  });

  it('refuses past the per-source limit across sessions, counting an IPv6 /64 as one source', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const throttle = new UserCodeThrottle(new MemoryCounters(), clock, (k) => k);
    for (let i = 0; i < USER_CODE_SOURCE_LIMIT; i++) assert.equal(await throttle.attempt('env', `s${i}`, `2001:db8::${i + 1}`), 0);
    assert.ok((await throttle.attempt('env', 'fresh', '2001:db8::ffff')) > 0);
    assert.equal(await throttle.attempt('env', 'fresh', '2001:db8:1::1'), 0);
  });
});
