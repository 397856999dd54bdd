import type { Clock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import { AdminAudit } from './audit-trail.ts';
import { ClientAdmin } from './client-admin.ts';
import { ClientSecretAdmin } from './client-secret-admin.ts';
import { EnvironmentAdmin } from './environment-admin.ts';
import { KeyAdmin } from './key-admin.ts';
import type { AdminPolicy, KeySecretSource } from './policy.ts';

export { AdminError } from './admin-error.ts';
export type {
  ClientChanges,
  ClientDetails,
  ClientSecretView,
  ClientView,
  CreateClientInput,
  EnvironmentChanges,
  EnvironmentView,
  KeyRotationView,
  LastUsed,
} from './admin-views.ts';
export { isoOrNull, REFRESH_TOKEN_POLICIES, TOKEN_COUNT_DAYS } from './admin-views.ts';
export { MAX_QUOTA } from './quota.ts';
export type { KeyView } from './signing-keys.ts';

/**
 * The application-service layer: every administrative change goes through here, whether it
 * comes from the CLI, the admin HTTP API or the console, so the checks live in one place. Each
 * resource has its own service (environments, clients, client secrets, signing keys) on the same
 * dependencies; this is the one object the callers hold.
 */
export class AdminService {
  private readonly environments: EnvironmentAdmin;
  private readonly clients: ClientAdmin;
  private readonly secrets: ClientSecretAdmin;
  private readonly keys: KeyAdmin;

  constructor(
    config: AdminPolicy,
    /** Read only by key operations, which fail clearly when none is configured. */
    keySecret: KeySecretSource,
    store: Store,
    /** This node's caches, refreshed after a change made here; other nodes catch up within GATEHOUSE_CACHE_TTL. */
    caches: Pick<OAuthCore, 'keys' | 'clients'> | undefined,
    clock: Clock,
    /** Records each change with the actor the services were built for. */
    audit: AdminAudit = new AdminAudit(),
  ) {
    this.environments = new EnvironmentAdmin(config, keySecret, store, caches, clock, audit);
    this.clients = new ClientAdmin(config, keySecret, store, caches, clock, audit);
    this.secrets = new ClientSecretAdmin(config, keySecret, store, caches, clock, audit);
    this.keys = new KeyAdmin(config, keySecret, store, caches, clock, audit);
  }

  // --- Environments (EnvironmentAdmin) ---

  createEnvironment(...args: Parameters<EnvironmentAdmin['createEnvironment']>): ReturnType<EnvironmentAdmin['createEnvironment']> {
    return this.environments.createEnvironment(...args);
  }

  pageEnvironments(...args: Parameters<EnvironmentAdmin['pageEnvironments']>): ReturnType<EnvironmentAdmin['pageEnvironments']> {
    return this.environments.pageEnvironments(...args);
  }

  listEnvironments(...args: Parameters<EnvironmentAdmin['listEnvironments']>): ReturnType<EnvironmentAdmin['listEnvironments']> {
    return this.environments.listEnvironments(...args);
  }

  getEnvironment(...args: Parameters<EnvironmentAdmin['getEnvironment']>): ReturnType<EnvironmentAdmin['getEnvironment']> {
    return this.environments.getEnvironment(...args);
  }

  setEnvironmentQuota(...args: Parameters<EnvironmentAdmin['setEnvironmentQuota']>): ReturnType<EnvironmentAdmin['setEnvironmentQuota']> {
    return this.environments.setEnvironmentQuota(...args);
  }

  updateEnvironment(...args: Parameters<EnvironmentAdmin['updateEnvironment']>): ReturnType<EnvironmentAdmin['updateEnvironment']> {
    return this.environments.updateEnvironment(...args);
  }

  setDpopNonceRequired(...args: Parameters<EnvironmentAdmin['setDpopNonceRequired']>): ReturnType<EnvironmentAdmin['setDpopNonceRequired']> {
    return this.environments.setDpopNonceRequired(...args);
  }

  // --- Clients (ClientAdmin) ---

  createClient(...args: Parameters<ClientAdmin['createClient']>): ReturnType<ClientAdmin['createClient']> {
    return this.clients.createClient(...args);
  }

  listClients(...args: Parameters<ClientAdmin['listClients']>): ReturnType<ClientAdmin['listClients']> {
    return this.clients.listClients(...args);
  }

  pageClients(...args: Parameters<ClientAdmin['pageClients']>): ReturnType<ClientAdmin['pageClients']> {
    return this.clients.pageClients(...args);
  }

  showClient(...args: Parameters<ClientAdmin['showClient']>): ReturnType<ClientAdmin['showClient']> {
    return this.clients.showClient(...args);
  }

  getClient(...args: Parameters<ClientAdmin['getClient']>): ReturnType<ClientAdmin['getClient']> {
    return this.clients.getClient(...args);
  }

  updateClient(...args: Parameters<ClientAdmin['updateClient']>): ReturnType<ClientAdmin['updateClient']> {
    return this.clients.updateClient(...args);
  }

  setClientEnabled(...args: Parameters<ClientAdmin['setClientEnabled']>): ReturnType<ClientAdmin['setClientEnabled']> {
    return this.clients.setClientEnabled(...args);
  }

  setClientQuota(...args: Parameters<ClientAdmin['setClientQuota']>): ReturnType<ClientAdmin['setClientQuota']> {
    return this.clients.setClientQuota(...args);
  }

  deleteClient(...args: Parameters<ClientAdmin['deleteClient']>): ReturnType<ClientAdmin['deleteClient']> {
    return this.clients.deleteClient(...args);
  }

  // --- A client's secrets (ClientSecretAdmin) ---

  rotateClientSecret(...args: Parameters<ClientSecretAdmin['rotateClientSecret']>): ReturnType<ClientSecretAdmin['rotateClientSecret']> {
    return this.secrets.rotateClientSecret(...args);
  }

  pageClientSecrets(...args: Parameters<ClientSecretAdmin['pageClientSecrets']>): ReturnType<ClientSecretAdmin['pageClientSecrets']> {
    return this.secrets.pageClientSecrets(...args);
  }

  listClientSecrets(...args: Parameters<ClientSecretAdmin['listClientSecrets']>): ReturnType<ClientSecretAdmin['listClientSecrets']> {
    return this.secrets.listClientSecrets(...args);
  }

  revokeClientSecret(...args: Parameters<ClientSecretAdmin['revokeClientSecret']>): ReturnType<ClientSecretAdmin['revokeClientSecret']> {
    return this.secrets.revokeClientSecret(...args);
  }

  // --- Signing keys (KeyAdmin) ---

  pageKeys(...args: Parameters<KeyAdmin['pageKeys']>): ReturnType<KeyAdmin['pageKeys']> {
    return this.keys.pageKeys(...args);
  }

  listKeys(...args: Parameters<KeyAdmin['listKeys']>): ReturnType<KeyAdmin['listKeys']> {
    return this.keys.listKeys(...args);
  }

  rotateKeys(...args: Parameters<KeyAdmin['rotateKeys']>): ReturnType<KeyAdmin['rotateKeys']> {
    return this.keys.rotateKeys(...args);
  }

  revokeKey(...args: Parameters<KeyAdmin['revokeKey']>): ReturnType<KeyAdmin['revokeKey']> {
    return this.keys.revokeKey(...args);
  }

  getKeyRotation(...args: Parameters<KeyAdmin['getKeyRotation']>): ReturnType<KeyAdmin['getKeyRotation']> {
    return this.keys.getKeyRotation(...args);
  }

  setKeyRotation(...args: Parameters<KeyAdmin['setKeyRotation']>): ReturnType<KeyAdmin['setKeyRotation']> {
    return this.keys.setKeyRotation(...args);
  }
}
