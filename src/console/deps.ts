import type { AdminService } from '../admin/admin-service.ts';
import type { BrandingService } from '../admin/branding.ts';
import type { ClientMetadataDocumentService } from '../admin/client-metadata-documents.ts';
import type { ServiceAccountService } from '../admin/service-accounts.ts';
import type { UserService } from '../admin/users.ts';
import type { Clock } from '../domain/clock.ts';

/** What a verified console access token says: who signed in, through which client, with which scopes. */
export interface ConsoleGrant {
  subject: string;
  clientId: string;
  scopes: readonly string[];
}

/** One recent audit event as the console lists it; every field is shown as text. */
export interface ConsoleAuditEvent {
  /** ISO 8601. */
  at: string;
  type: string;
  environment?: string | undefined;
  actor?: string | undefined;
  target?: string | undefined;
  outcome?: string | undefined;
}

/** Recent audit events, newest first. Present only when audit events are recorded. */
export interface ConsoleAuditProvider {
  recent(options: { limit: number; environment?: string | undefined }): Promise<readonly ConsoleAuditEvent[]>;
}

/** Tokens issued per UTC day to one client, oldest first. Present only when usage is recorded. */
export interface ConsoleUsageProvider {
  tokensPerDay(environment: string, clientId: string, days: number): Promise<readonly { day: string; count: number }[]>;
}

/** One client secret by its id (never its value), as the admin API lists them. */
export interface ConsoleSecret {
  id: string;
  created_at: string;
  expires_at: string | null;
}

/** Client secrets by id, and ending one now. Present when the admin services offer it. */
export interface ConsoleSecretsProvider {
  list(environment: string, clientId: string): Promise<readonly ConsoleSecret[]>;
  revoke(environment: string, clientId: string, secretId: string): Promise<unknown>;
}

/** The admin services a console request calls. */
export interface ConsoleServices {
  admin: Pick<
    AdminService,
    | 'listEnvironments'
    | 'createEnvironment'
    | 'getEnvironment'
    | 'updateEnvironment'
    | 'setDpopNonceRequired'
    | 'updateClient'
    | 'listClients'
    | 'showClient'
    | 'createClient'
    | 'rotateClientSecret'
    | 'setClientEnabled'
    | 'listKeys'
    | 'rotateKeys'
    | 'revokeKey'
  >;
  users: Pick<UserService, 'list' | 'get' | 'update' | 'setEnabled'>;
  serviceAccounts: Pick<ServiceAccountService, 'list' | 'setEnabled'>;
  metadataDocuments?: Pick<ClientMetadataDocumentService, 'get' | 'set'>;
  branding?: Pick<BrandingService, 'show' | 'settingsOf' | 'logoOf'>;
}

/**
 * Everything the console calls. The admin services are the same ones the CLI and the admin API
 * use; the two auth functions connect the console to the OAuth core without it knowing how.
 */
export interface ConsoleDeps extends ConsoleServices {
  /**
   * The services to act with for one signed-in operator, so that what they change names them
   * (audit events); absent: the services above, for everyone.
   */
  servicesFor?: ((operator: ConsoleGrant) => ConsoleServices) | undefined;
  clock: Clock;
  /** The management environment's issuer URL; the console sends operators to its `/authorize`. */
  issuer: string;
  /** The console's own confidential client in the management environment (see `ensureConsoleClient`). */
  client: { clientId: string; clientSecret: string; redirectUri: string };
  /** Redeems an authorization code at the management environment's token endpoint. */
  exchangeCode(request: { code: string; verifier: string; redirectUri: string; clientId: string; clientSecret: string }): Promise<{ accessToken: string }>;
  /** Revokes the console's access token at sign-out (RFC 7009); optional. */
  revokeToken?: ((request: { token: string; clientId: string; clientSecret: string }) => Promise<void>) | undefined;
  /** Verifies an access token of the management environment; undefined for anything not active. */
  authorize(accessToken: string): Promise<ConsoleGrant | undefined>;
  /** Seals the console's cookies (AES-256-GCM under a key derived from it); every node must share it. */
  cookieSecret: Buffer;
  /** How long a console session lasts, in seconds (also bounded by its access token's lifetime). */
  sessionTtl?: number;
  /** With it, the client page lists secrets by id, each with a Revoke button. */
  secrets?: ConsoleSecretsProvider | undefined;
  audit?: ConsoleAuditProvider | undefined;
  usage?: ConsoleUsageProvider | undefined;
}

export const READ_SCOPE = 'admin:read';
export const WRITE_SCOPE = 'admin:write';
