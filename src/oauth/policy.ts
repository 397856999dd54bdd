/**
 * The settings the OAuth core reads, as plain values (seconds unless named otherwise). The
 * server builds it from the validated configuration; the core never reads configuration itself.
 */
export interface OAuthPolicy {
  /** Fetching Client ID Metadata Documents (whether an environment accepts them is its own setting). */
  readonly clientMetadataDocuments: { readonly allowLoopback: boolean; readonly timeoutMs: number; readonly maxBytes: number };
  /** Default access-token lifetime, used when a client sets none. */
  readonly accessTokenTtl: number;
  /** Upper bound of any access-token lifetime. */
  readonly maxAccessTokenTtl: number;
  /** How long a node serves a cached client, signing key or environment before re-reading storage. */
  readonly cacheTtl: number;
  /** How long a cached entry may still be served while the database is unavailable. */
  readonly cacheStaleIfError: number;
  /** Failed client authentications allowed per window: per (client id, source), per source, per client id. */
  readonly authFailureLimit: number;
  readonly authFailureSourceLimit: number;
  readonly authFailureClientLimit: number;
  readonly authFailureWindow: number;
  /** Length of a request-quota window. */
  readonly quotaWindow: number;
  /** Longest accepted distance from now to an assertion's `exp`. */
  readonly assertionMaxLifetime: number;
  /** Tolerated clock difference when checking `exp`, `nbf` and `iat`. */
  readonly clockSkew: number;
  /** RFC 9449 §4.3: how far a DPoP proof's `iat` may lie from now, before the clock skew. */
  readonly dpopProofWindow: number;
  /** Authorization-code lifetime (at most 600). */
  readonly authorizationCodeTtl: number;
  /** RFC 8628: device code lifetime (`expires_in`) and the first polling `interval`. */
  readonly deviceCodeTtl: number;
  readonly deviceCodeInterval: number;
  /** Seconds a pushed authorization request's request_uri may be used (RFC 9126 §2.2 `expires_in`). */
  readonly pushedRequestTtl: number;
  /** A refresh token unused this long expires; no token of a family works this long after the authorization. */
  readonly refreshTokenIdleTtl: number;
  readonly refreshTokenAbsoluteTtl: number;
  /** RFC 9700 §4.14.2: how long an exact retry of a refresh gets the same answer instead of revoking the family; 0: never. */
  readonly refreshRetryGrace: number;
  /** Lifetime of an ID Token (OpenID Connect Core §2 `exp`). */
  readonly idTokenTtl: number;
  /**
   * The sign-in of Gatehouse's own console: the management environment and the console's
   * callback on the admin listener. Only the console's own client is first-party there, once the
   * console names it (`AuthorizationEndpoint.setFirstPartyClient`). Absent: no console is
   * served, every client is third-party.
   */
  readonly firstPartySignIn?: FirstPartySignIn | undefined;
}

/** Where a first-party sign-in happens: one environment, one redirect URI that only the server itself answers. */
export interface FirstPartySignIn {
  readonly environment: string;
  readonly redirectUri: string;
}
