import { AdminService } from '../admin/admin-service.ts';
import { ApiService } from '../admin/apis.ts';
import { AuditEventService } from '../admin/audit-events.ts';
import { AdminAudit } from '../admin/audit-trail.ts';
import { BrandingService } from '../admin/branding.ts';
import { ClientMetadataDocumentService } from '../admin/client-metadata-documents.ts';
import { InitialAccessTokenService, type RegistrationServices } from '../admin/initial-access-tokens.ts';
import type { KeySecretSource } from '../admin/policy.ts';
import { RegistrationPolicyService } from '../admin/registration-policy.ts';
import { ServiceAccountService } from '../admin/service-accounts.ts';
import { UserService } from '../admin/users.ts';
import { CONFIG_FIELDS, type Config, ConfigError } from '../config/config.ts';
import type { AuditActor, AuditLog } from '../domain/audit.ts';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../domain/storage.ts';
import type { OAuthCore } from '../oauth/core.ts';
import { adminPolicy } from './policies.ts';

/** The application services every administrative path (CLI, dev bootstrap, later the admin API) goes through. */
export interface AdminServices {
  readonly admin: AdminService;
  readonly serviceAccounts: ServiceAccountService;
  readonly users: UserService;
  readonly apis: ApiService;
  readonly auditEvents: AuditEventService;
  /** RFC 7591: registration policies and initial access tokens. */
  readonly registration: RegistrationServices;
  readonly metadataDocuments: ClientMetadataDocumentService;
  readonly branding: BrandingService;
}

/**
 * Wires the application services. Without a key secret, key operations fail naming the setting
 * to provide. `caches` is the running node's OAuth core, refreshed after a change made here.
 * With `audit`, every change is recorded in the audit log with `actor` (the CLI's OS user, or the system).
 */
export function createAdminServices(
  config: Config & { publicUrl: string },
  store: Store,
  clock: Clock,
  caches?: Pick<OAuthCore, 'keys' | 'clients'> & Partial<Pick<OAuthCore, 'apis'>>,
  audited?: { audit: AuditLog; actor: AuditActor },
): AdminServices {
  const policy = adminPolicy(config);
  const keySecret = config.keySecret;
  const source: KeySecretSource =
    keySecret ??
    (() => {
      throw new ConfigError(CONFIG_FIELDS.keySecret.env, 'is required to create signing keys (or run `gatehouse serve --dev` once to generate one)');
    });
  const trail = new AdminAudit(audited?.audit, audited?.actor);
  return {
    admin: new AdminService(policy, source, store, caches, clock, trail),
    serviceAccounts: new ServiceAccountService(policy, store, clock, caches?.clients, trail),
    users: new UserService(policy, store, clock, trail),
    apis: new ApiService(policy, store, clock, (envId) => caches?.apis?.invalidate(envId), trail),
    auditEvents: new AuditEventService(store),
    registration: {
      policies: new RegistrationPolicyService(policy, store, clock, trail),
      initialAccessTokens: new InitialAccessTokenService(store, clock, trail),
    },
    metadataDocuments: new ClientMetadataDocumentService(store, trail),
    branding: new BrandingService(store, clock, trail),
  };
}
