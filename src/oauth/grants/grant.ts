import type { CredentialUse } from '../../domain/events.ts';
import type { ActorClaim, Client, Environment } from '../../domain/model.ts';
import type { IssuedAccessToken } from '../access-tokens.ts';
import type { AuthenticatedClient } from '../client-auth.ts';
import type { DpopProof } from '../dpop/proof.ts';
import type { RateLimitState } from '../rate-limit.ts';

/** What every grant receives: the environment, the authenticated client and the request parameters. */
export interface GrantContext {
  env: Environment;
  issuer: string;
  /** The authenticated client; undefined only for grants whose client authentication is optional. */
  client: AuthenticatedClient | undefined;
  /** Single-valued parameters; duplicates were already refused. */
  params: Readonly<Record<string, string>>;
  /** Values an assertion's `aud` may take here: the issuer and this endpoint's URL. */
  audiences: readonly string[];
  /** Access-token lifetime in seconds set by the surface, over the client's own; capped by the server maximum. */
  accessTokenTtl?: number | undefined;
  /** RFC 9449 §5: the key of the request's valid DPoP proof; its access token is bound to it. Absent: no proof. */
  dpop?: DpopProof | undefined;
}

/** A successful token response before a dialect shapes it. */
export interface TokenResult extends IssuedAccessToken {
  refreshToken?: string;
  /** OpenID Connect Core §3.1.3.3 and §12.2: the ID Token issued beside the access token, when one was. */
  idToken?: string;
  /** RFC 8693 §2.2.1 `issued_token_type`: the type URI of what a token exchange issued. */
  issuedTokenType?: string;
  /** RFC 8693 §4.1: who acts for the subject, for the `token.issued` event; set by a token exchange. */
  act?: ActorClaim;
  /** The client's quota after this request, for `RateLimit` and `RateLimit-Policy` headers; undefined when it has none. */
  rateLimit?: RateLimitState;
  /** The credential that authenticated, when the grant itself checked it (a jwt-bearer assertion's key). */
  credential?: CredentialUse;
  /** An earlier answer given again to an exact retry of its request (refresh grace period): nothing new was issued. */
  replayed?: boolean;
  /** RFC 9449 §8: the current server nonce, for the `DPoP-Nonce` header, when the environment uses nonces. */
  dpopNonce?: string;
}

/**
 * One grant type. The token endpoint looks grants up by `grantType` in a `GrantRegistry`;
 * adding a grant means adding a module (`GrantModule`, grants/index.ts), never a branch in the endpoint.
 */
export interface Grant {
  readonly grantType: string;
  /**
   * `required`: the client must authenticate. `optional`: the grant carries its own credential
   * (an assertion) that identifies the caller; client credentials, when sent, are still checked.
   */
  readonly clientAuthentication: 'required' | 'optional';
  handle(context: GrantContext): Promise<TokenResult>;
}

/** A grant as the token endpoint finds it, with what its module says about clients. */
export interface RegisteredGrant {
  readonly grant: Grant;
  /** Whether a public client (no secret) may use it. */
  readonly allowsPublicClients: boolean;
}

export class GrantRegistry {
  private readonly grants = new Map<string, RegisteredGrant>();

  register(grant: Grant, allowsPublicClients: boolean): this {
    if (this.grants.has(grant.grantType)) throw new Error(`grant ${grant.grantType} is already registered`);
    this.grants.set(grant.grantType, { grant, allowsPublicClients });
    return this;
  }

  get(grantType: string): RegisteredGrant | undefined {
    return this.grants.get(grantType);
  }

  grantTypes(): string[] {
    return [...this.grants.keys()];
  }
}

/** The client of a grant that declared `clientAuthentication: 'required'`. */
export function requireClient(client: AuthenticatedClient | undefined): Client {
  if (!client) throw new Error('grant declared required client authentication but received none');
  return client.client;
}
