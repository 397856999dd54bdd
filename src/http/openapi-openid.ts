import { ENDPOINTS, OPENID_PATHS } from '../oauth/endpoints.ts';
import {
  AUTHORIZE_PARAMETERS,
  BEARER_CHALLENGE,
  END_SESSION_PARAMETERS,
  ERROR_BODY,
  HTML_PAGE,
  MEDIA,
  OPENID_AUTHORIZE_PARAMETERS,
  USERINFO_SCHEMA,
} from './openapi-schemas.ts';

/** UserInfo, GET or POST (OpenID Connect Core §5.3.1). */
function userinfoOperation(method: 'get' | 'post'): Record<string, unknown> {
  return {
    operationId: `openid_userinfo_${method}`,
    tags: ['openid'],
    summary: 'UserInfo (OpenID Connect Core §5.3): the signed-in user’s claims for the granted scopes',
    security: [{ bearerToken: [] }],
    ...(method === 'post'
      ? {
          requestBody: {
            required: false,
            content: {
              [MEDIA.form]: {
                schema: {
                  type: 'object',
                  properties: { access_token: { type: 'string', description: 'The token, unless sent as Authorization: Bearer (RFC 6750 §2.2)' } },
                },
              },
            },
          },
        }
      : {}),
    responses: {
      '200': { description: 'sub and the claims of the granted scopes that the user has', content: { 'application/json': { schema: USERINFO_SCHEMA } } },
      '400': {
        description: 'A malformed request (RFC 6750 §3.1 invalid_request)',
        headers: BEARER_CHALLENGE,
        content: { 'application/json': { schema: ERROR_BODY } },
      },
      '401': {
        description: 'No token, or one that is invalid, expired, revoked or not for UserInfo',
        headers: BEARER_CHALLENGE,
        content: { 'application/json': { schema: ERROR_BODY } },
      },
      '403': {
        description: 'The token lacks the openid scope (insufficient_scope)',
        headers: BEARER_CHALLENGE,
        content: { 'application/json': { schema: ERROR_BODY } },
      },
    },
  };
}

/** The end-session endpoint, GET or POST (RP-Initiated Logout 1.0 §2). */
function endSessionOperation(method: 'get' | 'post'): Record<string, unknown> {
  const parameters = Object.entries(END_SESSION_PARAMETERS).map(([name, description]) => ({
    name,
    in: 'query',
    required: false,
    schema: { type: 'string' },
    description,
  }));
  return {
    operationId: `openid_end_session_${method}`,
    tags: ['openid'],
    summary: 'End-session endpoint (RP-Initiated Logout 1.0): ends the browser session, after a confirmation page without a matching id_token_hint',
    ...(method === 'get'
      ? { parameters }
      : {
          requestBody: {
            required: false,
            content: {
              [MEDIA.form]: {
                schema: { type: 'object', properties: Object.fromEntries(Object.keys(END_SESSION_PARAMETERS).map((n) => [n, { type: 'string' }])) },
              },
            },
          },
        }),
    responses: {
      '200': { description: 'The confirmation page, or the signed-out page', content: HTML_PAGE },
      '303': { description: 'Signed out: to post_logout_redirect_uri with state' },
      '400': { description: 'An error page: a bad id_token_hint, client_id or post_logout_redirect_uri', content: HTML_PAGE },
      '403': { description: 'The confirmation form’s CSRF token does not match the session', content: HTML_PAGE },
    },
  };
}

/** The OpenID Connect endpoints Gatehouse serves under an environment's issuer path (never a compatibility surface's). */
export function openIdPaths(issuerPath: string): Record<string, Record<string, unknown>> {
  return {
    [`${issuerPath}${OPENID_PATHS.configuration}`]: {
      get: {
        operationId: 'openid_configuration',
        tags: ['openid'],
        summary: 'OpenID Provider configuration (OpenID Connect Discovery 1.0 §4): the same document as the RFC 8414 metadata',
        responses: { '200': { description: 'The configuration', content: { 'application/json': { schema: { type: 'object', required: ['issuer'] } } } } },
      },
    },
    // Core §3.1.2.1: the authorization endpoint takes POST too (its GET comes with the surface's routes).
    [`${issuerPath}${ENDPOINTS.authorization.path}`]: {
      post: {
        operationId: 'openid_authorize_post',
        tags: ['openid'],
        summary: 'Authorization endpoint, the request form-serialized (OpenID Connect Core §3.1.2.1); the same parameters and answers as GET',
        requestBody: {
          required: true,
          content: {
            [MEDIA.form]: {
              schema: {
                type: 'object',
                properties: Object.fromEntries([...AUTHORIZE_PARAMETERS, ...Object.keys(OPENID_AUTHORIZE_PARAMETERS)].map((n) => [n, { type: 'string' }])),
              },
            },
          },
        },
        responses: {
          '303': { description: 'To the login or consent page, or back to redirect_uri with code, state and iss (RFC 9207)' },
          '400': { description: 'An error page: unknown client, unregistered redirect_uri or bad parameters', content: HTML_PAGE },
          '415': { description: 'The body is not an HTML form', content: HTML_PAGE },
        },
      },
    },
    [`${issuerPath}${OPENID_PATHS.userinfo}`]: { get: userinfoOperation('get'), post: userinfoOperation('post') },
    [`${issuerPath}${OPENID_PATHS.endSession}`]: { get: endSessionOperation('get'), post: endSessionOperation('post') },
  };
}
