/**
 * The database schema, shared by SQLite and PostgreSQL. Portable types only: text, integer
 * flags (0/1) for booleans, bigint epoch milliseconds for times, JSON arrays stored as text.
 */
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

export interface EnvironmentTable {
  id: string;
  name: string;
  created_at: number;
  /** Requests per quota window allowed to a client that sets none; null: unlimited. */
  default_quota: number | null;
  /** Seconds between scheduled signing-key rotations; null: none (migration 007). */
  key_rotation_interval: number | null;
  /** Migration 017: `public` or `pairwise` (Core §8). */
  subject_type: string;
  /** Migration 017: `client` or `offline_access` (Core §11). */
  refresh_token_policy: string;
  /** Migration 017: the key of pairwise subject identifiers; set for every environment. */
  pairwise_salt: string | null;
  /** Migration 022: 1 when DPoP proofs must carry a server nonce (RFC 9449 §8). */
  dpop_nonce_required: number;
  /** Migration 023: 1 when every authorization request must be pushed (RFC 9126 §5). */
  require_pushed_authorization_requests: number;
  /** Migration 023: `fapi2`, or null for none. */
  security_profile: string | null;
  /** Migration 025: the Client ID Metadata Document settings as JSON (snake_case), or null for none. */
  client_metadata_documents: string | null;
}

export interface ClientTable {
  env_id: string;
  client_id: string;
  name: string;
  kind: 'confidential' | 'public' | 'service_account';
  grant_types: string;
  scopes: string;
  default_scopes: string;
  redirect_uris: string;
  token_format: 'jwt' | 'opaque';
  access_token_ttl: number | null;
  introspect_any: number;
  allow_missing_pkce: number;
  quota: number | null;
  enabled: number;
  created_at: number;
  updated_at: number;
  /** Migration 017 (OpenID Connect): JSON array, or null when none is registered. */
  post_logout_redirect_uris: string | null;
  backchannel_logout_uri: string | null;
  backchannel_logout_session_required: number;
  logout_revokes_tokens: number;
  id_token_signed_response_alg: string | null;
  subject_type: string | null;
  sector_identifier_uri: string | null;
  /** Migration 022: RFC 9449 §5.2 `dpop_bound_access_tokens`, 1 or 0. */
  dpop_bound_access_tokens: number;
  /** Migration 023: 1 when the client's authorization requests must be pushed (RFC 9126 §6). */
  require_pushed_authorization_requests: number;
  /** Migration 024: `admin` or `dynamic` (RFC 7591). */
  registration: string;
}

export interface ClientSecretTable {
  id: string;
  env_id: string;
  client_id: string;
  secret_hash: string;
  created_at: number;
  expires_at: number | null;
}

export interface SigningKeyTable {
  kid: string;
  env_id: string;
  alg: string;
  public_jwk: string;
  private_key_sealed: string;
  status: 'next' | 'active' | 'retired';
  created_at: number;
  /** Added by migration 007; older keys got their `created_at`. */
  activate_at: number;
  retired_at: number | null;
  publish_until: number | null;
  /** Added by migration 015: set when the key was revoked (withdrawn from the JWKS at once). */
  revoked_at: number | null;
}

export interface AccessTokenTable {
  token_hash: string;
  env_id: string;
  client_id: string;
  subject: string;
  scope: string;
  jti: string;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  /** Set for tokens issued inside a token family (authorization code and refresh grants). */
  family_id: string | null;
  /** JSON array of API identifiers (RFC 8707); null when the audience is the issuer. */
  audience: string | null;
  /** RFC 8693 `act` as JSON; null when the subject acts itself. */
  act: string | null;
  /** RFC 9449 `cnf.jkt`; null for a bearer token. */
  cnf_jkt: string | null;
  /** OpenID Connect Core §2 `acr` and RFC 8176 `amr` (JSON) of the sign-in; null for none. */
  acr: string | null;
  amr: string | null;
}

export interface RevokedJwtTable {
  env_id: string;
  jti: string;
  client_id: string;
  expires_at: number;
  revoked_at: number;
}

export interface ClientKeyTable {
  env_id: string;
  kid: string;
  client_id: string;
  alg: string;
  public_jwk: string;
  created_at: number;
  revoked_at: number | null;
}

