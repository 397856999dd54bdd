import { hashSecret } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import type { AuthorizationCode, Client, Environment, TokenFamily } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import { type ApiDirectory, definedByResources, narrowGrantedResources, tokenOptionsOf } from '../apis.ts';
import { confirmationOf, type DpopProof } from '../dpop/proof.ts';
import { OAuthError, type OAuthErrorReason } from '../errors.ts';
import { tokenAuthenticationOf } from '../openid/acr.ts';
import { verifierMatches } from '../pkce.ts';
import type { FamilyTokenIssuer } from '../token-families.ts';
import { type Grant, requireClient } from './grant.ts';
import { type GrantModule, RESOURCE_PARAMETER } from './module.ts';

const invalidGrant = (description: string, reason: OAuthErrorReason, parameter = 'code') => new OAuthError('invalid_grant', description, { parameter, reason });

export const AUTHORIZATION_CODE = 'authorization_code';

/**
 * Whether a user flow gets a refresh token (Core §11). The client must be registered for the
 * refresh_token grant; under the environment's `offline_access` policy the user must also have
 * granted `offline_access`. The default policy, `client`, is the behaviour from before OpenID
 * Connect: no existing client loses its refresh tokens.
 */
export function refreshTokenAllowed(
  env: Pick<Environment, 'refreshTokenPolicy'>,
  client: Pick<Client, 'grantTypes'>,
  grantedScope: readonly string[],
): boolean {
  if (!client.grantTypes.includes('refresh_token')) return false;
  return (env.refreshTokenPolicy ?? 'client') === 'client' || grantedScope.includes('offline_access');
}

/**
 * RFC 6749 §4.1.3 with RFC 7636: a client trades a code it obtained at /authorize, with the
 * PKCE verifier, for an access token (and a refresh token when it may use that grant). The code
 * is consumed by one conditional update inside the transaction that records the new token
 * family; a second redemption revokes everything the first one issued (RFC 6749 §4.1.2).
 */
