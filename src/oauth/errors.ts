import type { RateLimitState } from './rate-limit.ts';

/** RFC 6749 §5.2 error codes, plus the few other codes Gatehouse endpoints answer with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'unsupported_token_type'
  | 'too_many_requests'
  | 'not_found'
  | 'temporarily_unavailable'
  | 'server_error';

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
  | 'token_missing';

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_token: 401,
  unsupported_token_type: 400,
  too_many_requests: 429,
  not_found: 404,
  temporarily_unavailable: 503,
  server_error: 500,
};

export interface OAuthErrorOptions {
  /** Overrides the code's usual status (413 for an oversized body, for instance). */
  status?: number;
  /** The request parameter at fault, for dialects that name it. Never carries a secret value. */
  parameter?: string;
  /** The `WWW-Authenticate` scheme to answer with: Basic when the client tried it (RFC 6749 §5.2), Bearer at a resource (RFC 6750 §3). */
  challenge?: 'Basic' | 'Bearer';
  /** Seconds a throttled caller should wait. */
  retryAfter?: number;
  /** The finer reason, for dialects that distinguish more cases than RFC 6749. */
  reason?: OAuthErrorReason;
  /** The client's quota state, for `RateLimit` and `RateLimit-Policy` headers. */
  rateLimit?: RateLimitState;
}

/**
 * The one error type of the OAuth core. Every failure a client can cause is an `OAuthError`;
 * each surface's dialect renders it. Anything else that escapes is a `server_error`.
 */
export class OAuthError extends Error {
  readonly status: number;
  readonly parameter: string | undefined;
  readonly challenge: 'Basic' | 'Bearer' | undefined;
  readonly retryAfter: number | undefined;
  readonly reason: OAuthErrorReason | undefined;
  readonly rateLimit: RateLimitState | undefined;

  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    options: OAuthErrorOptions = {},
  ) {
    super(`${code}: ${description}`);
    this.name = 'OAuthError';
    this.status = options.status ?? STATUS[code];
    this.parameter = options.parameter;
    this.challenge = options.challenge;
    this.retryAfter = options.retryAfter;
    this.reason = options.reason;
    this.rateLimit = options.rateLimit;
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
