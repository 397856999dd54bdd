import type { Client, Environment, OidcRequestParameters } from '../../domain/model.ts';
import { grantNamedResources, requestedResources, scopeForResources } from '../apis.ts';
import { OAuthError } from '../errors.ts';
import { isFapi2, requiresPushedRequests } from '../fapi2.ts';
import { S256_CHALLENGE } from '../pkce.ts';
import { matchesRegisteredRedirectUri } from '../redirect-uri.ts';
import { resolveScope } from '../scope.ts';
import { type AuthorizationDeps, enabledClient } from './flow-context.ts';
import { isOpenIdRequest, OPENID_CHECKS, openIdParameters } from './openid-request.ts';
import type { AuthorizationParams, AuthorizeOptions, RequestCheck, RequestUnderCheck } from './request-check.ts';
import { type AuthorizationErrorPage, type AuthorizationRedirect, type AuthorizationRefusal, errorRedirect } from './response.ts';

export type { AuthorizationParams, AuthorizeOptions, RequestCheck, RequestUnderCheck } from './request-check.ts';

/** An /authorize request that passed every check, ready to be held through login and consent. */
export interface ValidAuthorizationRequest {
  kind: 'valid';
  client: Client;
  redirectUri: string;
  scope: string[];
  state: string | null;
  codeChallenge: string | null;
  /** RFC 8707: the APIs the code will grant (the named ones, or the default API); absent: none. */
  resources?: string[];
  /** OpenID Connect Core §3.1.2.1: present when the scope includes `openid`. */
  oidc?: OidcRequestParameters;
  /** RFC 9449 §10 `dpop_jkt`: the DPoP key the code must be redeemed with; absent: none named. */
  dpopJkt?: string;
}

/**
 * RFC 6749 §3.1: request parameters must not be included more than once. The description is
 * fixed text: parameter names are the caller's input and must not reach the client's error page.
 */
export const rejectRepeatedParameters: RequestCheck = ({ duplicates }) =>
  duplicates.length > 0 ? { error: 'invalid_request', description: 'a parameter was given more than once' } : undefined;

/** RFC 6749 §4.1.2: `state` comes back exactly as sent, so it must be percent-encoded UTF-8. */
export const requireEchoableState: RequestCheck = ({ rawState }) =>
  rawState !== echoableState(rawState) ? { error: 'invalid_request', description: 'state must be percent-encoded UTF-8' } : undefined;

/** RFC 6749 §3.1.1 and §4.1.1: response_type is required, and `code` is the only one served. */
export const requireCodeResponseType: RequestCheck = ({ params }) => {
  if (params.response_type === undefined) return { error: 'invalid_request', description: 'response_type is required' };
  if (params.response_type !== 'code') return { error: 'unsupported_response_type', description: 'only response_type=code is supported' };
  return undefined;
};

/** RFC 6749 §4.1.2.1 `unauthorized_client`: the client must be registered for the authorization code grant. */
export const requireCodeGrant: RequestCheck = ({ client }) =>
  client.grantTypes.includes('authorization_code')
    ? undefined
    : { error: 'unauthorized_client', description: 'this client may not use the authorization code flow' };

/**
 * RFC 7636 §4.4.1: a missing code_challenge is `invalid_request`, since Gatehouse requires PKCE
 * of every client (RFC 9700 §2.1.1) except a confidential one a surface lets omit it (method
 * absent too). RFC 7636 §4.3: an absent method means plain, which is refused (RFC 9700 §2.1.1);
 * RFC 7636 §4.2: an S256 challenge is 43 base64url characters.
 */
export const requireS256Challenge: RequestCheck = ({ client, params, options }) => {
  const challenge = params.code_challenge;
  const mayOmit = options.pkceOptionalForConfidential && client.kind === 'confidential' && client.allowMissingPkce;
  if (challenge === undefined && mayOmit && params.code_challenge_method === undefined) return undefined;
  if (challenge === undefined) return { error: 'invalid_request', description: 'code_challenge is required (PKCE with S256)' };
  if (params.code_challenge_method !== 'S256') return { error: 'invalid_request', description: 'code_challenge_method must be S256' };
  if (!S256_CHALLENGE.test(challenge)) return { error: 'invalid_request', description: 'code_challenge must be 43 base64url characters (S256)' };
  return undefined;
};

/** RFC 9449 §10: `dpop_jkt` is the base64url SHA-256 JWK thumbprint (RFC 7638) of the key the code is bound to. */
export const requireWellFormedDpopJkt: RequestCheck = ({ params }) =>
  params.dpop_jkt === undefined || /^[A-Za-z0-9_-]{43}$/.test(params.dpop_jkt)
    ? undefined
    : { error: 'invalid_request', description: 'dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters)' };

/**
 * RFC 9126 §5 and §6 (and FAPI 2.0 Security Profile §5.3.2.2): a client, environment or profile
 * that requires pushed authorization requests gets every other request refused.
 */
export const requirePushedRequest: RequestCheck = ({ env, client, options }) =>
  options.pushed !== true && requiresPushedRequests(env, client)
    ? { error: 'invalid_request', description: 'authorization requests of this client must be pushed first (RFC 9126)' }
    : undefined;

/**
 * FAPI 2.0 Security Profile §5.3.2.2: the response comes back in the query of the redirect URI
 * (the default of response_type=code); another response_mode is refused rather than ignored.
 */
export const requireQueryResponseMode: RequestCheck = ({ env, params }) =>
  isFapi2(env) && params.response_mode !== undefined && params.response_mode !== 'query'
    ? { error: 'invalid_request', description: 'response_mode must be query under the FAPI 2.0 Security Profile' }
    : undefined;

