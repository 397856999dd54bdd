import type { Clock } from '../clock.ts';
import type { Store } from '../store/store.ts';
import type { Client, ClientSecret } from './model.ts';

export interface ClientRecord {
  client: Client | undefined;
  /** Secrets that were active when read; callers re-check `expiresAt` against the clock. */
  secrets: ClientSecret[];
}

interface Entry {
  value: Promise<ClientRecord>;
  loadedAt: number;
}

/**
 * Clients and their secrets, cached per node for `ttlMs` so a token request needs no database
 * read. What another node changes (a disabled client, new scopes) is seen here within `ttlMs`;
 * a secret that does not match the cached ones is looked up again at once, so a rotated-in
 * secret works immediately. Unknown ids are never cached. Bounded: the oldest entries go first.
 */
export class ClientCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The client and its secrets, and whether they came from the cache; `fresh` bypasses it (and refills it). */
  async get(envId: string, clientId: string, fresh = false): Promise<ClientRecord & { cached: boolean }> {
    const key = `${envId}\u0000${clientId}`;
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (!fresh && hit && now - hit.loadedAt < this.ttlMs) return { ...(await hit.value), cached: true };
    const value = this.load(envId, clientId, now);
    this.entries.delete(key);
    if (this.ttlMs > 0) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, { value, loadedAt: now });
      value.then(
        (record) => {
          if (!record.client && this.entries.get(key)?.value === value) this.entries.delete(key);
        },
        () => this.entries.delete(key),
      );
    }
    return { ...(await value), cached: false };
  }

  /** Forgets one client (after this node changed it). */
  invalidate(envId: string, clientId: string): void {
    this.entries.delete(`${envId}\u0000${clientId}`);
  }

  private async load(envId: string, clientId: string, now: number): Promise<ClientRecord> {
    // Both reads happen whether or not the id exists, so the work done does not reveal it.
    const [client, secrets] = await Promise.all([this.store.clients.find(envId, clientId), this.store.clients.activeSecrets(envId, clientId, now)]);
    return { client, secrets };
  }
}
