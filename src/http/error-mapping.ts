import { StorageUnavailableError } from '../domain/storage.ts';
import { OAuthError, storageUnavailable } from '../oauth/errors.ts';

/**
 * Turns anything thrown while serving a request into an `OAuthError`. Framework errors a client
 * caused keep a 4xx; an unavailable database is a 503 `temporarily_unavailable` with Retry-After
 * (the request was not completed); everything else becomes a generic `server_error` whose detail only the
 * log sees.
 */
export function toOAuthError(error: unknown, bodyLimit: number): { error: OAuthError; unexpected: boolean } {
  if (error instanceof OAuthError) return { error, unexpected: false };
  if (error instanceof StorageUnavailableError) return { error: storageUnavailable(), unexpected: false };
  const e = error as { code?: string; statusCode?: number };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) {
    return { error: new OAuthError('invalid_request', `the request body exceeds ${bodyLimit} bytes`, { status: 413 }), unexpected: false };
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.statusCode === 415) {
    return {
      error: new OAuthError('invalid_request', 'unsupported content type: send application/x-www-form-urlencoded or application/json'),
      unexpected: false,
    };
  }
  if (e.code === 'FST_ERR_MAX_PARAM_LENGTH' || e.statusCode === 414) {
    return { error: new OAuthError('invalid_request', 'the request URL is too long', { status: 414 }), unexpected: false };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { error: new OAuthError('invalid_request', 'the request could not be read'), unexpected: false };
  }
  return { error: new OAuthError('server_error', 'the server could not complete the request'), unexpected: true };
}
