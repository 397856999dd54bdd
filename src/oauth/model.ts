/** Domain records shared by the OAuth core, the application services and storage. */

export interface Environment {
  id: string;
  name: string;
  createdAt: number;
}

/**
 * `service_account`: a machine identity of the API provider. It authenticates with keys
 * Gatehouse generated (jwt-bearer assertions, private_key_jwt) and optionally with secrets.
 */
export type ClientKind = 'confidential' | 'public' | 'service_account';
export type TokenFormat = 'jwt' | 'opaque';

export interface Client {
  envId: string;
  clientId: string;
  name: string;
  kind: ClientKind;
  grantTypes: string[];
  scopes: string[];
  defaultScopes: string[];
  redirectUris: string[];
  tokenFormat: TokenFormat;
  /** Seconds; null means the server default. */
  accessTokenTtl: number | null;
  /** A resource-server client may introspect every token of its environment, not only its own. */
  introspectAny: boolean;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ClientSecret {
  id: string;
  secretHash: string;
  createdAt: number;
  /** Null while the secret is current; set when a rotation starts its overlap window. */
  expiresAt: number | null;
}

export interface SigningKey {
  kid: string;
  envId: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateKeySealed: string;
  status: 'active' | 'retired';
  createdAt: number;
  retiredAt: number | null;
  /** A retired key leaves the JWKS after this time, once every token it signed has expired. */
  publishUntil: number | null;
}

export interface OpaqueAccessToken {
  tokenHash: string;
  envId: string;
  clientId: string;
  subject: string;
  scope: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface RevokedJwt {
  envId: string;
  jti: string;
  clientId: string;
  expiresAt: number;
  revokedAt: number;
}

/** The public half of a key registered for a client or service account. */
export interface ClientKey {
  envId: string;
  kid: string;
  clientId: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  createdAt: number;
  revokedAt: number | null;
}
