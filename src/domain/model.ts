/** Domain records shared by the OAuth core, the application services and storage. */

/** Signing algorithms Gatehouse can use for access tokens. */
export type SigningAlgorithm = 'ES256' | 'EdDSA';

/** Algorithms an ID Token may be signed with; RS256 is the default every OpenID Provider offers (Core §15.1). */
export type IdTokenAlgorithm = 'RS256' | SigningAlgorithm;

/** OpenID Connect Core §8: the same `sub` for every client, or one per client sector. */
export type SubjectType = 'public' | 'pairwise';

/**
 * When a user flow gets a refresh token (Core §11). `client`: whenever the client is registered
 * for the refresh_token grant, as before OpenID Connect, so no existing client changes;
 * `offline_access`: only when the user granted the `offline_access` scope.
 */
export type RefreshTokenPolicy = 'client' | 'offline_access';

/** A security profile an environment can be held to; `fapi2`: the FAPI 2.0 Security Profile. */
export type SecurityProfile = 'fapi2';

export interface Environment {
  id: string;
  name: string;
  createdAt: number;
  /** Requests per quota window allowed to each client that sets no quota of its own; null: unlimited. */
  defaultQuota: number | null;
  /** Core §8 subject type of clients that choose none; absent: `public`. */
  subjectType?: SubjectType;
  /** Absent: `client`. */
  refreshTokenPolicy?: RefreshTokenPolicy;
  /** RFC 9449 §8: DPoP proofs at the token endpoint must carry a server nonce. Absent: false. */
  dpopNonceRequired?: boolean;
  /** Key of pairwise subject identifiers: random per environment, never shown. */
  pairwiseSalt?: string;
  /** RFC 9126 §5: every authorization request must be pushed first. Absent: false. */
  requirePushedAuthorizationRequests?: boolean;
  /** The security profile the environment is held to (src/oauth/fapi2.ts). Absent: none. */
  securityProfile?: SecurityProfile;
  /** Clients named by a Client ID Metadata Document URL; absent: not accepted. */
  clientMetadataDocuments?: ClientMetadataDocumentSettings;
}

/**
 * An environment's rules for clients that name themselves by a metadata document URL (stored
 * with the environment as `client_metadata_documents`). Off unless `enabled`. Such a client is
 * never first-party: it is public, always asks for consent, and gets at most what this policy
 * allows, whatever its document says.
 */
export interface ClientMetadataDocumentSettings {
  readonly enabled: boolean;
  /** Hosts (exact, or `*.example.com` for a subtree) whose documents may be used; empty: any public host. */
  readonly allowedHosts: readonly string[];
  /** Hosts never used, even when allowed above. */
  readonly blockedHosts: readonly string[];
  /** The scopes such a client may get; its document's `scope` can only narrow them. */
  readonly scopes: readonly string[];
  /** The APIs (resource identifiers, RFC 8707) such a client may get tokens for. */
  readonly apis: readonly string[];
  /** Access-token lifetime in seconds; null: the server default. */
  readonly accessTokenTtl: number | null;
  /** Whether such a client may use refresh tokens (when its document asks for the grant). */
  readonly refreshTokens: boolean;
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
  /** RP-Initiated Logout §3.1: where the end-session endpoint may send the browser back. Absent: none. */
  postLogoutRedirectUris?: string[];
  /** Back-Channel Logout §2.2: where logout tokens are POSTed; absent or null: none. */
  backchannelLogoutUri?: string | null;
  /** Back-Channel Logout §2.2: the client needs `sid` in logout tokens. */
  backchannelLogoutSessionRequired?: boolean;
  /** Ending a browser session revokes the refresh tokens this client obtained in it. */
  logoutRevokesTokens?: boolean;
  /** Dynamic Registration §2; absent or null: RS256. */
  idTokenSignedResponseAlg?: IdTokenAlgorithm | null;
  /** Core §8; absent or null: the environment's. */
  subjectType?: SubjectType | null;
  /** Core §8.1: the sector of pairwise identifiers; absent or null: the redirect URIs' host. */
  sectorIdentifierUri?: string | null;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request must carry a DPoP proof. Absent: false. */
  dpopBoundAccessTokens?: boolean;
  /** RFC 9126 §6: this client's authorization requests must be pushed first. Absent: false. */
  requirePushedAuthorizationRequests?: boolean;
  /** How the client came to be: by an operator, or RFC 7591 dynamic registration. Absent: `admin`. */
  registration?: ClientRegistrationKind;
  /**
   * Set for a client known only by its Client ID Metadata Document (its id is the document's
   * URL): never stored, never first-party. `apis`: the resource identifiers the environment's
   * policy lets it use (it is in no API's client list).
   */
  metadataDocument?: { host: string; apis: readonly string[]; logoUri?: string | undefined; clientUri?: string | undefined };
}

/** `dynamic`: the client registered itself at the registration endpoint (RFC 7591). */
export type ClientRegistrationKind = 'admin' | 'dynamic';

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
  /** OpenID Connect Core §5.1 attributes; absent: none set. */
  profile?: UserProfile;
}

/** Core §5.1.1 address members. */
export interface PostalAddress {
  formatted?: string;
  street_address?: string;
  locality?: string;
  region?: string;
  postal_code?: string;
  country?: string;
}

