import { randomUUID } from 'node:crypto';
import { hashSecret, randomToken } from '../../crypto/secrets.ts';
import type { BrowserSession, CodeOidc, PendingOidc } from '../../domain/model.ts';
import { authorizationCodeTtlMs } from '../fapi2.ts';
import { acrOf } from '../openid/acr.ts';
import { matchesRegisteredRedirectUri } from '../redirect-uri.ts';
import { type AuthorizationDeps, enabledClient, enabledUser, type PendingFlow } from './flow-context.ts';
import { takePendingRequest } from './pending-request.ts';
import { type AuthorizationErrorPage, type AuthorizationRedirect, codeRedirect, errorRedirect } from './response.ts';

/** Prefix of authorization codes, so secret scanners recognise a leaked one. */
export const AUTHORIZATION_CODE_PREFIX = 'gac_';

const CLIENT_CHANGED = 'The application changed or was disabled while you were signing in. Go back to it and start again.';

/**
 * The user allowed the request: remember the consent and send a code (RFC 6749 §4.1.2), taking
 * the request so it is answered once. The client is checked again: it may have been disabled or
 * changed while the user was signing in. Undefined when the request or the user is gone.
 */
export async function approveRequest(deps: AuthorizationDeps, flow: PendingFlow): Promise<AuthorizationRedirect | AuthorizationErrorPage | undefined> {
  const userId = flow.session.userId;
  if (userId === null) throw new Error('approve needs a signed-in session');
  if (!(await enabledUser(deps, flow.env, userId))) return undefined;
  if (!(await clientStillAllows(deps, flow))) {
    await takePendingRequest(deps, flow);
    return { kind: 'error_page', message: CLIENT_CHANGED };
  }
  if (!(await takePendingRequest(deps, flow))) return undefined;
  const now = deps.clock.now();
  await deps.store.consents.grant(flow.env.id, userId, flow.pending.clientId, flow.pending.scope, now, flow.pending.resources);
  const code = await issueCode(deps, flow, userId, now);
  return codeRedirect(flow.pending.redirectUri, code, flow.pending.state, flow.issuer);
}

/** The user refused: RFC 6749 §4.1.2.1 `access_denied`, taking the request so it is answered once. */
export async function denyRequest(deps: AuthorizationDeps, flow: PendingFlow): Promise<AuthorizationRedirect | undefined> {
  if (!(await takePendingRequest(deps, flow))) return undefined;
  const refusal = { error: 'access_denied', description: 'the user denied the request' };
  return errorRedirect(flow.pending.redirectUri, refusal, flow.pending.state, flow.issuer);
}

/**
 * Whether the client may still receive this code: enabled, still registered for the code grant
 * (RFC 6749 §4.1.2.1) and for the redirect_uri (RFC 6749 §3.1.2.3), and still allowed every
 * scope it asked for (RFC 6749 §3.3).
 */
async function clientStillAllows(deps: AuthorizationDeps, { env, pending }: PendingFlow): Promise<boolean> {
  const client = await enabledClient(deps, env, pending.clientId);
  if (!client) return false;
  return (
    client.grantTypes.includes('authorization_code') &&
    matchesRegisteredRedirectUri(client.redirectUris, pending.redirectUri) &&
    pending.scope.every((s) => client.scopes.includes(s))
  );
}

/**
 * Stores a new code and returns it. RFC 6749 §4.1.2: short-lived and bound to the client and
 * redirect_uri; RFC 7636 §4.4: bound to the PKCE challenge. Storage holds only its hash; the
 * family id ties together every token its redemption issues, so a second redemption can revoke
 * them (RFC 6749 §4.1.2, RFC 9700 §4.5).
 */
async function issueCode(deps: AuthorizationDeps, { env, session, pending }: PendingFlow, userId: string, now: number): Promise<string> {
  const code = `${AUTHORIZATION_CODE_PREFIX}${randomToken(32)}`;
  await deps.store.authorizationCodes.insert({
    codeHash: hashSecret(code),
    envId: env.id,
    clientId: pending.clientId,
    userId,
    redirectUri: pending.redirectUri,
    scope: pending.scope,
    codeChallenge: pending.codeChallenge,
    familyId: randomUUID(),
    ...(pending.resources ? { resources: pending.resources } : {}),
    ...(pending.dpopJkt === undefined ? {} : { dpopJkt: pending.dpopJkt }),
    issuedAt: now,
    // FAPI 2.0 Security Profile §5.3.2.1: at most 60 seconds in an environment held to it.
    expiresAt: now + authorizationCodeTtlMs(env, deps.codeTtlMs),
    consumedAt: null,
    ...(pending.oidc ? { oidc: codeOidc(session, pending.oidc, now) } : {}),
  });
  return code;
}

/**
 * What the ID Token of an OpenID code says about the authentication (Core §2, §3.1.2.1): the
 * request's `nonce`, the session's `sid` when it has one (sessions from before `sid` existed
 * have none until their next sign-in), `auth_time` and RFC 8176 `amr` of the sign-in, and the
 * `acr` those methods meet (Core §2).
 */
function codeOidc(session: BrowserSession, oidc: PendingOidc, now: number): CodeOidc {
  return {
    nonce: oidc.nonce,
    sid: session.sid ?? null,
    authTime: session.authenticatedAt ?? now,
    amr: session.amr ?? ['pwd'],
    acr: acrOf(session.amr),
  };
}