/**
 * The checks made once the request can be answered by redirect, in order: the first refusal is
 * sent to the client. The requested scope is resolved after all of them pass.
 */
export const REQUEST_CHECKS: readonly RequestCheck[] = [
  rejectRepeatedParameters,
  requireEchoableState,
  requirePushedRequest,
  requireCodeResponseType,
  requireQueryResponseMode,
  requireCodeGrant,
  requireS256Challenge,
  requireWellFormedDpopJkt,
];

/**
 * Checks an /authorize request (RFC 6749 §4.1.1). Until client_id and redirect_uri are known
 * good nothing may redirect (RFC 6749 §4.1.2.1); after that every error goes back to the client.
 * Once the scope is known, an OpenID Connect authentication request (scope `openid`) has its
 * parameters checked too (`OPENID_CHECKS`, then `openIdParameters`); any other request ignores
 * them, as it ignores every unknown parameter.
 */
export async function validateAuthorizationRequest(
  deps: AuthorizationDeps,
  env: Environment,
  issuer: string,
  request: AuthorizationParams,
  options: AuthorizeOptions,
): Promise<ValidAuthorizationRequest | AuthorizationErrorPage | AuthorizationRedirect> {
  const target = await identifyClient(deps, env, request);
  if (target.kind === 'error_page') return target;
  const { client, redirectUri } = target;
  const rawState = request.duplicates.includes('state') ? null : (request.params.state ?? null);
  const state = echoableState(rawState);
  const underCheck: RequestUnderCheck = { ...request, env, client, rawState, options };
  for (const check of REQUEST_CHECKS) {
    const refusal = check(underCheck);
    if (refusal) return errorRedirect(redirectUri, refusal, state, issuer);
  }
  const granted = await requestedTarget(deps, env, underCheck);
  if (!('scope' in granted)) return errorRedirect(redirectUri, granted, state, issuer);
  const { scope, resources } = granted;
  let oidc: OidcRequestParameters | undefined;
  if (isOpenIdRequest(scope)) {
    for (const check of OPENID_CHECKS) {
      const refusal = check(underCheck);
      if (refusal) return errorRedirect(redirectUri, refusal, state, issuer);
    }
    const parameters = await openIdParameters(deps, env, issuer, underCheck);
    if ('error' in parameters) return errorRedirect(redirectUri, parameters, state, issuer);
    oidc = parameters;
  }
  return {
    kind: 'valid',
    client,
    redirectUri,
    scope,
    state,
    codeChallenge: request.params.code_challenge ?? null,
    ...(resources ? { resources } : {}),
    ...(oidc ? { oidc } : {}),
    ...(request.params.dpop_jkt === undefined ? {} : { dpopJkt: request.params.dpop_jkt }),
  };
}

/**
 * RFC 6749 §4.1.2.1 and §3.1.2.4: a missing, unknown or disabled client, or a redirect_uri that is
 * missing or not registered for it (matched exactly, RFC 6749 §3.1.2.3 and RFC 9700 §2.1), gets
 * an error page: redirecting would hand the response to whoever wrote the link. Gatehouse
 * requires redirect_uri in every request, where RFC 6749 §4.1.1 lets a client with one
 * registered URI omit it.
 */
export async function identifyClient(
  deps: AuthorizationDeps,
  env: Environment,
  { params, duplicates }: AuthorizationParams,
): Promise<{ kind: 'known'; client: Client; redirectUri: string } | AuthorizationErrorPage> {
  for (const name of ['client_id', 'redirect_uri']) {
    if (duplicates.includes(name)) return { kind: 'error_page', message: `The request gave ${name} more than once.` };
  }
  const clientId = params.client_id;
  if (clientId === undefined || clientId === '')
    return { kind: 'error_page', message: 'The request did not say which application is asking (client_id is missing).' };
  const client = await enabledClient(deps, env, clientId);
  if (!client) return { kind: 'error_page', message: 'The application that sent you here is not known to this server.' };
  const redirectUri = params.redirect_uri;
  if (redirectUri === undefined || redirectUri === '')
    return { kind: 'error_page', message: 'The request did not say where to send you back (redirect_uri is missing).' };
  if (!matchesRegisteredRedirectUri(client.redirectUris, redirectUri)) {
    return { kind: 'error_page', message: 'The address the application asked to send you back to is not registered for it.' };
  }
  return { kind: 'known', client, redirectUri };
}

/** RFC 6749 §3.3 `invalid_scope`: the requested scope, or the client's defaults when none was asked for. */
export function requestedScope({ client, params }: RequestUnderCheck): string[] | AuthorizationRefusal {
  try {
    return resolveScope(params.scope, client.scopes, client.defaultScopes);
  } catch (error) {
    if (error instanceof OAuthError) return { error: error.code, description: error.message };
    throw error;
  }
}

/**
 * RFC 8707 §2 `invalid_target` and RFC 6749 §3.3 `invalid_scope`: the APIs named by `resource`
 * (or the environment's default API), then the scope, bounded by what those APIs define.
 */
async function requestedTarget(
  deps: AuthorizationDeps,
  env: Environment,
  { client, params }: RequestUnderCheck,
): Promise<{ scope: string[]; resources: string[] | undefined } | AuthorizationRefusal> {
  try {
    const grant = await grantNamedResources(deps.apis, env.id, client, requestedResources(params));
    return { scope: scopeForResources(params.scope, client, grant), resources: grant.audience };
  } catch (error) {
    if (error instanceof OAuthError) return { error: error.code, description: error.message };
    throw error;
  }
}

/** A state that is not valid percent-encoded UTF-8 could not come back byte for byte: it is not echoed. */
function echoableState(rawState: string | null): string | null {
  return rawState?.includes('\uFFFD') ? null : rawState;
}