export interface UsedAssertionTable {
  env_id: string;
  client_id: string;
  jti: string;
  expires_at: number;
}

export interface UserTable {
  env_id: string;
  user_id: string;
  username: string;
  password_hash: string;
  enabled: number;
  created_at: number;
  updated_at: number;
  /** Migration 017: OpenID Connect profile attributes (Core §5.1); null when unset. */
  email: string | null;
  email_verified: number;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  preferred_username: string | null;
  picture: string | null;
  locale: string | null;
  zoneinfo: string | null;
  phone_number: string | null;
  phone_number_verified: number;
  /** JSON object of Core §5.1.1 members. */
  address: string | null;
}

export interface BrowserSessionTable {
  id_hash: string;
  env_id: string;
  user_id: string | null;
  authenticated_at: number | null;
  created_at: number;
  expires_at: number;
  /** Migration 017: the OpenID session id; null for sessions started before it. */
  sid: string | null;
  /** Migration 017: JSON array of authentication methods (RFC 8176); null: none recorded. */
  amr: string | null;
}

export interface AuthorizationRequestTable {
  id_hash: string;
  env_id: string;
  session_id_hash: string;
  client_id: string;
  redirect_uri: string;
  scope: string;
  state: string | null;
  /** NOT NULL since migration 004: '' stands for "no challenge" (a client allowed to omit PKCE). */
  code_challenge: string;
  /** JSON array of RFC 8707 `resource` values; null when none was named. */
  resources: string | null;
  created_at: number;
  expires_at: number;
  /** Migration 017: JSON of the OpenID parameters; null: not an OpenID request. */
  oidc: string | null;
  /** Migration 021: the device authorization a verification-page request decides (RFC 8628 §3.3); null for /authorize. */
  device_code_hash: string | null;
  /** Migration 022: RFC 9449 §10 `dpop_jkt`; null: none. */
  dpop_jkt: string | null;
}

export interface AuthorizationCodeTable {
  code_hash: string;
  env_id: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  scope: string;
  code_challenge: string | null;
  family_id: string;
  resources: string | null;
  issued_at: number;
  expires_at: number;
  consumed_at: number | null;
  /** Migration 017: JSON of `CodeOidc`; null: not an OpenID request. */
  oidc: string | null;
  /** Migration 022: RFC 9449 §10 `dpop_jkt` of its request; null: none. */
  dpop_jkt: string | null;
}

export interface TokenFamilyTable {
  family_id: string;
  env_id: string;
  client_id: string;
  user_id: string;
  scope: string;
  resources: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  /** Migration 017: the browser session's OpenID `sid`; null for a family not begun by an OpenID sign-in. */
  sid: string | null;
  /** Migration 017: JSON of `FamilyOidc`; null as above. */
  oidc: string | null;
  /** Migration 022: RFC 9449 §5.8 the DPoP key of a public client's refresh tokens; null: unbound. */
  dpop_jkt: string | null;
}

export interface RefreshTokenTable {
  token_hash: string;
  env_id: string;
  family_id: string;
  client_id: string;
  user_id: string;
  issued_at: number;
  expires_at: number;
  rotated_at: number | null;
  revoked_at: number | null;
}

/** What a refresh rotation answered, sealed, for an exact retry within the grace period (migration 016). */
export interface RefreshTokenRetryTable {
  env_id: string;
  /** The presented (now rotated) refresh token's hash. */
  token_hash: string;
  family_id: string;
  /** The hash of the refresh token the rotation issued. */
  successor_hash: string;
  request_hash: string;
  sealed_response: string;
  expires_at: number;
}

export interface FamilyAccessTokenTable {
  env_id: string;
  jti: string;
  family_id: string;
  expires_at: number;
}

export interface ConsentTable {
  env_id: string;
  user_id: string;
  client_id: string;
  scope: string;
  granted_at: number;
  /** Migration 017: JSON array of the APIs (RFC 8707) the consent covers; null: none. */
  resources: string | null;
}

export interface LoginAttemptTable {
  key_hash: string;
  window_start: number;
  count: number;
}

export interface RateCounterTable {
  key_hash: string;
  window_start: number;
  count: number;
}

