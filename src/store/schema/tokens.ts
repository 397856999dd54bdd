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
