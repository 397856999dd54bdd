import type { OAuthError, OAuthErrorCode, OAuthErrorReason } from '../../oauth/errors.ts';
import type { Dialect, JsonSchema, Profile } from '../profile.ts';
import { rfc6749TokenBody, standardErrorHeaders } from './standard.ts';

/** Every `code` the AbbeyCross surface answers with (docs/compatibility-surfaces.md). */
export const ABBEYCROSS_ERROR_CODES = {
  VALIDATION_FAILED: 'a field is missing, malformed or sent twice (parameter_name names it), or the body is not a JSON object',
  INVALID_CREDENTIALS: 'the client id and secret do not authenticate a client',
  CLIENT_NOT_AUTHORIZED: 'the client may not use the client_credentials grant',
  UNSUPPORTED_GRANT_TYPE: 'grant_type, when sent, is not client_credentials',
  INVALID_SCOPE: 'a requested scope is not allowed for the client',
  TOO_MANY_REQUESTS: 'too many failed authentications; see Retry-After (status 429)',
  QUOTA_EXCEEDED: "the client's request quota is used up; see Retry-After and RateLimit (status 429)",
  OUTSIDE_WORKING_HOURS: 'the service is outside its working hours; see Retry-After',
  SERVICE_UNAVAILABLE: 'the service cannot reach its database; the request was not completed; see Retry-After',
  NOT_FOUND: 'the configured environment does not exist',
  INTERNAL_ERROR: 'an unexpected server error',
} as const;

export type AbbeyCrossErrorCode = keyof typeof ABBEYCROSS_ERROR_CODES;

// Every Gatehouse error code (OAUTH_ERROR_CODES) has its AbbeyCross code; a new code must be given one.
const BY_CODE: Record<OAuthErrorCode, AbbeyCrossErrorCode> = {
  invalid_request: 'VALIDATION_FAILED',
  invalid_client: 'INVALID_CREDENTIALS',
  invalid_grant: 'VALIDATION_FAILED',
  unauthorized_client: 'CLIENT_NOT_AUTHORIZED',
  unsupported_grant_type: 'UNSUPPORTED_GRANT_TYPE',
  invalid_scope: 'INVALID_SCOPE',
  invalid_target: 'VALIDATION_FAILED',
  invalid_token: 'VALIDATION_FAILED',
  insufficient_scope: 'VALIDATION_FAILED',
  unsupported_token_type: 'VALIDATION_FAILED',
  authorization_pending: 'VALIDATION_FAILED',
  slow_down: 'TOO_MANY_REQUESTS',
  access_denied: 'CLIENT_NOT_AUTHORIZED',
  expired_token: 'VALIDATION_FAILED',
  invalid_dpop_proof: 'INVALID_CREDENTIALS',
  use_dpop_nonce: 'VALIDATION_FAILED',
  invalid_redirect_uri: 'VALIDATION_FAILED',
  invalid_client_metadata: 'VALIDATION_FAILED',
  invalid_software_statement: 'VALIDATION_FAILED',
  unapproved_software_statement: 'VALIDATION_FAILED',
  too_many_requests: 'TOO_MANY_REQUESTS',
  not_found: 'NOT_FOUND',
  temporarily_unavailable: 'OUTSIDE_WORKING_HOURS',
  server_error: 'INTERNAL_ERROR',
};

const BY_REASON: Partial<Record<OAuthErrorReason, AbbeyCrossErrorCode>> = {
  storage_unavailable: 'SERVICE_UNAVAILABLE',
  quota_exceeded: 'QUOTA_EXCEEDED',
};

const abbeyCrossCode = (error: OAuthError): AbbeyCrossErrorCode => (error.reason && BY_REASON[error.reason]) || BY_CODE[error.code];

/**
 * `{errorId, code, text, parameter_name?, parameter_value?}`. AbbeyCross documents 409, 500 and
 * 503: every request that cannot be completed is a 409 (the mapping can be overridden), except
 * throttling and quotas, which answer 429 with Retry-After like every other surface.
 * parameter_value is "set to input value of named parameter": the value as sent, so a number
 * stays a number, and never for a secret.
 */
export const abbeyCrossDialect: Dialect = {
  statusOf(error) {
    if (error.code === 'server_error') return 500;
    if (error.code === 'temporarily_unavailable') return 503;
    if (error.code === 'too_many_requests') return 429;
    return 409;
  },
  renderToken(result) {
    return { status: 200, headers: {}, body: rfc6749TokenBody(result) };
  },
  renderError(error, context) {
    const { status } = context;
    const parameter = error.parameter;
    const value = parameter === undefined ? undefined : context.receivedValue(parameter);
    const body = {
      errorId: context.errorId,
      code: abbeyCrossCode(error),
      text: error.description,
      ...(parameter === undefined ? {} : { parameter_name: context.receivedName(parameter) }),
      ...(value === undefined ? {} : { parameter_value: value }),
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
  required: ['errorId', 'code', 'text'],
  properties: {
    errorId: { type: 'string' },
    code: { type: 'string', enum: Object.keys(ABBEYCROSS_ERROR_CODES) },
    text: { type: 'string' },
    parameter_name: { type: 'string' },
    parameter_value: {},
  },
  additionalProperties: false,
};

/** AbbeyCross's token endpoint: a JSON body with the client id and secret, nothing else. */
export const abbeyCrossProfile: Profile = {
  name: 'abbeycross',
  title: 'AbbeyCross — generate access token',
  routes: [
    {
      endpoint: 'token',
      path: '/v1/oauth/token',
      encodings: ['json'],
      required: ['client_id', 'client_secret'],
      summary: 'Generate an access token',
    },
  ],
  grantTypes: ['client_credentials'],
  environment: undefined,
  requestAliases: { clientId: 'client_id', clientSecret: 'client_secret' },
  defaultParams: { grant_type: 'client_credentials' },
  pkceOptionalForConfidential: false,
  accessTokenTtl: undefined,
  dialect: abbeyCrossDialect,
  schemas: { token: TOKEN_SCHEMA, error: ERROR_SCHEMA, errorStatuses: [409, 429, 500, 503] },
};
