import { DPOP_ALGORITHMS } from '../../oauth/dpop/algorithms.ts';
import { ENDPOINT_KINDS, ENDPOINTS, type EndpointKind, ISSUER_ROUTE } from '../../oauth/endpoints.ts';
import type { OAuthError } from '../../oauth/errors.ts';
import type { TokenResult } from '../../oauth/grants/grant.ts';
import { GRANT_TYPES } from '../../oauth/grants/grant-types.ts';
import type { RateLimitState } from '../../oauth/rate-limit.ts';
import type { Dialect, JsonSchema, Profile, RenderedResponse } from '../profile.ts';

/** Headers every dialect adds to an error: the challenge (RFC 6749 §5.2, RFC 6750 §3) and Retry-After. */
export function standardErrorHeaders(error: OAuthError, status: number): Record<string, string> {
  const headers: Record<string, string> = {};
  if (status === 401 && error.challenge === 'Basic') headers['www-authenticate'] = 'Basic realm="gatehouse", charset="UTF-8"';
  if (error.challenge === 'Bearer') headers['www-authenticate'] = bearerChallenge(error);
  if (error.challenge === 'DPoP') headers['www-authenticate'] = dpopChallenge(error);
  if (error.dpopNonce !== undefined) headers['dpop-nonce'] = error.dpopNonce;
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  if (error.rateLimit) Object.assign(headers, rateLimitHeaders(error.rateLimit));
  return headers;
}

/**
 * A client's quota in the two fields of draft-ietf-httpapi-ratelimit-headers:
 * `RateLimit-Policy: "quota";q=LIMIT;w=WINDOW` (the policy: so many requests per window of so
 * many seconds) and `RateLimit: "quota";r=REMAINING;t=RESET` (requests left, seconds until the
 * window ends). Two fields, not the four of the draft's early versions: every token response of a
 * client with a quota carries them, and each header costs on the hot path.
 */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'ratelimit-policy': `"quota";q=${state.limit};w=${state.window}`,
    ratelimit: `"quota";r=${state.remaining};t=${state.reset}`,
  };
}

/** RFC 9449 §7.1: the DPoP scheme's challenge names the error and the proof algorithms accepted. */
function dpopChallenge(error: OAuthError): string {
  const description = error.description.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '');
  return `DPoP error="${error.code}", error_description="${description}", algs="${DPOP_ALGORITHMS.join(' ')}"`;
}

// RFC 6750 §3.1: a request without any token gets the challenge without an error code.
function bearerChallenge(error: OAuthError): string {
  if (error.reason === 'token_missing') return 'Bearer realm="gatehouse"';
  // RFC 6750 §3: error_description holds %x20-21 / %x23-5B / %x5D-7E only.
  return `Bearer realm="gatehouse", error="${error.code}", error_description="${error.description.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')}"`;
}

/** RFC 6749 §5.1 token response fields. */
export function rfc6749TokenBody(result: TokenResult): Record<string, unknown> {
  return {
    access_token: result.accessToken,
    token_type: result.tokenType,
    expires_in: result.expiresIn,
    scope: result.scope.join(' '),
    ...(result.refreshToken ? { refresh_token: result.refreshToken } : {}),
    // OpenID Connect Core §3.1.3.3 and §12.2.
    ...(result.idToken ? { id_token: result.idToken } : {}),
    // RFC 8693 §2.2.1.
    ...(result.issuedTokenType ? { issued_token_type: result.issuedTokenType } : {}),
  };
}

/** RFC 6749 §5.2 (and RFC 6750 §3) error responses. */
export const rfc6749Dialect: Dialect = {
  statusOf: (error) => error.status,
  renderToken(result: TokenResult): RenderedResponse {
    return { status: 200, headers: {}, body: rfc6749TokenBody(result) };
  },
  renderError(error, { status }): RenderedResponse {
    return { status, headers: standardErrorHeaders(error, status), body: { error: error.code, error_description: error.description } };
  },
};

export const RFC6749_TOKEN_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer', 'DPoP'] },
    expires_in: { type: 'integer', minimum: 1 },
    scope: { type: 'string' },
    refresh_token: { type: 'string' },
    id_token: { type: 'string' },
    issued_token_type: { type: 'string', description: 'What a token exchange issued (RFC 8693 §2.2.1)' },
  },
  additionalProperties: false,
};

export const RFC6749_ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
  additionalProperties: false,
};

/** Where the standard surface serves an endpoint kind: under each environment's issuer. */
const standardPath = (kind: EndpointKind): string => `${ISSUER_ROUTE.replace(':env', '{env}')}${ENDPOINTS[kind].path}`;

/**
 * Gatehouse's own surface: RFC 6749 token endpoint, RFC 7662 introspection, RFC 7009
 * revocation and /authorize, under `/envs/{env}` for every environment.
 */
export const standardProfile: Profile = {
  name: 'standard',
  title: 'Gatehouse (RFC 6749, 7009, 7662)',
  routes: ENDPOINT_KINDS.filter((kind) => ENDPOINTS[kind].standard).map((kind) => ({
    endpoint: kind,
    path: standardPath(kind),
    encodings: ENDPOINTS[kind].method === 'POST' ? ['form', 'json'] : [],
    ...(kind === 'token' ? { required: ['grant_type'] } : {}),
    // RFC 8707 §2: a client may name several resources.
    ...(kind === 'token' || kind === 'authorization' || kind === 'device_authorization' || kind === 'pushed_authorization' ? { repeatable: ['resource'] } : {}),
  })),
  grantTypes: GRANT_TYPES,
  environment: { param: 'env', values: null },
  requestAliases: {},
  defaultParams: {},
  pkceOptionalForConfidential: false,
  accessTokenTtl: undefined,
  dialect: rfc6749Dialect,
  schemas: { token: RFC6749_TOKEN_SCHEMA, error: RFC6749_ERROR_SCHEMA, errorStatuses: [400, 401, 404, 413, 429, 500, 503] },
};
