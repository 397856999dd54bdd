import type { Clock } from '../domain/clock.ts';
import { type RateCounterStore, StorageUnavailableError } from '../domain/storage.ts';
import { throttleSource } from './source-address.ts';

export interface FailureLimits {
  /** Failures allowed per (client id, source address) in one window. */
  pair: number;
  /** Failures allowed per source address, whatever the client id. */
  source: number;
  /** Failures allowed per client id from every source together: a ceiling above `pair`. */
  client: number;
  windowMs: number;
}

const MAX_BLOCKED_KEYS = 100_000;

/**
 * Counts failed client authentications in fixed windows shared by every worker and node (one
 * multi-row upsert per failure), so a configured limit is the deployment's limit.
 *
 * Only failing attempts are ever slowed: a request whose credentials verify is answered before
 * the throttle is consulted. Client secrets are 256 random bits, so a limit exists to stop abuse
 * and noise, not guessing; a lockout by client id (which is public) would only be a tool for
 * denying service to the real client. Once a key is known to be over its limit in a window,
 * further failures on it are answered from memory without another write.
 */
export class FailureThrottle {
  /** Key hash → end of the window in which it is over its limit. */
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly counters: RateCounterStore,
    private readonly clock: Clock,
    private readonly limits: FailureLimits,
    /** Keys are stored keyed-hashed: client ids and addresses are not readable from the database. */
    private readonly hashKey: (key: string) => string,
  ) {}

  /**
   * Counts one failure of `clientId` (possibly unknown) from `sourceAddress` and returns the
   * seconds the caller should wait when a limit is now exceeded, or 0 while under every limit.
   * When the database is unavailable nothing is counted and 0 is returned: the caller still
   * refuses the credential, it only cannot say how long to wait.
   */
  async recordFailure(envId: string, clientId: string, sourceAddress: string): Promise<number> {
    const now = this.clock.now();
    const windowStart = now - (now % this.limits.windowMs);
    const windowEnd = windowStart + this.limits.windowMs;
    const source = throttleSource(sourceAddress);
    const keys = [
      { keyHash: this.hashKey(`auth:${envId}:pair:${clientId}\u0000${source}`), limit: this.limits.pair },
      { keyHash: this.hashKey(`auth:${envId}:source:${source}`), limit: this.limits.source },
      { keyHash: this.hashKey(`auth:${envId}:client:${clientId}`), limit: this.limits.client },
    ];
    const wait = Math.max(1, Math.ceil((windowEnd - now) / 1000));
    if (keys.some((k) => (this.blocked.get(k.keyHash) ?? 0) > now)) return wait;
    let counts: Map<string, number>;
    try {
      counts = await this.counters.add(keys.map((k) => ({ keyHash: k.keyHash, windowStart, delta: 1 })));
    } catch (error) {
      if (error instanceof StorageUnavailableError) return 0;
      throw error;
    }
    let over = false;
    for (const key of keys) {
      if ((counts.get(key.keyHash) ?? 0) <= key.limit) continue;
      over = true;
      if (this.blocked.size >= MAX_BLOCKED_KEYS) this.blocked.delete(this.blocked.keys().next().value as string);
      this.blocked.set(key.keyHash, windowEnd);
    }
    return over ? wait : 0;
  }
}
