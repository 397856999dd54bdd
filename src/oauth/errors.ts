import type { RateLimitState } from './rate-limit.ts';

/**
 * Every error code Gatehouse answers with, its usual HTTP status and what it means: the one list
 * the error type, the configuration validator (surface status maps) and every dialect read.
 * RFC 6749 §5.2 codes first, then RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 8628 §3.5 (device
 * polling), RFC 9449 (DPoP), RFC 7591 §3.2.2 (registration) and Gatehouse's own.
 */
export const OAUTH_ERROR_CODES = {
  invalid_request: { status: 400, description: 'a parameter is missing, repeated, malformed or not allowed (RFC 6749 §5.2)' },
  invalid_client: { status: 401, description: 'client authentication failed (RFC 6749 §5.2)' },
  invalid_grant: { status: 400, description: "the grant (code, refresh token, assertion) is invalid, expired, revoked or not this client's (RFC 6749 §5.2)" },
  unauthorized_client: { status: 400, description: 'the client may not use this grant type (RFC 6749 §5.2)' },
  unsupported_grant_type: { status: 400, description: 'the grant type is not supported here (RFC 6749 §5.2)' },
  invalid_scope: { status: 400, description: 'the requested scope is invalid, unknown or exceeds what the client may have (RFC 6749 §5.2)' },
  invalid_target: { status: 400, description: 'the resource is not an absolute URI, unknown, or not allowed for this client (RFC 8707 §2)' },
  invalid_token: { status: 401, description: 'the access token presented to a resource is invalid or expired (RFC 6750 §3.1)' },
  insufficient_scope: { status: 403, description: 'the access token lacks a scope the resource requires, such as openid at UserInfo (RFC 6750 §3.1)' },
  unsupported_token_type: { status: 400, description: 'the token type cannot be revoked here (RFC 7009 §2.2.1)' },
  authorization_pending: {
    status: 400,
    description: 'the user has not yet approved or denied the device request; poll again after the interval (RFC 8628 §3.5)',
  },
  slow_down: { status: 400, description: 'the device polls too fast; its interval grew by 5 seconds (RFC 8628 §3.5)' },
  access_denied: { status: 400, description: 'the user denied the request (RFC 8628 §3.5, RFC 6749 §4.1.2.1)' },
  expired_token: { status: 400, description: 'the device code expired before the user approved it; start again (RFC 8628 §3.5)' },
  invalid_dpop_proof: { status: 400, description: 'the DPoP proof is missing, malformed, replayed or does not match the request (RFC 9449 §4.3, §5)' },
  use_dpop_nonce: { status: 400, description: 'the DPoP proof must carry the server nonce given in the DPoP-Nonce header (RFC 9449 §8)' },
  invalid_redirect_uri: { status: 400, description: 'a redirect URI in the client metadata is not allowed (RFC 7591 §3.2.2)' },
  invalid_client_metadata: { status: 400, description: 'a client metadata field is invalid or not allowed here (RFC 7591 §3.2.2)' },
  invalid_software_statement: { status: 400, description: 'the software statement is not a valid signed JWT (RFC 7591 §3.2.2)' },
  unapproved_software_statement: { status: 400, description: 'the software statement is not from a trusted issuer (RFC 7591 §3.2.2)' },
  too_many_requests: { status: 429, description: 'the client exceeded its quota or failed authentication too often' },
  not_found: { status: 404, description: 'no such environment or endpoint' },
  temporarily_unavailable: { status: 503, description: 'the service cannot answer now (database unavailable, surface closed); retry later' },
  server_error: { status: 500, description: 'an unexpected error; its id is in the log' },
} as const satisfies Record<string, { status: number; description: string }>;

export type OAuthErrorCode = keyof typeof OAUTH_ERROR_CODES;

/** The codes of `OAUTH_ERROR_CODES`, in its order. */
export const ERROR_CODE_LIST = Object.keys(OAUTH_ERROR_CODES) as readonly OAuthErrorCode[];

/**
 * Why a request failed, finer than the RFC 6749 code, for dialects whose error codes say more
 * (Ignisign answers a replayed code with TOKEN_ALREADY_CONSUMED, not a bare invalid_grant).
 */
export type OAuthErrorReason =
  | 'code_unknown'
  | 'code_reused'
  | 'code_expired'
  | 'code_client_mismatch'
  | 'redirect_uri_mismatch'
  | 'pkce_failed'
  | 'refresh_token_unknown'
  | 'refresh_token_reused'
  | 'refresh_token_revoked'
  | 'refresh_token_expired'
  | 'user_inactive'
  | 'assertion_refused'
  | 'environment_unknown'
  | 'outside_working_hours'
  | 'storage_unavailable'
  | 'quota_exceeded'
  | 'token_missing'
  | 'device_code_unknown'
  | 'device_code_reused';

export interface OAuthErrorOptions {
  /** Overrides the code's usual status (413 for an oversized body, for instance). */
  status?: number;
  /** The request parameter at fault, for dialects that name it. Never carries a secret value. */
  parameter?: string;
  /** The `WWW-Authenticate` scheme to answer with: Basic when the client tried it (RFC 6749 §5.2), Bearer at a resource (RFC 6750 §3). */
  challenge?: 'Basic' | 'Bearer' | 'DPoP';
  /** Seconds a throttled caller should wait. */
  retryAfter?: number;
  /** The finer reason, for dialects that distinguish more cases than RFC 6749. */
  reason?: OAuthErrorReason;
  /** The client's quota state, for `RateLimit` and `RateLimit-Policy` headers. */
  rateLimit?: RateLimitState;
  /** RFC 9449 §8: the server nonce to send in the `DPoP-Nonce` header. */
  dpopNonce?: string;
}

/**
 * The one error type of the OAuth core. Every failure a client can cause is an `OAuthError`;
 * each surface's dialect renders it. Anything else that escapes is a `server_error`.
 */
export class OAuthError extends Error {
  readonly status: number;
  readonly parameter: string | undefined;
  readonly challenge: 'Basic' | 'Bearer' | 'DPoP' | undefined;
  readonly retryAfter: number | undefined;
  readonly reason: OAuthErrorReason | undefined;
  readonly rateLimit: RateLimitState | undefined;
  readonly dpopNonce: string | undefined;

  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    options: OAuthErrorOptions = {},
  ) {
    super(`${code}: ${description}`);
    this.name = 'OAuthError';
    this.status = options.status ?? OAUTH_ERROR_CODES[code].status;
    this.parameter = options.parameter;
    this.challenge = options.challenge;
    this.retryAfter = options.retryAfter;
    this.reason = options.reason;
    this.rateLimit = options.rateLimit;
    this.dpopNonce = options.dpopNonce;
  }
}

/** Seconds a client is asked to wait before retrying while the database is unavailable. */
export const STORAGE_RETRY_AFTER_S = 5;

/** The error of a request that needed the database while it was unavailable (the request was not completed). */
export const storageUnavailable = (): OAuthError =>
  new OAuthError('temporarily_unavailable', 'the service is temporarily unavailable; retry later', {
    retryAfter: STORAGE_RETRY_AFTER_S,
    reason: 'storage_unavailable',
  });

export const invalidRequest = (description: string, parameter?: string): OAuthError =>
  new OAuthError('invalid_request', description, parameter ? { parameter } : {});
