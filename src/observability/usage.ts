import type { Clock } from '../domain/clock.ts';
import type { CoreEvent, EventListener } from '../domain/events.ts';
import type { LastUse, TokenCount, UsageBatch, UsageStore, UsageSubject } from '../domain/storage.ts';

/** The UTC date of `ms` as `YYYY-MM-DD`, the day a token count belongs to. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

const DAY_MS = 86_400_000;

export interface UsageRecorderOptions {
  /**
   * Most distinct entries (last uses plus day counts) held between two flushes, a batch kept
   * after a failed flush included. Reaching it starts a flush at once; only when that cannot help
   * (a flush is under way or the database is failing) is a new entry dropped, and counted.
   */
  maxEntries?: number;
  /** Told how many entries were dropped since the last report, at the next flush. */
  onDropped?: (count: number) => void;
  /** Told why an early flush (started by reaching `maxEntries`) failed; its batch is kept. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_MAX_USAGE_ENTRIES = 50_000;

/**
 * Last-use times and daily token counts of one node, gathered in memory from core events and
 * written in one batch per flush, so a token request never waits for a usage write. A batch the
 * database refused is merged into the next one: nothing is lost while the database blinks.
 */
export class UsageRecorder {
  private lastUses = new Map<string, LastUse>();
  private counts = new Map<string, TokenCount>();
  private inFlight: Promise<void> | undefined;
  private failing = false;
  private dropped = 0;
  private readonly maxEntries: number;
  private day = { start: Number.NEGATIVE_INFINITY, text: '' };

  constructor(
    private readonly store: Pick<UsageStore, 'record'>,
    private readonly clock: Clock,
    private readonly options: UsageRecorderOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_USAGE_ENTRIES;
  }

  /** The core-event listener: O(1) map updates, no I/O. */
  readonly listener: EventListener = (event: CoreEvent) => {
    if (event.type === 'token.issued') {
      const now = this.clock.now();
      this.markUsed('client', event.env.id, event.clientId, now);
      if (event.credential) this.markUsed(event.credential.kind === 'key' ? 'key' : 'client_secret', event.env.id, event.credential.id, now);
      this.countToken(event.env.id, event.clientId, this.dayOf(now), 1);
    } else if (event.type === 'user.login' && event.outcome === 'success' && event.userId !== undefined) {
      this.markUsed('user', event.env.id, event.userId, this.clock.now());
    }
  };

  /** The UTC day of `now`, formatted once per day rather than once per token. */
  private dayOf(now: number): string {
    if (now < this.day.start || now >= this.day.start + DAY_MS) {
      const start = now - (((now % DAY_MS) + DAY_MS) % DAY_MS);
      this.day = { start, text: utcDay(start) };
    }
    return this.day.text;
  }

  /** Entries waiting for the next flush. */
  get size(): number {
    return this.lastUses.size + this.counts.size;
  }

  /**
   * Writes what was gathered since the last flush as one batch (one transaction). Waits for a
   * flush under way first, so flushes never overlap. Rejects if the database refused the batch,
   * which is then kept for the next flush.
   */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight.catch(() => {}).then(() => this.flush());
    if (this.dropped > 0) {
      this.options.onDropped?.(this.dropped);
      this.dropped = 0;
    }
    if (this.size === 0) return Promise.resolve();
    const batch: UsageBatch = { lastUses: [...this.lastUses.values()], tokenCounts: [...this.counts.values()] };
    this.lastUses = new Map();
    this.counts = new Map();
    const run = Promise.resolve()
      .then(() => this.store.record(batch))
      .then(
        () => {
          this.failing = false;
        },
        (error: unknown) => {
          this.failing = true;
          this.keep(batch);
          throw error;
        },
      )
      .finally(() => {
        if (this.inFlight === run) this.inFlight = undefined;
      });
    this.inFlight = run;
    return run;
  }

  private markUsed(subject: UsageSubject, envId: string, id: string, at: number): void {
    const key = `${subject}\u0000${envId}\u0000${id}`;
    const held = this.lastUses.get(key);
    if (held) held.at = Math.max(held.at, at);
    else if (this.room()) this.lastUses.set(key, { subject, envId, id, at });
  }

  private countToken(envId: string, clientId: string, day: string, count: number): void {
    const key = `${envId}\u0000${clientId}\u0000${day}`;
    const held = this.counts.get(key);
    if (held) held.count += count;
    else if (this.room()) this.counts.set(key, { envId, clientId, day, count });
  }

  /** Whether a new entry fits, starting an early flush to make room if one can help; counts a drop otherwise. */
  private room(): boolean {
    if (this.size < this.maxEntries) return true;
    if (!this.inFlight && !this.failing) {
      this.flush().catch((error: unknown) => this.options.onError?.(error));
      return true;
    }
    this.dropped += 1;
    return false;
  }

  /** Merges a refused batch back (later time, summed counts), within `maxEntries`. */
  private keep(batch: UsageBatch): void {
    for (const use of batch.lastUses) this.markUsed(use.subject, use.envId, use.id, use.at);
    for (const count of batch.tokenCounts) this.countToken(count.envId, count.clientId, count.day, count.count);
  }
}
