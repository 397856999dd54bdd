import type { Clock } from '../domain/clock.ts';
import type { Client, ClientSecret } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import type { DocumentClientLookup } from './client-metadata-documents/wiring.ts';
import { RefreshingCache } from './refreshing-cache.ts';

export interface ClientRecord {
  client: Client | undefined;
  /** Secrets that were active when read; callers re-check `expiresAt` against the clock. */
  secrets: ClientSecret[];
}

/**
 * Clients and their secrets, cached per node for `ttlMs` so a token request needs no database
 * read. What another node changes (a disabled client, new scopes) is seen here within `ttlMs`;
 * a secret that does not match the cached ones is looked up again at once, so a rotated-in
 * secret works immediately. Unknown ids are never cached. Bounded: the oldest entries go first.
 * While the database is unavailable a client read within `staleIfErrorMs` is still served.
 */
export class ClientCache {
  private readonly cache: RefreshingCache<ClientRecord>;

  constructor(
    private readonly store: Pick<Store, 'clients' | 'health'>,
    private readonly clock: Clock,
    ttlMs: number,
    staleIfErrorMs = 0,
    maxEntries = 10_000,
    private readonly documents?: DocumentClientLookup,
  ) {
    this.cache = new RefreshingCache(clock, store.health, { ttlMs, staleIfErrorMs, maxEntries });
  }

  /** The client and its secrets, and whether they came from the cache; `fresh` bypasses it (and refills it). */
  async get(envId: string, clientId: string, fresh = false): Promise<ClientRecord & { cached: boolean }> {
    const { value, cached } = await this.cache.get(`${envId}\u0000${clientId}`, () => this.load(envId, clientId), {
      fresh,
      keep: (record) => record.client !== undefined,
    });
    if (value.client === undefined && this.documents) {
      // A stored client keeps its id; only an unknown https id is looked up as a metadata
      // document (draft-ietf-oauth-client-id-metadata-document §5), under its own cache.
      const client = await this.documents.find(envId, clientId);
      if (client) return { client, secrets: [], cached: false };
    }
    return { ...value, cached };
  }

  /** Holds a client record read at `loadedAt` (a warm start); see `RefreshingCache.prime`. */
  prime(envId: string, clientId: string, record: ClientRecord, loadedAt: number): void {
    if (record.client) this.cache.prime(`${envId}\u0000${clientId}`, record, loadedAt);
  }

  /** Forgets one client (after this node changed it). */
  invalidate(envId: string, clientId: string): void {
    this.cache.invalidate(`${envId}\u0000${clientId}`);
  }

  /**
   * Replaces an imported secret's legacy hash by Gatehouse's own after its first successful use
   * (only if it still holds `legacyHash`), and forgets the cached client so the next request reads it.
   */
  async replaceSecretHash(envId: string, clientId: string, secretId: string, legacyHash: string, hash: string): Promise<void> {
    await this.store.clients.replaceSecretHash(envId, clientId, secretId, legacyHash, hash);
    this.invalidate(envId, clientId);
  }

  private async load(envId: string, clientId: string): Promise<ClientRecord> {
    // Both reads happen whether or not the id exists, so the work done does not reveal it.
    const now = this.clock.now();
    const [client, secrets] = await Promise.all([this.store.clients.find(envId, clientId), this.store.clients.activeSecrets(envId, clientId, now)]);
    return { client, secrets };
  }
}
