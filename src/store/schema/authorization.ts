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
