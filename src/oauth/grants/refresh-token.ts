import { hashSecret } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Environment, RefreshToken } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import { type ApiDirectory, definedByResources, narrowGrantedResources, tokenOptionsOf } from '../apis.ts';
import { confirmationOf } from '../dpop/proof.ts';
import { OAuthError, type OAuthErrorReason } from '../errors.ts';
import { tokenAuthenticationOf } from '../openid/acr.ts';
import type { RefreshRetries, RetryBinding } from '../refresh-retries.ts';
import { parseScope } from '../scope.ts';
import { type FamilyTokenIssuer, userIsActive } from '../token-families.ts';
import { type Grant, requireClient, type TokenResult } from './grant.ts';
import { type GrantModule, RESOURCE_PARAMETER } from './module.ts';

const invalidGrant = (description: string, reason: OAuthErrorReason) => new OAuthError('invalid_grant', description, { parameter: 'refresh_token', reason });
const reused = () => invalidGrant('the refresh token was already used; its token family is revoked', 'refresh_token_reused');

export const REFRESH_TOKEN = 'refresh_token';
/** The parameters of a refresh besides the token itself: an exact retry repeats them byte for byte. */
const REQUEST_PARAMETERS = ['scope', 'resource'] as const;

interface RetryDeps {
  store: Pick<Store, 'tokenFamilies' | 'users'>;
  retries: RefreshRetries;
  clock: Clock;
}

/** A retired refresh token presented again, by the client it was issued to. */
interface Presentation {
  env: Environment;
  /** The token as read after its rotation committed. */
  token: RefreshToken;
  presented: string;
  binding: RetryBinding;
  /** When this request reached the grant. */
  receivedAt: number;
}

/**
 * RFC 9700 §4.14.2: the answer the rotation of the presented token sealed, for an exact retry in
 * the grace period; otherwise reuse, and the whole family is revoked. A request that arrived at
 * or before the instant of that rotation raced it — its answer cannot have been lost yet — so it
 * is a concurrent use, never a retry.
 */
async function retryOrRevoke({ store, retries, clock }: RetryDeps, { env, token, presented, binding, receivedAt }: Presentation): Promise<TokenResult> {
  const now = clock.now();
  if (retries.enabled && token.rotatedAt !== null && receivedAt > token.rotatedAt && token.revokedAt === null) {
    const sealed = await store.tokenFamilies.findRetry(env.id, binding.presentedHash, binding.requestHash, now);
    const answer = sealed === undefined ? undefined : retries.open(sealed, presented, binding);
    if (answer) {
      if (!(await userIsActive(store, env.id, token.userId))) throw invalidGrant('the user who authorized this token is disabled or gone', 'user_inactive');
      return answer;
    }
  }
  await store.tokenFamilies.revoke(env.id, token.familyId, now);
  throw reused();
}

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token and
 * retires the presented one in one conditional update. Presenting a retired token again means
 * it was stolen or replayed, so the whole family (refresh and access tokens) is revoked — except
 * an exact retry within the grace period of `retries` (same client and parameters, the new
 * refresh token still unused), which gets the answer its request lost instead.
 */
