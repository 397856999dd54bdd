/**
 * The database schema, shared by SQLite and PostgreSQL. Portable types only: text, integer
 * flags (0/1) for booleans, bigint epoch milliseconds for times, JSON arrays stored as text.
 */

import type { AuthorizationCodeTable, AuthorizationRequestTable, DeviceAuthorizationTable, PushedAuthorizationRequestTable } from './schema/authorization.ts';
import type {
  ApiTable,
  ClientKeyTable,
  ClientRegistrationTable,
  ClientSecretTable,
  ClientTable,
  EnvironmentPagesTable,
  EnvironmentTable,
  InitialAccessTokenTable,
  RegistrationPolicyTable,
  SigningKeyTable,
  UsedAssertionTable,
} from './schema/clients.ts';
import type {
  AuditEventTable,
  AuditOutboxTable,
  BackchannelLogoutTable,
  IdempotencyKeyTable,
  ImportMappingTable,
  TokenCountTable,
} from './schema/operations.ts';
import type {
  AccessTokenTable,
  FamilyAccessTokenTable,
  RefreshTokenRetryTable,
  RefreshTokenTable,
  RevokedJwtTable,
  TokenFamilyTable,
} from './schema/tokens.ts';
import type { BrowserSessionTable, ConsentTable, LoginAttemptTable, RateCounterTable, UserTable } from './schema/users.ts';

export interface Database {
  environments: EnvironmentTable;
  clients: ClientTable;
  client_registrations: ClientRegistrationTable;
  registration_policies: RegistrationPolicyTable;
  initial_access_tokens: InitialAccessTokenTable;
  client_secrets: ClientSecretTable;
  signing_keys: SigningKeyTable;
  access_tokens: AccessTokenTable;
  revoked_jwts: RevokedJwtTable;
  client_keys: ClientKeyTable;
  used_assertions: UsedAssertionTable;
  users: UserTable;
  browser_sessions: BrowserSessionTable;
  authorization_requests: AuthorizationRequestTable;
  pushed_authorization_requests: PushedAuthorizationRequestTable;
  environment_pages: EnvironmentPagesTable;
  authorization_codes: AuthorizationCodeTable;
  token_families: TokenFamilyTable;
  refresh_tokens: RefreshTokenTable;
  refresh_token_retries: RefreshTokenRetryTable;
  family_access_tokens: FamilyAccessTokenTable;
  consents: ConsentTable;
  login_attempts: LoginAttemptTable;
  rate_counters: RateCounterTable;
  apis: ApiTable;
  audit_events: AuditEventTable;
  audit_outbox: AuditOutboxTable;
  token_counts: TokenCountTable;
  idempotency_keys: IdempotencyKeyTable;
  import_mappings: ImportMappingTable;
  backchannel_logouts: BackchannelLogoutTable;
  device_authorizations: DeviceAuthorizationTable;
}

export * from './schema/authorization.ts';
export * from './schema/clients.ts';
export * from './schema/operations.ts';
export * from './schema/tokens.ts';
export * from './schema/users.ts';
