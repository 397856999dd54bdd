import type { OAuthError } from '../../oauth/errors.ts';
import type { TokenResult } from '../../oauth/grants/grant.ts';
import type { Dialect, RenderedResponse } from './dialect.ts';

/** RFC 6749 §5.1 token responses and §5.2 error responses. */
export const rfc6749Dialect: Dialect = {
  name: 'rfc6749',
  renderToken(result: TokenResult): RenderedResponse {
    return {
      status: 200,
      headers: {},
      body: {
        access_token: result.accessToken,
        token_type: result.tokenType,
        expires_in: result.expiresIn,
        scope: result.scope.join(' '),
        ...(result.refreshToken ? { refresh_token: result.refreshToken } : {}),
      },
    };
  },
  renderError(error: OAuthError): RenderedResponse {
    return { status: error.status, headers: standardErrorHeaders(error), body: { error: error.code, error_description: error.description } };
  },
};

/** Headers every dialect adds for an error: the Basic challenge (RFC 6749 §5.2) and Retry-After. */
export function standardErrorHeaders(error: OAuthError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.status === 401 && error.challenge === 'Basic') headers['www-authenticate'] = 'Basic realm="gatehouse", charset="UTF-8"';
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  return headers;
}