export function refreshTokenGrant(
  store: Pick<Store, 'tokenFamilies' | 'users'>,
  families: FamilyTokenIssuer,
  clock: Clock,
  apis: ApiDirectory,
  retries: RefreshRetries,
): Grant {
  return {
    grantType: REFRESH_TOKEN,
    clientAuthentication: 'required',
    async handle({ env, issuer, client: authenticated, params, accessTokenTtl: ttl, dpop }) {
      const receivedAt = clock.now();
      const client = requireClient(authenticated);
      const presented = params.refresh_token;
      if (presented === undefined || presented === '') throw new OAuthError('invalid_request', 'refresh_token is required', { parameter: 'refresh_token' });
      const requested = parseScope(params.scope);
      const tokenHash = hashSecret(presented);
      // The refresh's only read: the token, its family and its user in one statement; the rotation is one more.
      const found = await store.tokenFamilies.findForRotation(env.id, tokenHash);
      const token = found?.token;
      const now = clock.now();
      // RFC 6749 §6: the refresh token is bound to the client it was issued to.
      if (!token || token.clientId !== client.clientId) throw invalidGrant('the refresh token is invalid', 'refresh_token_unknown');
      if (token.revokedAt !== null) throw invalidGrant('the refresh token was revoked', 'refresh_token_revoked');
      const requestHash = retries.requestHash({ clientId: client.clientId, issuer, accessTokenTtl: ttl, params }, REQUEST_PARAMETERS);
      const binding: RetryBinding = { envId: env.id, presentedHash: tokenHash, requestHash };
      // Already rotated, by a committed rotation: an exact retry, or reuse.
      if (token.rotatedAt !== null) return retryOrRevoke({ store, retries, clock }, { env, token, presented, binding, receivedAt });
      if (token.expiresAt <= now) throw invalidGrant('the refresh token has expired', 'refresh_token_expired');
      const family = found?.family;
      if (!family || family.revokedAt !== null || family.expiresAt <= now) throw invalidGrant('the refresh token has expired', 'refresh_token_expired');
      if (!found?.userActive) throw invalidGrant('the user who authorized this token is disabled or gone', 'user_inactive');
      // RFC 9449 §5.8: a refresh token bound to a DPoP key is used only with a proof of that key.
      if (family.dpopJkt !== undefined && dpop?.jkt !== family.dpopJkt) {
        throw new OAuthError('invalid_grant', 'this refresh token is bound to a DPoP key; the DPoP proof must be signed with it', {
          parameter: 'refresh_token',
        });
      }
      // RFC 8707 §2: a subset of the APIs the user granted; the scope then only what they define.
      const target = await narrowGrantedResources(apis, env.id, client, family.resources, params);
      const fits = definedByResources(target);
      const grantable = family.scope.filter((s) => client.scopes.includes(s) && fits(s));
      // RFC 6749 §6: a refresh may narrow the scope the user granted, never widen it.
      const widened = requested.filter((s) => !grantable.includes(s));
      if (widened.length > 0) {
        throw new OAuthError('invalid_scope', `scope was not granted to this refresh token: ${widened.join(' ')}`, { parameter: 'scope' });
      }
      const scope = requested.length > 0 ? requested : grantable;
      const { result, issue } = await families.mint({
        env,
        issuer,
        ttl,
        client,
        userId: family.userId,
        familyId: family.familyId,
        scope,
        ...tokenOptionsOf(target),
        familyExpiresAt: family.expiresAt,
        withRefreshToken: true,
        // Core §12.2: while the refresh keeps `openid`, a new ID Token: the same sub, aud and auth_time,
        // a new iat, no nonce (it belongs to the authentication request, and a refresh is none).
        idToken: family.oidc && scope.includes('openid') ? { oidc: family.oidc, sid: family.sid, nonce: undefined } : undefined,
        cnf: confirmationOf(dpop),
        authentication: tokenAuthenticationOf(family.oidc),
      });
      const retry = retries.seal(result, presented, binding, now);
      if (await store.tokenFamilies.rotate(env.id, family.familyId, tokenHash, now, issue, retry)) return result;
      // Another request rotated (or revoked) it first, and has committed by now: this one is a
      // retry that arrived while that rotation was under way, or reuse. Judged on the token as it is now.
      const rotated = (await store.tokenFamilies.findRefreshToken(env.id, tokenHash)) ?? { ...token, revokedAt: now };
      return retryOrRevoke({ store, retries, clock }, { env, token: rotated, presented, binding, receivedAt });
    },
  };
}

export const refreshTokenModule: GrantModule = {
  grantType: REFRESH_TOKEN,
  assignable: 'clients',
  label: 'Refresh tokens (with a grant that signs a user in)',
  parameters: {
    refresh_token: { description: 'The refresh token', secret: true },
    scope: { description: 'Space-separated scopes: a subset of those granted (RFC 6749 §6)' },
    resource: RESOURCE_PARAMETER,
  },
  allowsPublicClients: true,
  create: (s) => refreshTokenGrant(s.store, s.families, s.clock, s.apis, s.refreshRetries),
};
