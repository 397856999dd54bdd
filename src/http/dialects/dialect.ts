import type { OAuthError } from '../../oauth/errors.ts';
import type { TokenResult } from '../../oauth/grants/grant.ts';

/** Context a dialect may put in an error body. */
export interface ErrorContext {
  /** Identifies the logged event of a server error (and, in some dialects, of every error). */
  errorId: string;
  now: Date;
}

export interface RenderedResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * How one surface speaks: the shape of its token responses and of its errors. The OAuth core
 * never formats a response; every surface picks a dialect. The standard surface uses RFC 6749.
 */
export interface Dialect {
  readonly name: string;
  renderToken(result: TokenResult): RenderedResponse;
  renderError(error: OAuthError, context: ErrorContext): RenderedResponse;
}
