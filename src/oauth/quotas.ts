import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.ts';
import { type EventSink, NO_EVENTS } from '../domain/events.ts';
import { type Client, type Environment, selfRegistration } from '../domain/model.ts';
import type { RateCounterStore, StorageHealth } from '../domain/storage.ts';
import { OAuthError } from './errors.ts';
import type { RateLimitState } from './rate-limit.ts';

export type { RateLimitState };

interface QuotaEntry {
  keyHash: string;
  /** Start of the window the counts below belong to. */
  windowStart: number;
  /** The deployment's count for the window at the last sync (this node's flushed requests included). */
  shared: number;
  /** Requests this node admitted since its last sync, less those given back. */
  pending: number;
}

const MAX_ENTRIES = 100_000;

const entryKey = (env: Environment, client: Client): string => `${env.id}\u0000${client.clientId}`;
const MAX_BATCH = 500;

/**
 * Per-client request quotas (requests per fixed window) without a database round trip per
 * request. Each node admits from what it knows: the deployment's count at its last sync plus what
 * it admitted since. Every `quotaSyncInterval` it adds its new requests to the shared counter
 * (one multi-row upsert for every active client) and learns the others'.
 *
 * A node also syncs at once (without making the request wait) when a client starts a window on
 * it, and when it has admitted a quarter of what it believed the client had left: a burst spread
 * over several nodes is seen by all of them within a database round trip or so.
 *
 * Overshoot bound: within one window, the deployment admits at most the limit plus what the
 * other nodes admit before their next sync, at most one sync interval (each node never admits
 * more than the limit on its own knowledge); while the database is unavailable each node
 * enforces the limit alone, so at most N × limit for N nodes.
 */
export class QuotaLimiter {
  private readonly entries = new Map<string, QuotaEntry>();
  private syncing: Promise<void> | undefined;
  private nextSync: Promise<void> | undefined;
  /** Whether the last sync failed: its warning is logged once, not at every try. */
  private failing = false;

  constructor(
    private readonly counters: RateCounterStore,
    private readonly clock: Clock,
    private readonly windowMs: number,
    private readonly health: StorageHealth,
    /** Keys are stored keyed-hashed: client ids are not readable from the database. */
    private readonly hashKey: (key: string) => string,
    private readonly logger?: Pick<Logger, 'warn' | 'info'>,
    private readonly events: EventSink = NO_EVENTS,
  ) {}

  /**
   * Admits one request of `client`: its state for the response headers, or undefined when
   * neither the client nor its environment sets a quota. Over the quota: `too_many_requests`.
   */
  admit(env: Environment, client: Client): RateLimitState | undefined {
    const limit = client.quota ?? env.defaultQuota;
    if (limit === null) return undefined;
    const now = this.clock.now();
    const windowStart = now - (now % this.windowMs);
    const key = entryKey(env, client);
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
      entry = { keyHash: this.hashKey(`quota:${key}`), windowStart, shared: 0, pending: 0 };
      this.entries.set(key, entry);
    } else if (entry.windowStart !== windowStart) {
      Object.assign(entry, { windowStart, shared: 0, pending: 0 });
    }
    const used = entry.shared + entry.pending;
    const reset = Math.max(1, Math.ceil((windowStart + this.windowMs - now) / 1000));
    const window = this.windowMs / 1000;
    if (used >= limit) {
      this.events.emit({ type: 'client.quota_exceeded', env, clientId: client.clientId, registration: selfRegistration(client) });
      throw new OAuthError('too_many_requests', `the client's quota of ${limit} requests per ${window} s is used up; retry later`, {
        retryAfter: reset,
        reason: 'quota_exceeded',
        rateLimit: { limit, remaining: 0, reset, window },
      });
    }
    entry.pending += 1;
    // An early sync is pointless while the database is known to be down: the interval's will do.
    // The first request of the window on this node (used was 0) or a quarter of what was left.
    if ((used === 0 || entry.pending >= Math.max(1, (limit - entry.shared) / 4)) && this.health.available) void this.sync();
    return { limit, remaining: limit - used - 1, reset, window };
  }

  /**
   * Gives back a request `admit` counted but that turned out not to be the client's (a replayed
   * assertion: anyone holding an old one could otherwise use up the account's quota).
   */
  refund(env: Environment, client: Client): void {
    const entry = this.entries.get(entryKey(env, client));
    const now = this.clock.now();
    // Pending may go below zero when the request was already shared: the next sync subtracts it.
    if (entry && entry.windowStart === now - (now % this.windowMs) && entry.shared + entry.pending > 0) entry.pending -= 1;
  }

  /**
   * Adds what this node admitted since the last sync to the shared counters and learns the
   * deployment's counts. Runs one at a time; a failure keeps the local counts for the next try.
   */
  sync(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.flush().finally(() => {
        this.syncing = undefined;
      });
      return this.syncing;
    }
    // One is running and may have read the counts before this call: one more follows it, shared
    // by every caller until it starts.
    this.nextSync ??= this.syncing.then(() => {
      this.nextSync = undefined;
      return this.sync();
    });
    return this.nextSync;
  }

  private async flush(): Promise<void> {
    const now = this.clock.now();
    const current = now - (now % this.windowMs);
    const active: { entry: QuotaEntry; delta: number }[] = [];
    for (const [key, entry] of this.entries) {
      // Clients idle for a whole window are forgotten; their next request starts afresh.
      if (entry.windowStart < current - this.windowMs) this.entries.delete(key);
      else if (entry.windowStart === current) active.push({ entry, delta: entry.pending });
    }
    for (let i = 0; i < active.length; i += MAX_BATCH) {
      const batch = active.slice(i, i + MAX_BATCH);
      let counts: Map<string, number>;
      try {
        counts = await this.counters.add(batch.map(({ entry, delta }) => ({ keyHash: entry.keyHash, windowStart: current, delta })));
      } catch (error) {
        if (!this.failing) {
          this.failing = true;
          this.logger?.warn({ reason: (error as Error).message }, 'could not share quota counts; enforcing them on this node alone until the database answers');
        }
        return;
      }
      if (this.failing) {
        this.failing = false;
        this.logger?.info('quota counts are shared again');
      }
      for (const { entry, delta } of batch) {
        // A request admitted while the statement ran stays pending for the next sync.
        if (entry.windowStart !== current) continue;
        entry.pending -= delta;
        entry.shared = counts.get(entry.keyHash) ?? entry.shared;
      }
    }
  }
}
