import type { Clock } from '../domain/clock.ts';
import type { Environment } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import { OAuthError } from './errors.ts';
import { type IssuerUrls, issuerUrls } from './issuer.ts';
import { RefreshingCache } from './refreshing-cache.ts';

export interface ResolvedEnvironment {
  env: Environment;
  urls: IssuerUrls;
}

const ENVIRONMENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Finds the environment a request addresses. Environments are never renamed or deleted, but
 * their settings (the default quota) change, so a found one is read again after `ttlMs`; while
 * the database is unavailable it is served for `staleIfErrorMs`. Unknown names are not cached.
 */
export class EnvironmentResolver {
  private readonly cache: RefreshingCache<ResolvedEnvironment | undefined>;

  constructor(
    private readonly store: Pick<Store, 'environments' | 'health'>,
    private readonly publicUrl: string,
    clock: Clock,
    ttlMs: number,
    staleIfErrorMs: number,
  ) {
    // Never below a second: every request resolves its environment.
    this.cache = new RefreshingCache(clock, store.health, { ttlMs: Math.max(ttlMs, 1000), staleIfErrorMs, maxEntries: 10_000 });
  }

  async resolve(name: string): Promise<ResolvedEnvironment> {
    // Only names an environment can have reach the database (no NUL, bounded length).
    if (!ENVIRONMENT_NAME.test(name)) throw new OAuthError('not_found', 'no such environment', { reason: 'environment_unknown' });
    const { value } = await this.cache.get(name, () => this.load(name), { keep: (found) => found !== undefined });
    if (!value) throw new OAuthError('not_found', `no environment named ${name}`, { reason: 'environment_unknown' });
    return value;
  }

  /** Holds an environment as read at `loadedAt` (a warm start). */
  prime(env: Environment, loadedAt: number): void {
    this.cache.prime(env.name, { env, urls: issuerUrls(this.publicUrl, env) }, loadedAt);
  }

  private async load(name: string): Promise<ResolvedEnvironment | undefined> {
    const env = await this.store.environments.findByName(name);
    return env && { env, urls: issuerUrls(this.publicUrl, env) };
  }
}
