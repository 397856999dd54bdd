import type { Clock } from '../../domain/clock.ts';
import type { RateCounterStore } from '../../domain/storage.ts';
import { throttleSource } from '../source-address.ts';

/**
 * Attempts at the verification page's code form, per fixed window. Every attempt counts, before
 * its code is looked at (so parallel attempts all count), in the shared rate counters (so the
 * limits hold for the whole deployment).
 *
 * Why guessing is infeasible (RFC 8628 §5.1): there are 20^8 ≈ 2.56e10 user codes. One source
 * address (an IPv6 /64) gets at most SOURCE_LIMIT = 20 attempts per 10-minute window; a device
 * code lives `expires_in` seconds (600 by default, at most 1800), which overlaps at most
 * ceil(expires_in / 600) + 1 windows: 2 by default, so ≤ 40 attempts, and ≤ 80 at the maximum.
 * With N codes pending in the environment at once, a source's chance of hitting any of them
 * within one expires_in is at most 40·N / 2.56e10 ≈ 1.6e-9·N: 1.6e-9 for one pending code,
 * 1.6e-5 even with 10,000 pending at the same time. One browser session gets SESSION_LIMIT = 5.
 */
export const USER_CODE_WINDOW_MS = 10 * 60 * 1000;
export const USER_CODE_SOURCE_LIMIT = 20;
export const USER_CODE_SESSION_LIMIT = 5;

export class UserCodeThrottle {
  constructor(
    private readonly counters: RateCounterStore,
    private readonly clock: Clock,
    /** Keys are stored keyed-hashed: addresses and session ids are not readable from the database. */
    private readonly hashKey: (key: string) => string,
  ) {}

  /**
   * Counts one attempt of the browser session `sessionIdHash` from `sourceAddress`: 0 while both
   * are within their limits, else the seconds until the window ends (the attempt must be refused
   * without looking at its code). An unavailable database is the caller's 503.
   */
  async attempt(envId: string, sessionIdHash: string, sourceAddress: string): Promise<number> {
    const now = this.clock.now();
    const windowStart = now - (now % USER_CODE_WINDOW_MS);
    const keys = [
      { keyHash: this.hashKey(`user_code:${envId}:session:${sessionIdHash}`), limit: USER_CODE_SESSION_LIMIT },
      { keyHash: this.hashKey(`user_code:${envId}:source:${throttleSource(sourceAddress)}`), limit: USER_CODE_SOURCE_LIMIT },
    ];
    const counts = await this.counters.add(keys.map((k) => ({ keyHash: k.keyHash, windowStart, delta: 1 })));
    const over = keys.some((k) => (counts.get(k.keyHash) ?? 0) > k.limit);
    return over ? Math.max(1, Math.ceil((windowStart + USER_CODE_WINDOW_MS - now) / 1000)) : 0;
  }
}