export interface ApiTable {
  env_id: string;
  identifier: string;
  name: string;
  /** JSON array of `{name, description}`. */
  scopes: string;
  token_format: 'jwt' | 'opaque';
  access_token_ttl: number | null;
  /** JSON array of client ids. */
  client_ids: string;
  is_default: number;
  created_at: number;
  updated_at: number;
}

/** One audit event (migration 009); `details` is a JSON object. */
export interface AuditEventTable {
  id: string;
  type: string;
  time: number;
  env_id: string | null;
  env_name: string | null;
  actor_kind: 'cli' | 'admin_client' | 'system' | 'registration';
  actor_id: string;
  subject_kind: string;
  subject_id: string;
  outcome: 'success' | 'failure';
  details: string;
}

/** The webhook delivery of one audit event (migration 009). */
export interface AuditOutboxTable {
  event_id: string;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  delivered_at: number | null;
  last_error: string | null;
}

/** Access tokens issued to a client on one UTC day (migration 010). */
export interface TokenCountTable {
  env_id: string;
  client_id: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  count: number;
}

/** Migration 011: the admin API's idempotency keys. */
export interface IdempotencyKeyTable {
  key_hash: string;
  request_hash: string;
  status: number | null;
  response: string | null;
  created_at: number;
  expires_at: number;
}

/** Import (migration 012): a source record and the Gatehouse record it became. */
export interface ImportMappingTable {
  env_id: string;
  /** The source the row came from (migration 013); `legacy` for rows written before sources were recorded. */
  source_id: string;
  kind: 'client' | 'user' | 'refresh_token' | 'access_token';
  /** The client id, the user's source id, or a token's Gatehouse hash (never a token in clear). */
  source_key: string;
  target_id: string;
  source_version: string | null;
  imported_at: number;
  updated_at: number;
}

/** Back-Channel Logout's outbox (migration 019): what a logout token is signed from, never the token. */
export interface BackchannelLogoutTable {
  /** Also the logout token's `jti`. */
  id: string;
  env_id: string;
  client_id: string;
  subject: string;
  sid: string | null;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  last_error: string | null;
}

/** Migration 021: RFC 8628 device authorizations, by the hash of each code. */
export interface DeviceAuthorizationTable {
  device_code_hash: string;
  env_id: string;
  user_code_hash: string;
  client_id: string;
  scope: string;
  resources: string | null;
  family_id: string;
  created_at: number;
  expires_at: number;
  interval_seconds: number;
  last_polled_at: number | null;
  /** `pending`, `approved` or `denied`; `consumed_at` marks the one redemption. */
  status: string;
  user_id: string | null;
  decided_at: number | null;
  /** JSON of `CodeOidc` once approved with `openid`; null otherwise. */
  oidc: string | null;
  consumed_at: number | null;
}

/** Migration 023: RFC 9126 pushed authorization requests, keyed by the hash of the request_uri. */
export interface PushedAuthorizationRequestTable {
  id_hash: string;
  env_id: string;
  client_id: string;
  /** JSON object of the pushed parameters, client credentials removed. */
  params: string;
  created_at: number;
  expires_at: number;
}

/** Migration 024: one dynamically registered client's registration (RFC 7591, RFC 7592). */
export interface ClientRegistrationTable {
  env_id: string;
  client_id: string;
  /** Hash of the registration access token (RFC 7592 §3); never the token. */
  access_token_hash: string;
  /** JSON object: the client metadata as registered, echoed by RFC 7592 §2.1. */
  metadata: string;
  created_at: number;
  updated_at: number;
}

/** Migration 024: an environment's registration policy; `settings` is a JSON object. */
export interface RegistrationPolicyTable {
  env_id: string;
  mode: string;
  settings: string;
  updated_at: number;
}

/** Migration 024: RFC 7591 §3 initial access tokens, by hash. */
export interface InitialAccessTokenTable {
  id: string;
  env_id: string;
  token_hash: string;
  description: string;
  uses_left: number;
  created_at: number;
  expires_at: number;
}
/** Migration 028: the brand, default language, texts and logo of an environment's pages. */
export interface EnvironmentPagesTable {
  env_id: string;
  /** JSON of `Branding`. */
  branding: string;
  default_language: string | null;
  /** JSON: language → message key → text. */
  texts: string;
  /** Base64 of the logo's bytes. */
  logo: string | null;
  logo_type: string | null;
  logo_sha256: string | null;
  updated_at: number;
}
