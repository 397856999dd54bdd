import type { OAuthError, OAuthErrorCode, OAuthErrorReason } from '../../oauth/errors.ts';
import type { Dialect, JsonSchema, Profile } from '../profile.ts';
import { standardErrorHeaders } from './standard.ts';

/**
 * Every `code` the Ignisign surface answers with, its status and when. Part of the product's
 * documentation (docs/compatibility-surfaces.md) and checked against the dialect by the tests.
 */
export const IGNISIGN_ERROR_CODES = {
  BODY_VALIDATION_FAILED: { status: 400, when: 'a required field is missing, malformed or sent twice, or the body is not a JSON object' },
  APP_ENV_INVALID: { status: 400, when: 'appEnv is not one of DEVELOPMENT, STAGING, PRODUCTION, or that environment is not set up' },
  BODY_TOO_LARGE: { status: 413, when: 'the body exceeds the configured limit' },
  GRANT_TYPE_NOT_SUPPORTED: { status: 400, when: 'grant_type is not authorization_code' },
  TOKEN_ALREADY_CONSUMED: { status: 400, when: 'the authorization code was already exchanged (the tokens it gave are revoked)' },
  TOKEN_EXPIRED: { status: 400, when: 'the authorization code has expired' },
  TOKEN_INVALID: { status: 400, when: 'the authorization code is unknown or was issued to another application' },
  REDIRECT_URI_MISMATCH: { status: 400, when: 'redirect_uri differs from the one given at /oauth2/authorize' },
  CODE_VERIFIER_MISMATCH: { status: 400, when: 'code_verifier does not match the code_challenge (PKCE S256)' },
  USER_DISABLED: { status: 400, when: 'the user who authorized the code is disabled or deleted' },
  INVALID_SCOPE: { status: 400, when: 'a requested scope is not allowed' },
  UNAUTHORIZED_ERROR: { status: 401, when: 'client_id / client_secret do not authenticate an application' },
  FORBIDDEN_ERROR: { status: 403, when: 'the application may not use this grant' },
  TOO_MANY_REQUESTS: { status: 429, when: 'too many failed authentications; see Retry-After' },
  QUOTA_EXCEEDED: { status: 429, when: "the application's request quota is used up; see Retry-After and RateLimit" },
  OUTSIDE_WORKING_HOURS: { status: 503, when: 'the surface is outside its working hours; see Retry-After' },
  SERVICE_UNAVAILABLE: { status: 503, when: 'the service cannot reach its database; the request was not completed; see Retry-After' },
  INTERNAL_ERROR: { status: 500, when: 'an unexpected server error (its errorId is in the log)' },
} as const;

export type IgnisignErrorCode = keyof typeof IGNISIGN_ERROR_CODES;

const BY_REASON: Partial<Record<OAuthErrorReason, IgnisignErrorCode>> = {
  code_reused: 'TOKEN_ALREADY_CONSUMED',
  code_expired: 'TOKEN_EXPIRED',
  code_unknown: 'TOKEN_INVALID',
  code_client_mismatch: 'TOKEN_INVALID',
  redirect_uri_mismatch: 'REDIRECT_URI_MISMATCH',
  pkce_failed: 'CODE_VERIFIER_MISMATCH',
  user_inactive: 'USER_DISABLED',
  environment_unknown: 'APP_ENV_INVALID',
  outside_working_hours: 'OUTSIDE_WORKING_HOURS',
  storage_unavailable: 'SERVICE_UNAVAILABLE',
  quota_exceeded: 'QUOTA_EXCEEDED',
};

