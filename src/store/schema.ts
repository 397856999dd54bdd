/**
 * The database schema, shared by SQLite and PostgreSQL. Portable types only: text, integer
 * flags (0/1) for booleans, bigint epoch milliseconds for times, JSON arrays stored as text.
 */
export interface Database {
  environments: EnvironmentTable;
  clients: ClientTable;
  client_secrets: ClientSecretTable;
  signing_keys: SigningKeyTable;
  access_tokens: AccessTokenTable;
  revoked_jwts: RevokedJwtTable;
  client_keys: ClientKeyTable;
  used_assertions: UsedAssertionTable;
}

export interface EnvironmentTable {
  id: string;
  name: string;
  created_at: number;
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
  enabled: number;
  created_at: number;
  updated_at: number;
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
  status: 'active' | 'retired';
  created_at: number;
  retired_at: number | null;
  publish_until: number | null;
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
