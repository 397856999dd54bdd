import type { Dialect, JsonSchema, Profile } from '../profile.ts';
import { RFC6749_ERROR_SCHEMA, rfc6749Dialect } from './standard.ts';

/**
 * Doorkeeper's token response: lower-case `bearer`, `created_at` in epoch seconds, and the
 * refresh token whenever one was issued.
 */
export const rightSignatureDialect: Dialect = {
  statusOf: rfc6749Dialect.statusOf,
  renderError: rfc6749Dialect.renderError,
  renderToken(result) {
    return {
      status: 200,
      headers: {},
      body: {
        access_token: result.accessToken,
        token_type: 'bearer',
        expires_in: result.expiresIn,
        ...(result.refreshToken ? { refresh_token: result.refreshToken } : {}),
        scope: result.scope.join(' '),
        created_at: result.issuedAt,
      },
    };
  },
  // Doorkeeper's GET /oauth/token/info body.
  renderTokenInfo({ claims, now }) {
    return {
      status: 200,
      headers: {},
      body: {
        resource_owner_id: claims.subject,
        scope: claims.scope === '' ? [] : claims.scope.split(' '),
        expires_in: Math.max(0, claims.expiresAt - Math.floor(now.getTime() / 1000)),
        application: { uid: claims.clientId },
        created_at: claims.issuedAt,
      },
    };
  },
};

const TOKEN_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope', 'created_at'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', enum: ['bearer'] },
    expires_in: { type: 'integer' },
    refresh_token: { type: 'string' },
    scope: { type: 'string' },
    created_at: { type: 'integer' },
  },
  additionalProperties: false,
};

const TOKEN_INFO_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['resource_owner_id', 'scope', 'expires_in', 'application', 'created_at'],
  properties: {
    resource_owner_id: { type: 'string' },
    scope: { type: 'array', items: { type: 'string' } },
    expires_in: { type: 'integer', minimum: 0 },
    application: { type: 'object', required: ['uid'], properties: { uid: { type: 'string' } }, additionalProperties: false },
    created_at: { type: 'integer' },
  },
  additionalProperties: false,
};

/** RightSignature's OAuth API (Doorkeeper): token, revoke and token info. */
export const rightSignatureProfile: Profile = {
  name: 'rightsignature',
  title: 'RightSignature — OAuth tokens (Doorkeeper)',
  routes: [
    {
      endpoint: 'token',
      path: '/oauth/token',
      encodings: ['form', 'multipart', 'json'],
      required: ['grant_type'],
      summary: 'Request or refresh an access token',
    },
    {
      endpoint: 'revocation',
      path: '/oauth/revoke',
      encodings: ['form', 'multipart', 'json'],
      missingTokenIsNoop: true,
      summary: 'Revoke an access token (RFC 7009); always 200 {} once the client is authenticated',
    },
    { endpoint: 'token_info', path: '/oauth/token/info', encodings: [], summary: 'Describe the presented access token' },
    {
      endpoint: 'authorization',
      path: '/oauth/authorize',
      encodings: [],
      summary: 'Start the authorization (PKCE optional for confidential clients)',
    },
  ],
  grantTypes: ['authorization_code', 'refresh_token'],
  environment: undefined,
  requestAliases: {},
  defaultParams: {},
  // The seed's token request carries no code_verifier: Doorkeeper clients never sent PKCE.
  pkceOptionalForConfidential: true,
  // "Access tokens expire after two hours."
  accessTokenTtl: 7200,
  dialect: rightSignatureDialect,
  schemas: { token: TOKEN_SCHEMA, error: RFC6749_ERROR_SCHEMA, tokenInfo: TOKEN_INFO_SCHEMA, errorStatuses: [400, 401, 413, 429, 500, 503] },
};