// Every Gatehouse error code (OAUTH_ERROR_CODES) has its Ignisign code; a new code must be given one.
const BY_CODE: Record<OAuthErrorCode, IgnisignErrorCode> = {
  invalid_request: 'BODY_VALIDATION_FAILED',
  invalid_client: 'UNAUTHORIZED_ERROR',
  invalid_grant: 'TOKEN_INVALID',
  unauthorized_client: 'FORBIDDEN_ERROR',
  unsupported_grant_type: 'GRANT_TYPE_NOT_SUPPORTED',
  invalid_scope: 'INVALID_SCOPE',
  invalid_target: 'BODY_VALIDATION_FAILED',
  invalid_token: 'BODY_VALIDATION_FAILED',
  insufficient_scope: 'FORBIDDEN_ERROR',
  unsupported_token_type: 'BODY_VALIDATION_FAILED',
  authorization_pending: 'BODY_VALIDATION_FAILED',
  slow_down: 'TOO_MANY_REQUESTS',
  access_denied: 'FORBIDDEN_ERROR',
  expired_token: 'TOKEN_EXPIRED',
  invalid_dpop_proof: 'UNAUTHORIZED_ERROR',
  use_dpop_nonce: 'BODY_VALIDATION_FAILED',
  invalid_redirect_uri: 'BODY_VALIDATION_FAILED',
  invalid_client_metadata: 'BODY_VALIDATION_FAILED',
  invalid_software_statement: 'BODY_VALIDATION_FAILED',
  unapproved_software_statement: 'BODY_VALIDATION_FAILED',
  too_many_requests: 'TOO_MANY_REQUESTS',
  not_found: 'BODY_VALIDATION_FAILED',
  temporarily_unavailable: 'OUTSIDE_WORKING_HOURS',
  server_error: 'INTERNAL_ERROR',
};

/** The Ignisign code of an error: by its finer reason first, then by its RFC 6749 code. */
export function ignisignCode(error: OAuthError, status: number): IgnisignErrorCode {
  const byReason = error.reason && BY_REASON[error.reason];
  if (byReason) return byReason;
  if (status === 413) return 'BODY_TOO_LARGE';
  return BY_CODE[error.code];
}

/** `{message, timestamp, status, code, context}`; timestamp in UTC (ISO 8601, as Ignisign's examples). */
export const ignisignDialect: Dialect = {
  statusOf: (error) => IGNISIGN_ERROR_CODES[ignisignCode(error, error.status)].status,
  renderToken(result) {
    return {
      status: 200,
      headers: {},
      body: { access_token: result.accessToken, token_type: result.tokenType, expires_in: result.expiresIn, scope: result.scope.join(' ') },
    };
  },
  renderError(error, context) {
    const { status } = context;
    const body = {
      message: error.description,
      timestamp: context.now.toISOString(),
      status,
      code: ignisignCode(error, status),
      context: {
        errorId: context.errorId,
        ...(error.parameter === undefined ? {} : { parameter: context.receivedName(error.parameter) }),
        ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
      },
    };
    return { status, headers: standardErrorHeaders(error, status), body };
  },
};

const TOKEN_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' } },
  additionalProperties: false,
};

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['message', 'timestamp', 'status', 'code', 'context'],
  properties: {
    message: { type: 'string' },
    timestamp: { type: 'string', format: 'date-time', pattern: 'Z$' },
    status: { type: 'integer' },
    code: { type: 'string', enum: Object.keys(IGNISIGN_ERROR_CODES) },
    context: { type: 'object' },
  },
  additionalProperties: false,
};

/** Ignisign's bare-signature proof token: authorization code with PKCE, environment in the path. */
export const ignisignProfile: Profile = {
  name: 'ignisign',
  title: 'Ignisign — bare-signature proof token',
  routes: [
    {
      endpoint: 'token',
      path: '/v4/envs/{env}/oauth2/proofs-token',
      encodings: ['json'],
      required: ['grant_type', 'client_id', 'client_secret', 'code', 'code_verifier', 'redirect_uri'],
      summary: 'Get a bare-signature proof token',
    },
    { endpoint: 'authorization', path: '/v4/envs/{env}/oauth2/authorize', encodings: [], summary: 'Start the authorization (PKCE S256)' },
  ],
  grantTypes: ['authorization_code'],
  environment: { param: 'appEnv', values: { DEVELOPMENT: 'DEVELOPMENT', STAGING: 'STAGING', PRODUCTION: 'PRODUCTION' } },
  requestAliases: {},
  defaultParams: {},
  pkceOptionalForConfidential: false,
  accessTokenTtl: undefined,
  dialect: ignisignDialect,
  schemas: { token: TOKEN_SCHEMA, error: ERROR_SCHEMA, errorStatuses: [400, 401, 403, 413, 429, 500, 503] },
};
