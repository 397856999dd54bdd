/**
 * RFC 7591 dynamic client registration and RFC 7592 management: the records the registration
 * endpoint keeps and the storage port they go through.
 */

/** How clients may register in an environment: not at all (the default), freely, or with an initial access token. */
export type RegistrationMode = 'off' | 'open' | 'initial_access_token';
export const REGISTRATION_MODES: readonly RegistrationMode[] = ['off', 'open', 'initial_access_token'];

/** RFC 7591 §2.3: an issuer of software statements the operator trusts, with its public keys. */
export interface TrustedStatementIssuer {
  /** The statement's `iss`. */
  issuer: string;
  /** A JWK Set (`{ "keys": [...] }`) of the issuer's public keys. */
  jwks: { keys: Record<string, unknown>[] };
}

/** What dynamically registered clients of one environment may get. */
export interface RegistrationPolicy {
  envId: string;
  mode: RegistrationMode;
  /** Scopes a registered client may ask for; absent `scope` gets all of them (RFC 7591 §2). */
  allowedScopes: string[];
  /** API identifiers (RFC 8707 resources) a registered client is allowed to get tokens for. */
  allowedApis: string[];
  /** Grant types a registered client may use; default authorization_code and refresh_token. */
  allowedGrantTypes: string[];
  /** `token_endpoint_auth_method` values allowed; default `none` (public clients with PKCE). */
  allowedAuthMethods: string[];
  /** Seconds; a registered client's access tokens live at most this long. Null: the server's default. */
  maxAccessTokenTtl: number | null;
  /** A registered client unused this many days is deleted by the sweeper; null: kept. */
  unusedClientDays: number | null;
  /** RFC 7591 §2.3: issuers of software statements accepted here. */
  softwareStatementIssuers: TrustedStatementIssuer[];
  /** Every registration must carry a software statement from a trusted issuer. */
  requireSoftwareStatement: boolean;
  /** Registration requests accepted from one source address (an IPv6 /64) per hour. */
  sourceLimitPerHour: number;
  updatedAt: number;
}

/** Registrations one source address may make per hour unless the policy says otherwise. */
export const DEFAULT_SOURCE_LIMIT_PER_HOUR = 20;

/** The policy of an environment that never set one: registration off. */
export const defaultRegistrationPolicy = (envId: string): RegistrationPolicy => ({
  envId,
  mode: 'off',
  allowedScopes: [],
  allowedApis: [],
  allowedGrantTypes: ['authorization_code', 'refresh_token'],
  allowedAuthMethods: ['none'],
  maxAccessTokenTtl: null,
  unusedClientDays: null,
  softwareStatementIssuers: [],
  requireSoftwareStatement: false,
  sourceLimitPerHour: DEFAULT_SOURCE_LIMIT_PER_HOUR,
  updatedAt: 0,
});

/** RFC 7592 §3: a dynamically registered client's registration. */
export interface ClientRegistration {
  envId: string;
  clientId: string;
  /** Hash of the registration access token; the token itself is shown once. */
  accessTokenHash: string;
  /** The client metadata as registered (RFC 7591 §3.2.1), echoed on read. */
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** RFC 7591 §3: a token an operator hands to a developer so a registration is allowed. */
export interface InitialAccessToken {
  id: string;
  envId: string;
  tokenHash: string;
  description: string;
  usesLeft: number;
  createdAt: number;
  expiresAt: number;
}

export interface RegistrationStore {
  /** The environment's policy, or undefined if it never set one. */
  findPolicy(envId: string): Promise<RegistrationPolicy | undefined>;
  savePolicy(policy: RegistrationPolicy): Promise<void>;
  /** Every stored policy (the sweeper reads those that expire unused clients). */
  listPolicies(): Promise<RegistrationPolicy[]>;
  insertRegistration(registration: ClientRegistration): Promise<void>;
  findRegistration(envId: string, clientId: string): Promise<ClientRegistration | undefined>;
  /** Replaces the metadata and the token hash; false if there is no such registration. */
  updateRegistration(registration: ClientRegistration): Promise<boolean>;
  insertInitialAccessToken(token: InitialAccessToken): Promise<void>;
  listInitialAccessTokens(envId: string): Promise<InitialAccessToken[]>;
  /** False if there is no such token in the environment. */
  deleteInitialAccessToken(envId: string, id: string): Promise<boolean>;
  /**
   * Spends one use of the token whose hash is `tokenHash` if it is unexpired at `now` and has
   * uses left: one conditional UPDATE, so of N concurrent uses of a token with k uses exactly k
   * succeed. Returns its id, or undefined.
   */
  consumeInitialAccessToken(envId: string, tokenHash: string, now: number): Promise<string | undefined>;
}
