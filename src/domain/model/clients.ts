import type { IdTokenAlgorithm, SubjectType } from './environment.ts';

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
   * policy lets it use (it is in no API's client list). `keys`: a private_key_jwt client's
   * public keys, from its document (`jwks`) or where it publishes them (`jwks_uri`).
   */
  metadataDocument?: {
    host: string;
    apis: readonly string[];
    logoUri?: string | undefined;
    clientUri?: string | undefined;
    keys?: readonly DocumentClientKey[] | undefined;
  };
}

/** `dynamic`: the client registered itself at the registration endpoint (RFC 7591). */
export type ClientRegistrationKind = 'admin' | 'dynamic';

/**
 * A client no operator made: registered at the endpoint (RFC 7591) or known by its Client ID
 * Metadata Document. Anyone can make one, so their ids never become metric labels.
 */
export type SelfRegistration = 'dynamic' | 'metadata_document';

/** How `client` registered itself, or undefined for an operator's client. */
export const selfRegistration = (client: Client): SelfRegistration | undefined =>
  client.metadataDocument ? 'metadata_document' : client.registration === 'dynamic' ? 'dynamic' : undefined;

/** The most scopes a client or an API lists, and the most redirect URIs a client has: the same bound on every path. */
export const MAX_SCOPES = 100;
export const MAX_REDIRECT_URIS = 50;

/** The longest a client's previous secrets keep working after a rotation: 90 days. */
export const MAX_SECRET_OVERLAP_SECONDS = 90 * 86_400;

export interface ClientSecret {
  id: string;
  secretHash: string;
  createdAt: number;
  /** Null while the secret is current; set when a rotation starts its overlap window. */
  expiresAt: number | null;
}
/** A public key a Client ID Metadata Document client signs its assertions with. */
export interface DocumentClientKey {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
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
