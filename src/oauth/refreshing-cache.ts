import type { Clock } from '../domain/clock.ts';
import { type StorageHealth, StorageUnavailableError } from '../domain/storage.ts';

export interface CachePolicy {
  /** How long a loaded value is served before it is read again. 0: never cached. */
  ttlMs: number;
  /**
   * How long past its load a value may still be served while the database is unavailable
   * (stale-if-error, as RFC 5861 names it for HTTP caches). 0: never.
   */
  staleIfErrorMs: number;
  /** Bound on the number of entries; the oldest go first. */
  maxEntries: number;
}

interface Settled<V> {
  value: V;
  loadedAt: number;
}

interface Entry<V> {
  /** The load in flight or done. */
  value: Promise<V>;
  loadedAt: number;
  /** The last value a load returned, for stale-if-error. */
  last: Settled<V> | undefined;
}

/**
 * Values read from storage, each kept for `ttlMs`. While the database is unavailable a value
 * loaded within `staleIfErrorMs` is served at once instead of waiting for a read that will time
 * out: a node keeps issuing tokens to known clients and publishing its keys through an outage.
 */
export class RefreshingCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly clock: Clock,
    private readonly health: StorageHealth,
    private readonly policy: CachePolicy,
  ) {}

  /**
   * The value for `key` and whether it came from the cache. `fresh` reads storage whatever the
   * cache holds (and refills it) and never falls back to a stale value. A loaded value for which
   * `keep` is false is not cached (unknown ids, so they cost the same read every time).
   */
  async get(key: string, load: () => Promise<V>, options: { fresh?: boolean; keep?: (value: V) => boolean } = {}): Promise<{ value: V; cached: boolean }> {
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (!options.fresh && hit) {
      const stale = this.usableStale(hit.last, now);
      if (now - hit.loadedAt < this.policy.ttlMs) {
        try {
          return { value: await hit.value, cached: true };
        } catch (error) {
          if (stale && error instanceof StorageUnavailableError) return { value: stale.value, cached: true };
          throw error;
        }
      }
      // Known to be unavailable: no read that would only time out.
      if (stale && !this.health.available) return { value: stale.value, cached: true };
    }
    const last = hit?.last;
    const value = load();
    if (this.policy.ttlMs > 0) {
      this.entries.delete(key);
      if (this.entries.size >= this.policy.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      const entry: Entry<V> = { value, loadedAt: now, last };
      this.entries.set(key, entry);
      value.then(
        (loaded) => {
          if (options.keep && !options.keep(loaded)) {
            if (this.entries.get(key) === entry) this.entries.delete(key);
          } else {
            entry.last = { value: loaded, loadedAt: now };
          }
        },
        () => {
          // Keep the entry only as a holder of its stale value; it is expired, so the next get reads again.
          if (this.entries.get(key) !== entry) return;
          if (entry.last) entry.loadedAt = Number.NEGATIVE_INFINITY;
          else this.entries.delete(key);
        },
      );
    }
    try {
      return { value: await value, cached: false };
    } catch (error) {
      const stale = options.fresh ? undefined : this.usableStale(last, now);
      if (stale && error instanceof StorageUnavailableError) return { value: stale.value, cached: true };
      throw error;
    }
  }

  /**
   * Holds `value` for `key` as if read from storage at `loadedAt` (a warm start: what another
   * process read then). It is served like any loaded value: for `ttlMs` after `loadedAt`, and
   * while the database is unavailable for `staleIfErrorMs` after it. A key loaded since is kept.
   */
  prime(key: string, value: V, loadedAt: number): void {
    const hit = this.entries.get(key);
    if (this.policy.ttlMs <= 0 || (hit && hit.loadedAt >= loadedAt)) return;
    this.entries.delete(key);
    if (this.entries.size >= this.policy.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value: Promise.resolve(value), loadedAt, last: { value, loadedAt } });
  }

  /**
   * Holds `value` for `key` as read from storage at `loadedAt`, in place of whatever the cache
   * held: for a caller that read storage itself and, only on success, keeps what it read.
   */
  replace(key: string, value: V, loadedAt: number): void {
    if (this.policy.ttlMs <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.policy.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value: Promise.resolve(value), loadedAt, last: { value, loadedAt } });
  }

  /** Forgets one key (after this node changed what it holds). */
  invalidate(key: string): void {
    this.entries.delete(key);
  }

  private usableStale(last: Settled<V> | undefined, now: number): Settled<V> | undefined {
    return last && now - last.loadedAt < this.policy.staleIfErrorMs ? last : undefined;
  }
}