/** A user's OpenID Connect Core §5.1 attributes; null (or false) when unset. */
export interface UserProfile {
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  /** Null: the username is given as `preferred_username`. */
  preferredUsername: string | null;
  /** An https URL. */
  picture: string | null;
  /** BCP 47, e.g. `en-US`. */
  locale: string | null;
  /** IANA time zone, e.g. `Europe/Paris`. */
  zoneinfo: string | null;
  /** E.164 recommended. */
  phoneNumber: string | null;
  phoneNumberVerified: boolean;
  address: PostalAddress | null;
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
  /**
   * The OpenID session id (`sid`): random, stable for the session's life (a sign-in keeps it),
   * distinct from the cookie value, so it can be given to clients. Absent for older sessions.
   */
  sid?: string;
  /** RFC 8176 authentication methods of the sign-in (`pwd`, …); absent: none recorded. */
  amr?: string[];
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
  /** Present when the request is an OpenID Connect authentication request (its scope has `openid`). */
  oidc?: PendingOidc;
  /**
   * RFC 8628 §3.3: set when the request was held by the device verification page, naming (by
   * its hash) the device authorization the user decides; such a request has no redirect URI.
   */
  deviceCodeHash?: string;
  /** RFC 9449 §10 `dpop_jkt`: the thumbprint of the DPoP key the code must be redeemed with. */
  dpopJkt?: string;
}

/** Core §3.1.2.1 `prompt` values. */
export type OidcPrompt = 'none' | 'login' | 'consent' | 'select_account';

/** The OpenID Connect parameters of an authentication request (Core §3.1.2.1), once checked. */
export interface OidcRequestParameters {
  /** `nonce`, given back in the ID Token; null when the request had none. */
  nonce: string | null;
  /** `prompt` values; empty when absent. `none` never comes with another value. */
  prompt: OidcPrompt[];
  /** `max_age` in seconds; null when absent. */
  maxAge: number | null;
  /** The `sub` of a verified `id_token_hint`, as this client was given it; null when none. */
  hintSubject: string | null;
  /** `login_hint`, which pre-fills the login page; null when none. */
  loginHint: string | null;
  /** `ui_locales` (BCP 47 tags), in the order of preference given; empty when absent. */
  uiLocales: string[];
  /** `acr_values` as requested; recorded, never met (a password is the only level). */
  acrValues: string[];
}

/** `OidcRequestParameters` of a held request, with what its gates need to remember. */
export interface PendingOidc extends OidcRequestParameters {
  /**
   * The id hash of the browser session the request was held in. Every sign-in replaces the
   * session (and its id), so a session still of this hash has not signed in during this flow:
   * a login forced by `prompt=login`, `select_account`, `max_age=0` or an `id_token_hint` for
   * another user is not satisfied by it.
   */
  heldInSession: string;
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
  /** Set when the request asked for `openid`: what the ID Token of its redemption says. */
  oidc?: CodeOidc;
  /** RFC 9449 §10: the DPoP key (thumbprint) its redemption must prove; absent: any or none. */
  dpopJkt?: string;
}

/** What an OpenID authentication carries from /authorize to the ID Tokens it leads to. */
export interface FamilyOidc {
  /** When the user authenticated (epoch ms): `auth_time`. */
  authTime: number;
  /** RFC 8176 methods: `amr`. */
  amr: string[];
  /** `acr`, when one was asked for and met; null otherwise. */
  acr: string | null;
}

/** `FamilyOidc` of a code, with what only the first ID Token carries. */
export interface CodeOidc extends FamilyOidc {
  /** Core §3.1.2.1 `nonce`, given back in the ID Token; null when the request had none. */
  nonce: string | null;
  /** The browser session's `sid`. */
  sid: string | null;
}

/** Where a device authorization stands (RFC 8628 §3.3–3.5). */
export type DeviceAuthorizationStatus = 'pending' | 'approved' | 'denied';

/**
 * RFC 8628 §3.1–3.2: a device's request for authorization, found by the hash of its device
 * code (polling) or of its user code (the verification page). Neither code is kept in clear.
 */
export interface DeviceAuthorization {
  deviceCodeHash: string;
  envId: string;
  userCodeHash: string;
  clientId: string;
  scope: string[];
  /** RFC 8707 APIs the authorization is for; absent when none. */
  resources?: string[];
  /** The token family its redemption creates. */
  familyId: string;
  createdAt: number;
  expiresAt: number;
  /** RFC 8628 §3.5: seconds the client must wait between polls; grows by 5 with each `slow_down`. */
  interval: number;
  lastPolledAt: number | null;
  status: DeviceAuthorizationStatus;
  /** The user who approved or denied it. */
  userId: string | null;
  decidedAt: number | null;
  /** Set when approved with `openid`: what the ID Token says about the approving sign-in. */
  oidc?: CodeOidc;
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

/** Scopes a user granted a client; the next authorization within them skips the consent page. */
export interface Consent {
  envId: string;
  userId: string;
  clientId: string;
  scope: string[];
  grantedAt: number;
  /** The APIs (RFC 8707) the consent covers; absent: it covers none. */
  resources?: string[];
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

/**
 * RFC 9126 §2: an authorization request pushed by an authenticated client, waiting for the
 * browser to bring its `request_uri` to /authorize. Storage holds only the hash of the
 * request_uri's random part; the parameters are those of the request as pushed, without the
 * client's credentials.
 */
export interface PushedAuthorizationRequest {
  idHash: string;
  envId: string;
  clientId: string;
  params: Record<string, string>;
  createdAt: number;
  expiresAt: number;
}
