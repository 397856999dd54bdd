import type { Clock } from '../domain/clock.ts';
import type { Client, Environment } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import { KeyRotation } from '../oauth/key-rotation.ts';
import { AdminError } from './admin-error.ts';
import { type ClientView, clientView, type EnvironmentView, environmentView } from './admin-views.ts';
import { AdminAudit } from './audit-trail.ts';
import type { AdminPolicy, KeySecretSource } from './policy.ts';

/**
 * What every resource of the admin service (environments, clients, their secrets, signing keys)
 * stands on: the same dependencies, and the look-ups that turn a name into a record or a not-found.
 */
export class AdminContext {
  constructor(
    protected readonly config: AdminPolicy,
    /** Read only by key operations, which fail clearly when none is configured. */
    protected readonly keySecret: KeySecretSource,
    protected readonly store: Store,
    /** This node's caches, refreshed after a change made here; other nodes catch up within GATEHOUSE_CACHE_TTL. */
    protected readonly caches: Pick<OAuthCore, 'keys' | 'clients'> | undefined,
    protected readonly clock: Clock,
    /** Records each change with the actor the services were built for. */
    protected readonly audit: AdminAudit = new AdminAudit(),
  ) {}

  protected keyRotation(store: Pick<Store, 'signingKeys'> = this.store): KeyRotation {
    return new KeyRotation(store, () => this.requireKeySecret(), this.clock, this.config);
  }

  protected requireKeySecret(): Buffer {
    return typeof this.keySecret === 'function' ? this.keySecret() : this.keySecret;
  }

  protected async environment(name: string): Promise<Environment> {
    const env = await this.store.environments.findByName(name);
    if (!env) throw new AdminError('not_found', `no environment named ${name}`);
    return env;
  }

  protected async client(env: Environment, clientId: string): Promise<Client> {
    const client = await this.store.clients.find(env.id, clientId);
    if (!client) throw new AdminError('not_found', `no client ${clientId} in environment ${env.name}`);
    return client;
  }

  protected environmentView(env: Environment): EnvironmentView {
    return environmentView(this.config.publicUrl, env);
  }

  protected view(env: Environment, c: Client): ClientView {
    return clientView(this.config.publicUrl, env, c);
  }
}

export const unique = (values: string[]): string[] => [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))];
