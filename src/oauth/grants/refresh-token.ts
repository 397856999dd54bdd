import { hashSecret } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Store } from '../../domain/storage.ts';
import { type ApiDirectory, definedByResources, narrowGrantedResources, tokenOptionsOf } from '../apis.ts';
import { OAuthError, type OAuthErrorReason } from '../errors.ts';
import { parseScope } from '../scope.ts';
import { type FamilyTokenIssuer, userIsActive } from '../token-families.ts';
import { type Grant, requireClient } from './grant.ts';

const invalidGrant = (description: string, reason: OAuthErrorReason) => new OAuthError('invalid_grant', description, { parameter: 'refresh_token', reason });

export const REFRESH_TOKEN = 'refresh_token';

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token and
 * retires the presented one in one conditional update. Presenting a retired token again means
 * it was stolen or replayed, so the whole family (refresh and access tokens) is revoked.
 */
export function refreshTokenGrant(store: Pick<Store, 'tokenFamilies' | 'users'>, families: FamilyTokenIssuer, clock: Clock, apis: ApiDirectory): Grant {
  return {
    grantType: REFRESH_TOKEN,
    parameters: ['refresh_token', 'scope', 'resource'],
    allowsPublicClients: true,
    clientAuthentication: 'required',
    async handle({ env, issuer, client: authenticated, params, accessTokenTtl: ttl }) {
      const client = requireClient(authenticated);
      const presented = params.refresh_token;
      if (presented === undefined || presented === '') throw new OAuthError('invalid_request', 'refresh_token is required', { parameter: 'refresh_token' });
      const requested = parseScope(params.scope);
      const tokenHash = hashSecret(presented);
      const token = await store.tokenFamilies.findRefreshToken(env.id, tokenHash);
      const now = clock.now();
      // RFC 6749 §6: the refresh token is bound to the client it was issued to.
      if (!token || token.clientId !== client.clientId) throw invalidGrant('the refresh token is invalid', 'refresh_token_unknown');
      if (token.revokedAt !== null) throw invalidGrant('the refresh token was revoked', 'refresh_token_revoked');
      if (token.rotatedAt !== null) {
        await store.tokenFamilies.revoke(env.id, token.familyId, now);
        throw invalidGrant('the refresh token was already used; its token family is revoked', 'refresh_token_reused');
      }
      if (token.expiresAt <= now) throw invalidGrant('the refresh token has expired', 'refresh_token_expired');
      const family = await store.tokenFamilies.find(env.id, token.familyId);
      if (!family || family.revokedAt !== null || family.expiresAt <= now) throw invalidGrant('the refresh token has expired', 'refresh_token_expired');
      if (!(await userIsActive(store, env.id, family.userId))) throw invalidGrant('the user who authorized this token is disabled or gone', 'user_inactive');
      // RFC 8707 §2: a subset of the APIs the user granted; the scope then only what they define.
      const target = await narrowGrantedResources(apis, env.id, client, family.resources, params);
      const fits = definedByResources(target);
      const grantable = family.scope.filter((s) => client.scopes.includes(s) && fits(s));
      // RFC 6749 §6: a refresh may narrow the scope the user granted, never widen it.
      const widened = requested.filter((s) => !grantable.includes(s));
      if (widened.length > 0) {
        throw new OAuthError('invalid_scope', `scope was not granted to this refresh token: ${widened.join(' ')}`, { parameter: 'scope' });
      }
      const { result, issue } = await families.mint({
        env,
        issuer,
        ttl,
        client,
        userId: family.userId,
        familyId: family.familyId,
        scope: requested.length > 0 ? requested : grantable,
        ...tokenOptionsOf(target),
        familyExpiresAt: family.expiresAt,
        withRefreshToken: true,
      });
      if (!(await store.tokenFamilies.rotate(env.id, family.familyId, tokenHash, now, issue))) {
        // A concurrent request rotated (or revoked) it first: a replay, handled the same way.
        await store.tokenFamilies.revoke(env.id, token.familyId, now);
        throw invalidGrant('the refresh token was already used; its token family is revoked', 'refresh_token_reused');
      }
      return result;
    },
  };
}
