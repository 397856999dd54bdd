import type { Clock } from '../../domain/clock.ts';
import type { EventSink } from '../../domain/events.ts';
import type { Client, Environment } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import type { OAuthPolicy } from '../policy.ts';
import { RefreshingCache } from '../refreshing-cache.ts';
import { systemResolver } from './address-policy.ts';
import { looksLikeClientIdUrl } from './client-id-url.ts';
import { DocumentCache, type DocumentCachePolicy } from './document-cache.ts';
import { MetadataDocumentClients } from './document-clients.ts';
import { type FetchDeps, fetchMetadataDocument } from './fetcher.ts';
import { validateKeySet } from './key-set.ts';
import { validateMetadataDocument } from './validator.ts';

/** Finds the client a metadata document URL names in an environment (by id), if it accepts them. */
export interface DocumentClientLookup {
  find(envId: string, clientId: string): Promise<Client | undefined>;
}

/** What tests (or an operator's private CA) may put in place of the system's resolver and trust store. */
export type MetadataDocumentFetchDeps = Partial<FetchDeps>;

/** Fixed bounds: documents live 1 minute to 1 day in the cache; 2 fetches per host; backoff 5 s doubling to 5 min. */
export const DOCUMENT_CACHE_POLICY: DocumentCachePolicy = Object.freeze({
  minTtlMs: 60_000,
  maxTtlMs: 86_400_000,
  perHostConcurrency: 2,
  failureBackoffMs: 5_000,
  maxFailureBackoffMs: 300_000,
  maxEntries: 10_000,
});

/** The longest a client's `jwks_uri` key set is kept: 10 minutes (less when its Cache-Control says so). */
export const KEY_SET_MAX_TTL_MS = 600_000;

/**
 * Wires Client ID Metadata Document clients for the client cache: the environment is read by id
 * (from the list of environments, cached like the rest) so its settings decide whether the
 * document is used at all.
 */
export function documentClientLookup(
  policy: OAuthPolicy['clientMetadataDocuments'],
  store: Pick<Store, 'environments' | 'health'>,
  clock: Clock,
  events: EventSink,
  options: { cacheTtlMs: number; staleIfErrorMs: number; fetch?: MetadataDocumentFetchDeps | undefined; cachePolicy?: DocumentCachePolicy },
): DocumentClientLookup {
  const fetchDeps: FetchDeps = { resolve: options.fetch?.resolve ?? systemResolver, ca: options.fetch?.ca };
  const limits = { maxBytes: policy.maxBytes, connectTimeoutMs: policy.timeoutMs, totalTimeoutMs: policy.timeoutMs, allowLoopback: policy.allowLoopback };
  const fetch = (url: URL) => fetchMetadataDocument(url, limits, fetchDeps);
  const cachePolicy = options.cachePolicy ?? DOCUMENT_CACHE_POLICY;
  const documents = new DocumentCache(fetch, clock, cachePolicy, validateMetadataDocument);
  // A private_key_jwt client's published keys: fetched under the same bounds, kept at most
  // KEY_SET_MAX_TTL_MS, so a key the client withdraws stops working soon.
  const keySets = new DocumentCache(fetch, clock, { ...cachePolicy, maxTtlMs: Math.min(cachePolicy.maxTtlMs, KEY_SET_MAX_TTL_MS) }, validateKeySet);
  const clients = new MetadataDocumentClients(documents, keySets, clock, events);
  const environments = new RefreshingCache<Map<string, Environment>>(clock, store.health, {
    ttlMs: Math.max(options.cacheTtlMs, 1000),
    staleIfErrorMs: options.staleIfErrorMs,
    maxEntries: 1,
  });
  return {
    async find(envId, clientId) {
      if (!looksLikeClientIdUrl(clientId)) return undefined;
      const { value } = await environments.get('all', async () => new Map((await store.environments.list()).map((e) => [e.id, e])));
      const env = value.get(envId);
      return env ? clients.find(env, clientId) : undefined;
    },
  };
}
