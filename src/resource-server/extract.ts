import { type AuthScheme, BearerError } from './errors.ts';

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
  /** The `DPoP` header value, or each value if it was sent more than once (RFC 9449 §4.3 check 1). */
  dpop?: string | readonly string[] | undefined;
  /**
   * The URL the request was sent to, as the adapter sees it (scheme, host, path); the verifier's
   * `dpop.publicOrigin` replaces its origin. Needed for DPoP only (RFC 9449 §4.3 check 9).
   */
  url?: string | undefined;
}

/** Which ways of carrying a token beyond the `Authorization` header are accepted. */
export interface ExtractionOptions {
  allowQueryToken: boolean;
  allowBodyToken: boolean;
  /** Accept `Authorization: DPoP` (RFC 9449 §7.1); otherwise that scheme is not a token here. */
  acceptDpop?: boolean;
}

/** The access token of a request and the scheme it came with (query and body tokens are bearer tokens). */
export interface PresentedToken {
  token: string;
  scheme: AuthScheme;
}

/** RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Finds the one access token of a request (RFC 6750 §2). Throws `BearerError` without a code when
 * there is none, and `invalid_request` when the request is malformed or uses more than one method.
 */
export function extractBearerToken(request: BearerRequest, options: ExtractionOptions): string {
  return extractAccessToken(request, options).token;
}

/** Like `extractBearerToken`, also telling the scheme: `Bearer`, or `DPoP` when `options.acceptDpop`. */
export function extractAccessToken(request: BearerRequest, options: ExtractionOptions): PresentedToken {
  const found: string[] = [];
  const header = headerToken(request.authorization, options.acceptDpop === true);
  if (header !== undefined) found.push(header.token);
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
  return { token, scheme: header?.scheme ?? 'Bearer' };
}

/**
 * The token of an `Authorization: Bearer` header, or `DPoP` when accepted (scheme
 * case-insensitive, RFC 7235 §2.1; RFC 9449 §7.1 token68); undefined for no header or another scheme.
 */
function headerToken(authorization: string | readonly string[] | undefined, acceptDpop: boolean): PresentedToken | undefined {
  if (authorization === undefined) return undefined;
  if (typeof authorization !== 'string') {
    if (authorization.length > 1) throw new BearerError('invalid_request', 'the Authorization header is given more than once');
    return headerToken(authorization[0], acceptDpop);
  }
  const value = authorization.trim();
  const space = value.indexOf(' ');
  const name = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  const scheme: AuthScheme | undefined = name === 'bearer' ? 'Bearer' : name === 'dpop' && acceptDpop ? 'DPoP' : undefined;
  if (scheme === undefined) return undefined;
  const token = space === -1 ? '' : value.slice(space + 1).trim();
  if (!token) throw new BearerError('invalid_request', `the ${scheme} scheme needs a token`);
  return { token, scheme };
}
