import { hashSecret } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import type { DeviceAuthorization, Environment } from '../../domain/model.ts';
import type { Store } from '../../domain/storage.ts';
import { type ApiDirectory, definedByResources, narrowGrantedResources, tokenOptionsOf } from '../apis.ts';
import { DEVICE_CODE_GRANT } from '../device/device-authorization.ts';
import { OAuthError, type OAuthErrorReason } from '../errors.ts';
import { tokenAuthenticationOf } from '../openid/acr.ts';
import type { FamilyTokenIssuer } from '../token-families.ts';
import { refreshTokenAllowed } from './authorization-code.ts';
import { type Grant, requireClient } from './grant.ts';
import { type GrantModule, RESOURCE_PARAMETER } from './module.ts';

const invalidGrant = (description: string, reason: OAuthErrorReason) => new OAuthError('invalid_grant', description, { parameter: 'device_code', reason });
const reused = () => invalidGrant('the device code was already used; the tokens issued for it are revoked', 'device_code_reused');

/** RFC 8628 §3.5: how much longer a client that polls too fast must wait, from then on. */
export const SLOW_DOWN_SECONDS = 5;

type DeviceStore = Pick<Store, 'deviceAuthorizations' | 'tokenFamilies'>;

/**
 * RFC 8628 §3.5: a poll of a device code the user has not decided yet. Polling sooner than the
 * interval after the previous poll is `slow_down`, and the interval grows by 5 seconds for this
 * and every later poll (remembered in storage, so it holds on every node); otherwise
 * `authorization_pending`.
 */
async function poll(store: DeviceStore, env: Environment, deviceCodeHash: string, authorization: DeviceAuthorization, now: number): Promise<never> {
  const { lastPolledAt, interval } = authorization;
  if (lastPolledAt !== null && now - lastPolledAt < interval * 1000) {
    await store.deviceAuthorizations.recordPoll(env.id, deviceCodeHash, lastPolledAt, now, interval + SLOW_DOWN_SECONDS);
    throw new OAuthError('slow_down', `polling too fast: wait at least ${interval + SLOW_DOWN_SECONDS} seconds between requests`);
  }
  await store.deviceAuthorizations.recordPoll(env.id, deviceCodeHash, lastPolledAt, now, interval);
  throw new OAuthError('authorization_pending', 'the user has not approved the request yet');
}

/**
 * RFC 8628 §3.4–3.5: the device polls with its device code until the user decides. An approved
 * code gets what the authorization-code grant gives the same client: an access token for the
 * granted APIs, a refresh token under the client's and environment's policy, and an ID Token
 * when `openid` was granted (with the approving sign-in's auth_time, amr and sid). The code is
 * consumed by one conditional update inside the transaction that records the token family, so
 * of any number of redemptions on any number of nodes exactly one gets tokens; a later one
 * revokes them, as a replayed authorization code does (RFC 6749 §4.1.2).
 */
export function deviceCodeGrant(store: DeviceStore & Pick<Store, 'users'>, families: FamilyTokenIssuer, clock: Clock, apis: ApiDirectory): Grant {
  return {
    grantType: DEVICE_CODE_GRANT,
    clientAuthentication: 'required',
    async handle({ env, issuer, client: authenticated, params, accessTokenTtl: ttl }) {
      const client = requireClient(authenticated);
      const deviceCode = params.device_code;
      if (deviceCode === undefined || deviceCode === '') throw new OAuthError('invalid_request', 'device_code is required', { parameter: 'device_code' });
      const deviceCodeHash = hashSecret(deviceCode);
      const found = await store.deviceAuthorizations.findForRedemption(env.id, deviceCodeHash);
      const now = clock.now();
      // Another client's code is as unknown as a made-up one (RFC 8628 §3.5, RFC 6749 §5.2).
      if (!found || found.authorization.clientId !== client.clientId) throw invalidGrant('the device code is invalid', 'device_code_unknown');
      const authorization = found.authorization;
      if (authorization.consumedAt !== null) {
        await store.tokenFamilies.revoke(env.id, authorization.familyId, now);
        throw reused();
      }
      if (authorization.status === 'denied') throw new OAuthError('access_denied', 'the user denied the request');
      if (authorization.expiresAt <= now) throw new OAuthError('expired_token', 'the device code has expired; start a new device authorization');
      if (authorization.status === 'pending') return poll(store, env, deviceCodeHash, authorization, now);
      if (!found.userActive || authorization.userId === null) throw invalidGrant('the user who approved this device is disabled or gone', 'user_inactive');
      // The client may have lost scopes since the user approved: only what it still may have.
      const scope = authorization.scope.filter((s) => client.scopes.includes(s));
      const target = await narrowGrantedResources(apis, env.id, client, authorization.resources, params);
      const family = families.newFamily(env, client, authorization.userId, scope, authorization.familyId, authorization.resources, authorization.oidc);
      const tokenScope = scope.filter(definedByResources(target));
      const oidc = authorization.oidc !== undefined && tokenScope.includes('openid') ? authorization.oidc : undefined;
      const { result, issue } = await families.mint({
        env,
        issuer,
        ttl,
        client,
        userId: authorization.userId,
        familyId: family.familyId,
        scope: tokenScope,
        ...tokenOptionsOf(target),
        familyExpiresAt: family.expiresAt,
        withRefreshToken: refreshTokenAllowed(env, client, scope),
        idToken: oidc && { oidc, sid: oidc.sid, nonce: undefined },
        authentication: tokenAuthenticationOf(authorization.oidc),
      });
      if (!(await store.deviceAuthorizations.redeem(env.id, deviceCodeHash, now, family, issue))) {
        // Another request (on this node or another) redeemed it first: a replay.
        await store.tokenFamilies.revoke(env.id, authorization.familyId, now);
        throw reused();
      }
      return result;
    },
  };
}

export const deviceCodeModule: GrantModule = {
  grantType: DEVICE_CODE_GRANT,
  assignable: 'clients',
  label: 'Device code (users sign in on another device, RFC 8628)',
  parameters: {
    device_code: { description: 'The device code from the device authorization endpoint (RFC 8628 §3.4)', secret: true },
    resource: RESOURCE_PARAMETER,
  },
  allowsPublicClients: true,
  startsUserSessions: true,
  create: (s) => deviceCodeGrant(s.store, s.families, s.clock, s.apis),
};
