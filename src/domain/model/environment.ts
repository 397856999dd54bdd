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
