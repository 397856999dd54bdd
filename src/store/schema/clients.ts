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
