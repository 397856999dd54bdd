import type { Environment } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import type { AccessTokenService } from '../access-tokens.ts';
import type { ClientCache } from '../client-cache.ts';
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
  /** The bearer access token, however it was presented (RFC 6750 §2.1, §2.2). */
  token: string;
}

const invalidToken = (description: string) => new OAuthError('invalid_token', description, { challenge: 'Bearer' });

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
  ) {}

  async handle(request: UserInfoRequest): Promise<Record<string, unknown>> {
    const { env, issuer } = request;
    // Only access tokens are read: an ID Token (typ JWT, not at+jwt) is refused like any other JWT.
    const claims = await this.tokens.read(env, issuer, request.token);
    if (!claims) throw invalidToken('the access token is invalid, expired or revoked');
    // RFC 9449 §7.1: a DPoP-bound token is never accepted as a bearer token. UserInfo takes no DPoP proofs yet.
    if (claims.cnf) throw invalidToken('the access token is DPoP-bound; UserInfo accepts bearer tokens only');
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
}
