/** Domain records shared by the OAuth core, the application services and storage. */

/** Signing algorithms Gatehouse can use for access tokens. */
export type SigningAlgorithm = 'ES256' | 'EdDSA';

export interface Environment {
  id: string;
  name: string;
  createdAt: number;
  /** Requests per quota window allowed to each client that sets no quota of its own; null: unlimited. */
  defaultQuota: number | null;
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
  /**
   * A confidential client that may omit PKCE at a surface whose product never sent a challenge
   * (RightSignature's /oauth/authorize). Set by an administrator; false for everyone else.
   */
  allowMissingPkce: boolean;
  /** Requests per quota window (token, introspection, revocation); null: the environment's default. */
  quota: number | null;
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
  /**
   * As last recorded in storage; the switches next → active → retired are recorded lazily, so
   * what a key is at a given time comes from its timestamps (`keyStateAt`).
   */
  status: 'next' | 'active' | 'retired';
  createdAt: number;
  /** From this time on the key signs new tokens (a next key is published before it). */
  activateAt: number;
  /** Set when a successor is scheduled or activated: from this time on the key signs nothing. */
  retiredAt: number | null;
  /** A retired key leaves the JWKS after this time, once every token it signed has expired. */
  publishUntil: number | null;
  /**
   * Set when the key was revoked (it leaked): it left the JWKS then, and every token it signed is
   * refused. Absent or null: not revoked.
   */
  revokedAt?: number | null;
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
  /** The APIs the token is for (RFC 8707); absent for a token whose audience is the issuer. */
  audience?: string[];
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

/** An end user of an environment, who signs in on the login page. */
export interface User {
  envId: string;
  /** `usr_…`; never the `sa_` prefix of service accounts, so a token's `sub` tells them apart. */
  userId: string;
  username: string;
  /** scrypt, self-describing (`$scrypt$ln=…`). */
  passwordHash: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A browser's session with the login pages; the cookie holds the id, storage only its hash. */
export interface BrowserSession {
  idHash: string;
  envId: string;
  /** Set once the user signed in. */
  userId: string | null;
  authenticatedAt: number | null;
  createdAt: number;
  expiresAt: number;
}

/** A validated /authorize request waiting for login and consent, bound to one browser session. */
export interface PendingAuthorization {
  idHash: string;
  envId: string;
  sessionIdHash: string;
  clientId: string;
  redirectUri: string;
  scope: string[];
  /** Echoed byte for byte; null when the client sent none. */
  state: string | null;
  /** The S256 challenge; null only for a confidential client at a surface that lets it skip PKCE. */
  codeChallenge: string | null;
  /** RFC 8707 `resource` values of the request; absent when it named none. */
  resources?: string[];
  createdAt: number;
  expiresAt: number;
}

export interface AuthorizationCode {
  codeHash: string;
  envId: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  scope: string[];
  /** S256 challenge; a code issued without one can never be redeemed with a verifier. */
  codeChallenge: string | null;
  /** The token family its redemption creates; a second redemption revokes that family. */
  familyId: string;
  /** RFC 8707 `resource` values granted with the code; absent when the request named none. */
  resources?: string[];
  issuedAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

/** Every token descending from one authorization code: revoked together on reuse. */
export interface TokenFamily {
  familyId: string;
  envId: string;
  clientId: string;
  userId: string;
  /** The scope the user granted; a refresh may narrow it, never widen it. */
  scope: string[];
  /** APIs (RFC 8707) the user granted; a refresh may ask for a subset. Absent: none was named. */
  resources?: string[];
  createdAt: number;
  /** Absolute lifetime: no refresh token of the family works after it. */
  expiresAt: number;
  revokedAt: number | null;
}

export interface RefreshToken {
  tokenHash: string;
  envId: string;
  familyId: string;
  clientId: string;
  userId: string;
  issuedAt: number;
  /** Idle expiry: unused past this, the token is dead. */
  expiresAt: number;
  /** Set when the token was exchanged for a new one; presenting it again is reuse. */
  rotatedAt: number | null;
  revokedAt: number | null;
}

/** An access token issued inside a family, so that revoking the family reaches it. */
export interface FamilyAccessToken {
  jti: string;
  expiresAt: number;
  /** The stored row of an opaque token; undefined for a JWT (only its jti is remembered). */
  opaque: OpaqueAccessToken | undefined;
}

/** Scopes a user granted a client; the next authorization within them skips the consent page. */
export interface Consent {
  envId: string;
  userId: string;
  clientId: string;
  scope: string[];
  grantedAt: number;
}

/** A scope an API defines, with the words the consent page shows for it. */
export interface ApiScope {
  name: string;
  description: string;
}

/**
 * An API of an environment (RFC 8707 resource): clients name it with `resource`, and the access
 * tokens issued for it carry its identifier as `aud`.
 */
export interface Api {
  envId: string;
  /** An absolute URI without a fragment (RFC 8707 §2); unique in the environment. */
  identifier: string;
  name: string;
  scopes: ApiScope[];
  tokenFormat: TokenFormat;
  /** Seconds; null means the client's lifetime, otherwise the server default. */
  accessTokenTtl: number | null;
  /** Clients that may obtain tokens for this API. */
  clientIds: string[];
  /** The API a request that names no `resource` gets a token for; at most one per environment. */
  isDefault: boolean;
  createdAt: number;
  updatedAt: number;
}
