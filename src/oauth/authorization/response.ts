/** An /authorize request that must not redirect: the user sees an error page instead. */
export interface AuthorizationErrorPage {
  kind: 'error_page';
  message: string;
}

/** A response sent to the client's redirect_uri: a code or an error, always with `iss`. */
export interface AuthorizationRedirect {
  kind: 'redirect';
  location: string;
  /** For an error response: the error it carries (the pushed authorization request endpoint answers it as JSON). */
  refusal?: AuthorizationRefusal;
}

/**
 * A page of the flow the browser must visit before the request can be answered; `device`: the
 * decision page of a request held by the device verification page (RFC 8628 §3.3); `mfa`: the
 * second-factor page (a second step of the sign-in, or a step-up).
 */
export interface AuthorizationPage {
  kind: 'login' | 'consent' | 'device' | 'mfa';
  requestId: string;
}

/** What the browser should see next for a pending authorization. */
export type AuthorizationStep = AuthorizationRedirect | AuthorizationErrorPage | AuthorizationPage;

/** Why a request was refused: an RFC 6749 §4.1.2.1 error code and a fixed description. */
export interface AuthorizationRefusal {
  error: string;
  description: string;
}

/**
 * RFC 6749 §4.1.2.1 error response, with `state` echoed when it can come back byte for byte and
 * RFC 9207 `iss` always.
 */
export function errorRedirect(redirectUri: string, refusal: AuthorizationRefusal, state: string | null, issuer: string): AuthorizationRedirect {
  return {
    kind: 'redirect',
    location: redirectLocation(redirectUri, { error: refusal.error, error_description: refusal.description, state, iss: issuer }),
    refusal,
  };
}

/** RFC 6749 §4.1.2 success response: the code, `state` as the client sent it, and RFC 9207 `iss`. */
export function codeRedirect(redirectUri: string, code: string, state: string | null, issuer: string): AuthorizationRedirect {
  return { kind: 'redirect', location: redirectLocation(redirectUri, { code, state, iss: issuer }) };
}

/**
 * The redirect URI with response parameters added to its query. The registered URI is kept
 * exactly as it is (its own query included); values are percent-encoded, so `state` comes back
 * byte for byte once decoded.
 */
export function redirectLocation(redirectUri: string, params: Record<string, string | null>): string {
  const query = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  const separator = redirectUri.includes('?') ? (redirectUri.endsWith('?') || redirectUri.endsWith('&') ? '' : '&') : '?';
  return `${redirectUri}${separator}${query}`;
}
