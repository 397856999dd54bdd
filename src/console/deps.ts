import type { AdminService } from '../admin/admin-service.ts';
import type { ApiService } from '../admin/apis.ts';
import type { BrandingService } from '../admin/branding.ts';
import type { ClientMetadataDocumentService } from '../admin/client-metadata-documents.ts';
import type { InitialAccessTokenService } from '../admin/initial-access-tokens.ts';
import type { RegistrationPolicyService } from '../admin/registration-policy.ts';
import type { ServiceAccountService } from '../admin/service-accounts.ts';
import type { SignInPolicyService } from '../admin/sign-in-policy.ts';
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
  /** Who acted: a console operator by name, else the recorded actor (`kind id`). */
  actor?: string | undefined;
  /** The recorded actor (`kind id`) when `actor` shows a console operator's name instead. */
  actorId?: string | undefined;
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
    | 'listClientSecrets'
    | 'revokeClientSecret'
    | 'setClientEnabled'
    | 'listKeys'
    | 'rotateKeys'
    | 'revokeKey'
    | 'getKeyRotation'
    | 'setKeyRotation'
  >;
  users: Pick<UserService, 'list' | 'get' | 'update' | 'setEnabled'>;
  serviceAccounts: Pick<ServiceAccountService, 'list' | 'setEnabled'>;
  apis: Pick<ApiService, 'list' | 'show' | 'create' | 'update'>;
  metadataDocuments?: Pick<ClientMetadataDocumentService, 'get' | 'set'>;
  /** RFC 7591: the registration policy and initial access tokens (absent: the page is not offered). */
  registration?: {
    policies: Pick<RegistrationPolicyService, 'get' | 'set'>;
    initialAccessTokens: Pick<InitialAccessTokenService, 'create' | 'list' | 'delete'>;
  };
  branding?: Pick<BrandingService, 'show' | 'settingsOf' | 'logoOf'>;
  /** Users' second factors (absent: the factors page is not offered). */
  signIn?: Pick<SignInPolicyService, 'factors' | 'revokePasskey' | 'resetFactors'>;
}

/**
 * Everything the console calls. The admin services are the same ones the CLI and the admin API
 * use; the two auth functions connect the console to the OAuth core without it knowing how.
 */
export interface ConsoleDeps {
  /**
   * The services to act with for one signed-in operator, so that everything they change names
   * them in the audit log. Every read and change of the console goes through these: there are no
   * services for everyone, so no console action can be recorded as the system.
   */
  servicesFor(operator: ConsoleGrant): ConsoleServices;
  /** The operator's name to show (their profile name, else their username); undefined: the subject is shown. */
  operatorName?: ((subject: string) => Promise<string | undefined>) | undefined;
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
  audit?: ConsoleAuditProvider | undefined;
  usage?: ConsoleUsageProvider | undefined;
}

export { ADMIN_READ as READ_SCOPE, ADMIN_WRITE as WRITE_SCOPE } from '../admin/admin-scopes.ts';
