import type { Clock } from '../clock.ts';

/**
 * Counts failed client authentications per key (client id, source address) in fixed windows.
 * In memory and per process: each node throttles on its own. Bounded in size: when full, the
 * oldest windows are dropped first.
 */
export class FailureThrottle {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** Seconds until `key` may try again, or 0 when it is not blocked. */
  retryAfter(key: string): number {
    const entry = this.windows.get(key);
    if (!entry) return 0;
    const elapsed = this.clock.now() - entry.start;
    if (elapsed >= this.windowMs) {
      this.windows.delete(key);
      return 0;
    }
    return entry.count >= this.limit ? Math.max(1, Math.ceil((this.windowMs - elapsed) / 1000)) : 0;
  }

  /** Counts one failure. Called before the answer is sent, so parallel attempts all count. */
  recordFailure(key: string): void {
    const now = this.clock.now();
    const entry = this.windows.get(key);
    if (entry && now - entry.start < this.windowMs) {
      entry.count += 1;
      return;
    }
    if (this.windows.size >= this.maxEntries) {
      const oldest = this.windows.keys().next();
      if (!oldest.done) this.windows.delete(oldest.value);
    }
    this.windows.set(key, { start: now, count: 1 });
  }
}
