import type { Environment } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import type { AccessTokenService } from '../access-tokens.ts';
import type { ClientCache } from '../client-cache.ts';
import type { DpopProofVerifier } from '../dpop/proof.ts';
import { OPENID_PATHS } from '../endpoints.ts';
import { OAuthError } from '../errors.ts';
import { userClaims } from './claims.ts';
import { subjectFor } from './subject.ts';

/** The UserInfo URL of an issuer (Core §5.3). */
export const userinfoUrlOf = (issuer: string): string => `${issuer}${OPENID_PATHS.userinfo}`;

/**
 * The audience of an access token that carries `openid`. A token for the issuer (no API named)
 * is already for UserInfo; a token for APIs (RFC 8707) names the UserInfo URL beside them, so the
 * one token a client got at sign-in serves both its API and UserInfo, and a token for APIs
 * without `openid` is refused there.
 */
export function userinfoAudience(apis: readonly string[] | undefined, issuer: string): string[] | undefined {
  if (!apis?.length) return undefined;
  const userinfo = userinfoUrlOf(issuer);
  return apis.includes(userinfo) ? [...apis] : [...apis, userinfo];
}

/** Whether an access token's `aud` lets it be used at UserInfo: the issuer, or the UserInfo URL. */
export function isForUserinfo(audience: string | readonly string[], issuer: string): boolean {
  const names = typeof audience === 'string' ? [audience] : audience;
  return names.includes(issuer) || names.includes(userinfoUrlOf(issuer));
}

export interface UserInfoRequest {
  env: Environment;
  issuer: string;
  /** The access token, however it was presented (RFC 6750 §2.1, §2.2; RFC 9449 §7.1). */
  token: string;
  /** RFC 9449 §7: the token came as `Authorization: DPoP`, with this proof for this request. */
  dpop?: { proof: string | undefined; method: string; url: string };
}

const invalidToken = (description: string, challenge: 'Bearer' | 'DPoP' = 'Bearer') => new OAuthError('invalid_token', description, { challenge });

/**
 * OpenID Connect Core §5.3 UserInfo: the claims about the user an access token was issued for,
 * as plain JSON (§5.3.2; no signed or encrypted response is offered). `sub` is the one the ID
 * Token of the same client carries (public or pairwise, §8); the other claims are those of the
 * scopes the token carries (§5.4). Refusals follow RFC 6750 §3.1: `invalid_token` (401) for a
 * token that is missing, invalid, expired, revoked, not an access token, not for this endpoint,
 * or whose user or client is disabled or gone; `insufficient_scope` (403) without `openid`.
 */
export class UserInfoEndpoint {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly clients: ClientCache,
    private readonly store: Pick<Store, 'users'>,
    private readonly dpop: DpopProofVerifier,
  ) {}

  async handle(request: UserInfoRequest): Promise<Record<string, unknown>> {
    const { env, issuer } = request;
    // Only access tokens are read: an ID Token (typ JWT, not at+jwt) is refused like any other JWT.
    const scheme = request.dpop ? 'DPoP' : 'Bearer';
    const claims = await this.tokens.read(env, issuer, request.token);
    if (!claims) throw invalidToken('the access token is invalid, expired or revoked', scheme);
    if (request.dpop) await this.checkProof(request, request.dpop, claims.cnf?.jkt);
    // RFC 9449 §7.1: a DPoP-bound token is never accepted as a bearer token.
    else if (claims.cnf) throw invalidToken('the access token is DPoP-bound: present it as "DPoP <token>" with a DPoP proof');
    if (!isForUserinfo(claims.audience, issuer)) throw invalidToken('the access token is not for this endpoint');
    const scopes = claims.scope.split(' ').filter((s) => s !== '');
    if (!scopes.includes('openid')) {
      throw new OAuthError('insufficient_scope', 'the access token was not granted the openid scope', { challenge: 'Bearer', status: 403 });
    }
    const { client } = await this.clients.get(env.id, claims.clientId);
    if (!client?.enabled) throw invalidToken('the client the access token was issued to is disabled or gone');
    const user = await this.store.users.find(env.id, claims.subject);
    // A client's or service account's own token has no user behind it.
    if (!user?.enabled) throw invalidToken('the access token was not issued for an enabled user');
    return { sub: subjectFor(env, client, user.userId), ...userClaims(user, scopes) };
  }

  /**
   * RFC 9449 §7: a token presented as DPoP must be bound to a key (`cnf.jkt`), and the request
   * must carry one proof for this method and URL, with `ath` the hash of the token, signed with
   * that key. Refusals are 401 with a DPoP challenge (§7.1).
   */
  private async checkProof(request: UserInfoRequest, dpop: NonNullable<UserInfoRequest['dpop']>, jkt: string | undefined): Promise<void> {
    if (jkt === undefined) throw invalidToken('the access token is not DPoP-bound: present it as a bearer token', 'DPoP');
    if (dpop.proof === undefined) throw new OAuthError('invalid_dpop_proof', 'a DPoP proof is required with a DPoP token', { challenge: 'DPoP', status: 401 });
    let proved: string;
    try {
      proved = (await this.dpop.verify(request.env, dpop.proof, { method: dpop.method, url: dpop.url, accessToken: request.token })).jkt;
    } catch (error) {
      if (!(error instanceof OAuthError) || (error.code !== 'invalid_dpop_proof' && error.code !== 'use_dpop_nonce')) throw error;
      throw new OAuthError(error.code, error.description, { challenge: 'DPoP', status: 401, ...(error.dpopNonce ? { dpopNonce: error.dpopNonce } : {}) });
    }
    if (proved !== jkt) throw invalidToken('the DPoP proof is signed with another key than the one the access token is bound to', 'DPoP');
  }
}
