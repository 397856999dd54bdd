import type { Clock } from '../../domain/clock.ts';
import type { RateCounterStore } from '../../domain/storage.ts';
import { OAuthError } from '../errors.ts';
import { throttleSource } from '../source-address.ts';

const WINDOW_MS = 60 * 60 * 1000;

/**
 * Per-source limit on registration requests: a fixed hourly window per environment and source
 * address (an IPv6 /64 counts as one source), counted in the shared rate counters so the limit
 * holds for the whole deployment. Every request counts, accepted or refused: registration
 * creates state, so it is the volume, not the failures, that is limited.
 */
export class RegistrationLimiter {
  constructor(
    private readonly counters: RateCounterStore,
    private readonly clock: Clock,
    /** Keys are stored keyed-hashed: addresses are not readable from the database. */
    private readonly hashKey: (key: string) => string,
  ) {}

  /** Counts one request; throws 429 `too_many_requests` with `Retry-After` when over `limit`. */
  async admit(envId: string, sourceAddress: string, limit: number): Promise<void> {
    const now = this.clock.now();
    const windowStart = now - (now % WINDOW_MS);
    const keyHash = this.hashKey(`register:${envId}:source:${throttleSource(sourceAddress)}`);
    const counts = await this.counters.add([{ keyHash, windowStart, delta: 1 }]);
    if ((counts.get(keyHash) ?? 0) <= limit) return;
    const retryAfter = Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000));
    throw new OAuthError('too_many_requests', 'too many registration requests from this address; retry later', { retryAfter, status: 429 });
  }
}
