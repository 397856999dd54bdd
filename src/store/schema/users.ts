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
