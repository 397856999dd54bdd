import { OAuthError } from '../oauth/errors.ts';
import { type IssuerUrls, issuerUrls } from '../oauth/issuer.ts';
import type { Environment } from '../oauth/model.ts';
import type { Store } from '../store/store.ts';

export interface ResolvedEnvironment {
  env: Environment;
  urls: IssuerUrls;
}

const ENVIRONMENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Finds the environment a request addresses. Environments are never renamed or deleted, so a
 * found one is cached for good; an unknown name is looked up again next time.
 */
export class EnvironmentResolver {
  private readonly found = new Map<string, ResolvedEnvironment>();

  constructor(
    private readonly store: Store,
    private readonly publicUrl: string,
  ) {}

  async resolve(name: string): Promise<ResolvedEnvironment> {
    const hit = this.found.get(name);
    if (hit) return hit;
    // Only names an environment can have reach the database (no NUL, bounded length).
    if (!ENVIRONMENT_NAME.test(name)) throw new OAuthError('not_found', 'no such environment', { reason: 'environment_unknown' });
    const env = await this.store.environments.findByName(name);
    if (!env) throw new OAuthError('not_found', `no environment named ${name}`, { reason: 'environment_unknown' });
    const resolved = { env, urls: issuerUrls(this.publicUrl, env) };
    this.found.set(name, resolved);
    return resolved;
  }
}
