import type { Clock } from '../domain/clock.ts';
import type { Api, Environment, SigningKey } from '../domain/model.ts';
import { StorageUnavailableError, type Store } from '../domain/storage.ts';
import type { ClientRecord } from '../oauth/client-cache.ts';
import type { OAuthCore } from '../oauth/core.ts';
import type { EnvironmentResolver } from '../oauth/environments.ts';

/**
 * What a node needs to answer its usual traffic without the database: every environment, its
 * published keys and APIs, and the clients used lately with their secrets. Plain data, so the
 * primary process can hand it to a worker it starts (over the cluster's IPC channel).
 */
export interface WarmSnapshot {
  /** When it was read (epoch ms): its entries are as old as this, for the caches' stale-if-error bound. */
  takenAt: number;
  environments: Environment[];
  keys: { envId: string; keys: SigningKey[] }[];
  apis: { envId: string; apis: Api[] }[];
  clients: { envId: string; clientId: string; record: ClientRecord }[];
  /** False when the time budget ran out first: the most recently used clients came first. */
  complete: boolean;
}

export interface WarmLimits {
  /** Clients used within this many milliseconds are loaded. */
  usedWithinMs: number;
  /** Most clients loaded, across environments, the most recently used first (the caches' bound). */
  maxClients: number;
  /** Wall-clock budget of the whole read, in milliseconds: a slow database delays readiness by at most this. */
  budgetMs: number;
}

/** A day: the clients a node loads before it reports ready are those used within it. */
export const WARM_CLIENTS_USED_WITHIN_MS = 24 * 3600 * 1000;

/** Client records read at once while warming. */
const CONCURRENCY = 8;

/**
 * Reads a warm snapshot, bounded by `limits` (time and count). Undefined when the database
 * cannot be reached: a node then starts cold, as before.
 */
export async function takeWarmSnapshot(
  store: Pick<Store, 'environments' | 'signingKeys' | 'apis' | 'usage' | 'clients'>,
  clock: Clock,
  limits: WarmLimits,
): Promise<WarmSnapshot | undefined> {
  const started = performance.now();
  const late = () => performance.now() - started > limits.budgetMs;
  const takenAt = clock.now();
  try {
    const environments = await store.environments.list();
    const snapshot: WarmSnapshot = { takenAt, environments, keys: [], apis: [], clients: [], complete: true };
    const recent: { envId: string; clientId: string; at: number }[] = [];
    for (const env of environments) {
      if (late()) return { ...snapshot, complete: false };
      const [keys, apis, used] = await Promise.all([
        store.signingKeys.listPublished(env.id, takenAt),
        store.apis.list(env.id),
        limits.maxClients > 0 ? store.usage.lastUsed('client', env.id) : new Map<string, number>(),
      ]);
      snapshot.keys.push({ envId: env.id, keys });
      snapshot.apis.push({ envId: env.id, apis });
      for (const [clientId, at] of used) if (takenAt - at <= limits.usedWithinMs) recent.push({ envId: env.id, clientId, at });
    }
    recent.sort((a, b) => b.at - a.at);
    const wanted = recent.slice(0, limits.maxClients);
    for (let i = 0; i < wanted.length; i += CONCURRENCY) {
      if (late()) return { ...snapshot, complete: false };
      const batch = wanted.slice(i, i + CONCURRENCY);
      const records = await Promise.all(
        batch.map(async ({ envId, clientId }) => {
          const [client, secrets] = await Promise.all([store.clients.find(envId, clientId), store.clients.activeSecrets(envId, clientId, takenAt)]);
          return { envId, clientId, record: { client, secrets } };
        }),
      );
      snapshot.clients.push(...records.filter((r) => r.record.client !== undefined));
    }
    return snapshot;
  } catch (error) {
    if (error instanceof StorageUnavailableError) return undefined;
    throw error;
  }
}

/** Puts a snapshot into a node's caches, each entry as old as the snapshot. */
export function primeCaches(parts: { core: Pick<OAuthCore, 'keys' | 'apis' | 'clients'>; environments: EnvironmentResolver }, snapshot: WarmSnapshot): void {
  const { takenAt } = snapshot;
  for (const env of snapshot.environments) parts.environments.prime(env, takenAt);
  for (const { envId, keys } of snapshot.keys) parts.core.keys.prime(envId, keys, takenAt);
  for (const { envId, apis } of snapshot.apis) parts.core.apis.prime(envId, apis, takenAt);
  for (const { envId, clientId, record } of snapshot.clients) parts.core.clients.prime(envId, clientId, record, takenAt);
}

/** Whether a message from the cluster's IPC channel is a warm snapshot (messages are plain JSON). */
export function isWarmSnapshot(value: unknown): value is WarmSnapshot {
  if (!value || typeof value !== 'object') return false;
  const s = value as Partial<WarmSnapshot>;
  return typeof s.takenAt === 'number' && [s.environments, s.keys, s.apis, s.clients].every(Array.isArray);
}
