import { OAuthError } from '../errors.ts';

const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'ftp:', 'ws:', 'wss:']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** Parameters the authorization response adds: a registered URI that already carries one would be ambiguous. */
const RESPONSE_PARAMETERS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri'];
/** RFC 8252 §7.1: a private-use scheme is a reverse domain name, so it has at least one dot. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

const refuse = (description: string) => new OAuthError('invalid_redirect_uri', description, { parameter: 'redirect_uris' });

/**
 * RFC 7591 §2 and RFC 8252 §7: one redirect URI a client registers. https anywhere; http only on
 * a loopback address (§7.3, any port at /authorize); a private-use scheme of a reverse domain name
 * (§7.1) only for a public (native) client. Never a fragment (RFC 6749 §3.1.2), credentials, or a
 * response parameter in the query. Throws `invalid_redirect_uri` naming what is wrong.
 */
export function checkRegisteredRedirectUri(uri: unknown, publicClient: boolean): string {
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > 2000) throw refuse('each redirect URI is a non-empty string of at most 2000 characters');
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw refuse(`redirect URI is not an absolute URI: ${uri}`);
  }
  // RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment component.
  if (uri.includes('#')) throw refuse(`redirect URI must not have a fragment: ${uri}`);
  if (FORBIDDEN_SCHEMES.has(url.protocol)) throw refuse(`redirect URI scheme ${url.protocol} is not allowed`);
  if (url.username || url.password) throw refuse(`redirect URI must not carry credentials: ${uri}`);
  const clash = RESPONSE_PARAMETERS.find((name) => url.searchParams.has(name));
  if (clash) throw refuse(`redirect URI must not have a ${clash} parameter: the response adds it`);
  if (url.protocol === 'https:') return canonical(uri, url);
  if (url.protocol === 'http:') {
    // RFC 8252 §7.3 (and §8.3: `localhost` is allowed but discouraged); any other http host is refused.
    if (!LOOPBACK_HOSTS.has(url.hostname)) throw refuse(`redirect URI must use https (http only on a loopback address): ${uri}`);
    return canonical(uri, url);
  }
  if (!PRIVATE_USE_SCHEME.test(url.protocol)) {
    throw refuse(`redirect URI scheme ${url.protocol} is neither https, loopback http nor a private-use scheme of a reverse domain name (RFC 8252 §7.1)`);
  }
  if (!publicClient) throw refuse(`a private-use scheme redirect URI is for native (public) clients only: ${uri}`);
  return uri;
}

function canonical(uri: string, url: URL): string {
  // Matching at /authorize is exact (RFC 9700 §2.1), so only the canonical form is registered.
  if (url.href !== uri) throw refuse(`redirect URI must be written in its canonical form: ${url.href}`);
  return uri;
}
