import { BearerError } from './errors.ts';

/** Where a request may carry its access token, in a form every adapter can fill. */
export interface BearerRequest {
  /** The request method (a form body token is refused on GET, RFC 6750 §2.2). */
  method: string;
  /** The `Authorization` header value, or each value if it was sent more than once. */
  authorization: string | readonly string[] | undefined;
  /** The raw query string (after `?`), if any. */
  query?: string | undefined;
  /** `access_token` values of an `application/x-www-form-urlencoded` body, if there was one. */
  bodyTokens?: readonly string[] | undefined;
}

/** Which ways of carrying a token beyond the `Authorization` header are accepted. */
export interface ExtractionOptions {
  allowQueryToken: boolean;
  allowBodyToken: boolean;
}

/** RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Finds the one access token of a request (RFC 6750 §2). Throws `BearerError` without a code when
 * there is none, and `invalid_request` when the request is malformed or uses more than one method.
 */
export function extractBearerToken(request: BearerRequest, options: ExtractionOptions): string {
  const found: string[] = [];
  const header = headerToken(request.authorization);
  if (header !== undefined) found.push(header);
  if (options.allowQueryToken && request.query) {
    const values = new URLSearchParams(request.query).getAll('access_token');
    if (values.length > 1) throw new BearerError('invalid_request', 'access_token is given more than once');
    found.push(...values);
  }
  if (options.allowBodyToken && request.bodyTokens && request.bodyTokens.length > 0) {
    if (request.method.toUpperCase() === 'GET') throw new BearerError('invalid_request', 'a GET request cannot carry the token in its body');
    if (request.bodyTokens.length > 1) throw new BearerError('invalid_request', 'access_token is given more than once');
    found.push(...request.bodyTokens);
  }
  // RFC 6750 §2: clients must not use more than one method per request.
  if (found.length > 1) throw new BearerError('invalid_request', 'the token is given in more than one way');
  const token = found[0];
  if (token === undefined) throw new BearerError(undefined, 'an access token is required');
  if (token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) throw new BearerError('invalid_request', 'the access token is malformed');
  return token;
}

/** The token of an `Authorization: Bearer` header (scheme case-insensitive, RFC 7235 §2.1); undefined for no header or another scheme. */
function headerToken(authorization: string | readonly string[] | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  if (typeof authorization !== 'string') {
    if (authorization.length > 1) throw new BearerError('invalid_request', 'the Authorization header is given more than once');
    return headerToken(authorization[0]);
  }
  const value = authorization.trim();
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return undefined;
  const token = space === -1 ? '' : value.slice(space + 1).trim();
  if (!token) throw new BearerError('invalid_request', 'the Bearer scheme needs a token');
  return token;
}
