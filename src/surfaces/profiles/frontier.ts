import type { OAuthError, OAuthErrorCode } from '../../oauth/errors.ts';
import type { Dialect, JsonSchema, Profile } from '../profile.ts';
import { standardErrorHeaders } from './standard.ts';

/**
 * gRPC status codes (google.rpc.Code) and the HTTP status grpc-gateway gives each. Frontier's
 * documented set is 3 → 400, 16 → 401, 7 → 403, 5 → 404, 13 → 500; 8 and 14 cover throttling
 * and working hours.
 */
export const GRPC_CODES = {
  INVALID_ARGUMENT: { code: 3, status: 400 },
  UNAUTHENTICATED: { code: 16, status: 401 },
  PERMISSION_DENIED: { code: 7, status: 403 },
  NOT_FOUND: { code: 5, status: 404 },
  RESOURCE_EXHAUSTED: { code: 8, status: 429 },
  INTERNAL: { code: 13, status: 500 },
  UNAVAILABLE: { code: 14, status: 503 },
} as const;

type GrpcName = keyof typeof GRPC_CODES;

// Every Gatehouse error code (OAUTH_ERROR_CODES) has its gRPC status; a new code must be given one.
const BY_CODE: Record<OAuthErrorCode, GrpcName> = {
  invalid_request: 'INVALID_ARGUMENT',
  invalid_client: 'UNAUTHENTICATED',
  invalid_grant: 'INVALID_ARGUMENT',
  unauthorized_client: 'PERMISSION_DENIED',
  unsupported_grant_type: 'INVALID_ARGUMENT',
  invalid_scope: 'INVALID_ARGUMENT',
  invalid_target: 'INVALID_ARGUMENT',
  invalid_token: 'INVALID_ARGUMENT',
  insufficient_scope: 'PERMISSION_DENIED',
  unsupported_token_type: 'INVALID_ARGUMENT',
  authorization_pending: 'INVALID_ARGUMENT',
  slow_down: 'RESOURCE_EXHAUSTED',
  access_denied: 'PERMISSION_DENIED',
  expired_token: 'INVALID_ARGUMENT',
  invalid_dpop_proof: 'UNAUTHENTICATED',
  use_dpop_nonce: 'INVALID_ARGUMENT',
  invalid_redirect_uri: 'INVALID_ARGUMENT',
  invalid_client_metadata: 'INVALID_ARGUMENT',
  invalid_software_statement: 'INVALID_ARGUMENT',
  unapproved_software_statement: 'INVALID_ARGUMENT',
  too_many_requests: 'RESOURCE_EXHAUSTED',
  not_found: 'NOT_FOUND',
  temporarily_unavailable: 'UNAVAILABLE',
  server_error: 'INTERNAL',
};

function grpcNameOf(error: OAuthError): GrpcName {
  // Frontier answers a service-account JWT it cannot accept as a failed authentication.
  if (error.reason === 'assertion_refused') return 'UNAUTHENTICATED';
  return BY_CODE[error.code];
}

// A status remapped in configuration keeps a matching gRPC code where one exists.
const GRPC_BY_STATUS = new Map<number, number>(Object.values(GRPC_CODES).map((c) => [c.status, c.code]));

/** grpc-gateway's error body: `{code, message, details: [google.rpc.ErrorInfo, google.rpc.RetryInfo?]}`. */
export const frontierDialect: Dialect = {
  statusOf: (error) => (error.status === 413 ? 400 : GRPC_CODES[grpcNameOf(error)].status),
  renderToken(result) {
    return { status: 200, headers: {}, body: { access_token: result.accessToken, token_type: result.tokenType } };
  },
  renderError(error, context) {
    const { status } = context;
    const code = GRPC_BY_STATUS.get(status) ?? (status >= 500 ? GRPC_CODES.INTERNAL.code : 2);
    const details: Record<string, unknown>[] = [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: (error.reason ?? error.code).toUpperCase(),
        domain: 'gatehouse',
        metadata: {
          error: error.code,
          errorId: context.errorId,
          ...(error.parameter === undefined ? {} : { parameter: context.receivedName(error.parameter) }),
        },
      },
    ];
    if (error.retryAfter !== undefined) details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${error.retryAfter}s` });
    return { status, headers: standardErrorHeaders(error, status), body: { code, message: error.description, details } };
  },
};

const TOKEN_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['access_token', 'token_type'],
  properties: { access_token: { type: 'string' }, token_type: { type: 'string' } },
  additionalProperties: false,
};

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['code', 'message', 'details'],
  properties: {
    code: { type: 'integer', format: 'int32' },
    message: { type: 'string' },
    details: { type: 'array', items: { type: 'object', required: ['@type'], properties: { '@type': { type: 'string' } } } },
  },
  additionalProperties: false,
};

/** Raystack Frontier's access-token endpoint: client credentials or a service-account JWT. */
export const frontierProfile: Profile = {
  name: 'frontier',
  title: 'Raystack Frontier — generate access token',
  routes: [
    {
      endpoint: 'token',
      path: '/v1beta1/auth/token',
      encodings: ['json', 'form'],
      required: ['grant_type'],
      summary: 'Generate an access token by client credentials or a service-account key JWT',
    },
  ],
  grantTypes: ['client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
  environment: undefined,
  requestAliases: {},
  defaultParams: {},
  pkceOptionalForConfidential: false,
  accessTokenTtl: undefined,
  dialect: frontierDialect,
  schemas: { token: TOKEN_SCHEMA, error: ERROR_SCHEMA, errorStatuses: [400, 401, 403, 404, 429, 500, 503] },
};