export function authorizationCodeGrant(
  store: Pick<Store, 'authorizationCodes' | 'tokenFamilies' | 'users'>,
  families: FamilyTokenIssuer,
  clock: Clock,
  apis: ApiDirectory,
): Grant {
  return {
    grantType: AUTHORIZATION_CODE,
    clientAuthentication: 'required',
    async handle({ env, issuer, client: authenticated, params, accessTokenTtl: ttl, dpop }) {
      const client = requireClient(authenticated);
      const { code, redirect_uri: redirectUri, code_verifier: verifier } = params;
      if (code === undefined || code === '') throw new OAuthError('invalid_request', 'code is required', { parameter: 'code' });
      if (redirectUri === undefined) throw new OAuthError('invalid_request', 'redirect_uri is required', { parameter: 'redirect_uri' });
      const codeHash = hashSecret(code);
      // The redemption's only read: the code and its user in one statement; the write is one more.
      const found = await store.authorizationCodes.findForRedemption(env.id, codeHash);
      const now = clock.now();
      if (!found) throw invalidGrant('the authorization code is invalid', 'code_unknown');
      const record = found.code;
      if (record.consumedAt !== null) {
        // RFC 6749 §4.1.2 and RFC 9700 §4.5: a replayed code means it leaked; recall what it gave.
        await store.tokenFamilies.revoke(env.id, record.familyId, now);
        throw invalidGrant('the authorization code was already used; the tokens issued for it are revoked', 'code_reused');
      }
      if (record.expiresAt <= now) throw invalidGrant('the authorization code has expired', 'code_expired');
      if (record.clientId !== client.clientId) throw invalidGrant('the authorization code was issued to another client', 'code_client_mismatch');
      // RFC 6749 §4.1.3: redirect_uri must be identical to the one of the authorization request.
      if (redirectUri !== record.redirectUri)
        throw invalidGrant('redirect_uri does not match the authorization request', 'redirect_uri_mismatch', 'redirect_uri');
      if (record.codeChallenge === null) {
        // A public client has no secret: PKCE is its only proof of possession.
        if (authenticated?.method === 'none') throw invalidGrant('a public client must use PKCE; this code was issued without a code_challenge', 'pkce_failed');
        if (verifier !== undefined)
          throw invalidGrant('this code was issued without a code_challenge; code_verifier is not accepted', 'pkce_failed', 'code_verifier');
      } else if (verifier === undefined) {
        throw new OAuthError('invalid_request', 'code_verifier is required', { parameter: 'code_verifier' });
      } else if (!verifierMatches(verifier, record.codeChallenge)) {
        throw invalidGrant('code_verifier does not match the code_challenge', 'pkce_failed', 'code_verifier');
      }
      if (!found.userActive) throw invalidGrant('the user who authorized this code is disabled or gone', 'user_inactive');
      // The client may have lost scopes since the user consented: only what it still may have.
      const scope = record.scope.filter((s) => client.scopes.includes(s));
      // RFC 8707 §2: the access token is for the APIs of the code, or the subset named here.
      const target = await narrowGrantedResources(apis, env.id, client, record.resources, params);
      const family = families.newFamily(env, client, record.userId, scope, record.familyId, record.resources, record.oidc);
      bindToProofKey(record, family, dpop, authenticated?.method === 'none');
      const tokenScope = scope.filter(definedByResources(target));
      // Core §3.1.3.3: an ID Token when the code came from an OpenID authentication request and `openid` is still granted.
      const oidc = record.oidc !== undefined && tokenScope.includes('openid') ? record.oidc : undefined;
      const { result, issue } = await families.mint({
        env,
        issuer,
        ttl,
        client,
        userId: record.userId,
        familyId: family.familyId,
        scope: tokenScope,
        ...tokenOptionsOf(target),
        familyExpiresAt: family.expiresAt,
        withRefreshToken: refreshTokenAllowed(env, client, scope),
        idToken: oidc && { oidc, sid: oidc.sid, nonce: oidc.nonce },
        cnf: confirmationOf(dpop),
        authentication: tokenAuthenticationOf(record.oidc),
      });
      if (!(await store.authorizationCodes.redeem(env.id, codeHash, now, family, issue))) {
        // Another request consumed it between our read and our update: this is a replay too.
        await store.tokenFamilies.revoke(env.id, record.familyId, now);
        throw invalidGrant('the authorization code was already used; the tokens issued for it are revoked', 'code_reused');
      }
      return result;
    },
  };
}

/**
 * RFC 9449 §10: a code requested with `dpop_jkt` is redeemed only with a proof of that key.
 * §5.8: a public client's refresh tokens are bound to its proof's key; a confidential client's are not.
 */
function bindToProofKey(record: AuthorizationCode, family: TokenFamily, dpop: DpopProof | undefined, publicClient: boolean): void {
  if (record.dpopJkt !== undefined && dpop?.jkt !== record.dpopJkt) {
    // The RFC names no error code; the code is the grant that is bound, as a refresh token is (§5.8).
    throw new OAuthError('invalid_grant', 'the authorization request named a DPoP key (dpop_jkt); the DPoP proof must be signed with it', {
      parameter: 'code',
    });
  }
  if (dpop && publicClient) family.dpopJkt = dpop.jkt;
}

export const authorizationCodeModule: GrantModule = {
  grantType: AUTHORIZATION_CODE,
  assignable: 'clients',
  label: 'Authorization code (users sign in)',
  parameters: {
    code: { description: 'The authorization code from the redirect', secret: true },
    redirect_uri: { description: 'The redirect_uri given at the authorization endpoint' },
    code_verifier: { description: 'The PKCE verifier (RFC 7636)', secret: true },
    resource: RESOURCE_PARAMETER,
  },
  allowsPublicClients: true,
  needsRedirectUris: true,
  startsUserSessions: true,
  create: (s) => authorizationCodeGrant(s.store, s.families, s.clock, s.apis),
};
