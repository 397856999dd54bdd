import type { Clock } from '../domain/clock.ts';
import { type RateCounterStore, StorageUnavailableError } from '../domain/storage.ts';
import { throttleSource } from '../oauth/source-address.ts';

/** Limits on second-factor attempts in one fixed window. */
export interface SecondFactorLimits {
  /** Failures allowed per (user, source address). */
  pair: number;
  /** Failures allowed per source address, whatever the user. */
  source: number;
  /** Failures allowed per user from every source together: a ceiling well above `pair`. */
  user: number;
  windowMs: number;
}

export const DEFAULT_SECOND_FACTOR_LIMITS: SecondFactorLimits = { pair: 5, source: 50, user: 20, windowMs: 15 * 60 * 1000 };

/**
 * Throttles guesses of one-time and recovery codes (a 6-digit code can be guessed, unlike a
 * client secret). Each attempt is counted before the code is checked, in counters shared by every
 * node, so parallel guesses all count; a correct code gives its count back. The per-user ceiling
 * bounds a guesser using many addresses; it can only ever hold up codes: a passkey is never
 * throttled here, so no one can lock the real user out of the stronger factor.
 */
export class SecondFactorThrottle {
  constructor(
    private readonly counters: RateCounterStore,
    private readonly clock: Clock,
    private readonly limits: SecondFactorLimits,
    /** Keys are stored keyed-hashed: user ids and addresses are not readable from the database. */
    private readonly hashKey: (key: string) => string,
  ) {}

  private keys(envId: string, userId: string, sourceAddress: string) {
    const source = throttleSource(sourceAddress);
    return [
      { keyHash: this.hashKey(`mfa:${envId}:pair:${userId}\u0000${source}`), limit: this.limits.pair },
      { keyHash: this.hashKey(`mfa:${envId}:source:${source}`), limit: this.limits.source },
      { keyHash: this.hashKey(`mfa:${envId}:user:${userId}`), limit: this.limits.user },
    ];
  }

  private window(): { windowStart: number; wait: number } {
    const now = this.clock.now();
    const windowStart = now - (now % this.limits.windowMs);
    return { windowStart, wait: Math.max(1, Math.ceil((windowStart + this.limits.windowMs - now) / 1000)) };
  }

  /**
   * Counts one attempt; returns the seconds to wait when a limit is exceeded (the code must then
   * not be checked), or 0. When the database is unavailable the attempt is refused (a wait of 5 s):
   * an uncounted guess is never checked.
   */
  async attempt(envId: string, userId: string, sourceAddress: string): Promise<number> {
    const { windowStart, wait } = this.window();
    const keys = this.keys(envId, userId, sourceAddress);
    try {
      const counts = await this.counters.add(keys.map((k) => ({ keyHash: k.keyHash, windowStart, delta: 1 })));
      return keys.some((k) => (counts.get(k.keyHash) ?? 0) > k.limit) ? wait : 0;
    } catch (error) {
      if (error instanceof StorageUnavailableError) return 5;
      throw error;
    }
  }

  /** A correct code: its attempt is given back, so a user's own sign-ins never use up the limits. */
  async succeeded(envId: string, userId: string, sourceAddress: string): Promise<void> {
    const { windowStart } = this.window();
    const keys = this.keys(envId, userId, sourceAddress);
    await this.counters.add(keys.map((k) => ({ keyHash: k.keyHash, windowStart, delta: -1 }))).catch(() => undefined);
  }
}
