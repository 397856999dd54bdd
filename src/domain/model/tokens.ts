import type { FamilyOidc } from './authorization.ts';

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

/**
 * RFC 8693 §4.1: the party acting for the token's subject (a client id or service account), and
 * in `act` the one that acted before it, for a chain of exchanges. Only the outermost actor is
 * the current one (§4.1: the nested ones are history, not authority).
 */
export interface ActorClaim {
  sub: string;
  act?: ActorClaim;
}

/** RFC 9449 §6 (RFC 7800): the key a sender-constrained token is bound to, by its JWK thumbprint (RFC 7638). */
export interface ConfirmationClaim {
  jkt: string;
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
  /** RFC 8693 §4.1: who acts for the subject; absent when the subject acts itself. */
  act?: ActorClaim;
  /** RFC 9449 §6.1: the thumbprint of the DPoP key the token is bound to; absent for a bearer token. */
  cnfJkt?: string;
  /** How the user signed in (OpenID Connect Core §2 `acr`, RFC 8176 `amr`); absent for a token of no sign-in. */
  authentication?: TokenAuthentication;
}

/** The `acr` and `amr` of the sign-in a token was issued from. */
export interface TokenAuthentication {
  acr: string;
  amr: readonly string[];
}

export interface RevokedJwt {
  envId: string;
  jti: string;
  clientId: string;
  expiresAt: number;
  revokedAt: number;
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
  /** The browser session (`sid`) of the sign-in that began the family; absent: none. */
  sid?: string | null;
  /** Present when the family began with an OpenID sign-in: its refreshes get ID Tokens (Core §12.2). */
  oidc?: FamilyOidc;
  /** RFC 9449 §5.8: the DPoP key (thumbprint) a public client's refresh tokens are bound to. */
  dpopJkt?: string;
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
