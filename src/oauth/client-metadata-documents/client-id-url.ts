/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-03): a client may
 * name itself by an https URL, and the authorization server fetches its metadata from there.
 * This file holds the rules the URL itself must follow, before anything is fetched.
 */

/** Whether a client_id is meant as a metadata document URL (and so is never a registered id's look-alike). */
export function looksLikeClientIdUrl(clientId: string): boolean {
  return clientId.startsWith('https://');
}

/**
 * Why `clientId` may not be used as a Client Identifier URL, or the parsed URL if it may.
 * Draft §3: the https scheme, a path component, no single-dot or double-dot path segments, no
 * fragment, no username or password. The URL is used exactly as sent (§3: never normalised
 * before comparison), so a string the WHATWG parser would rewrite is refused rather than
 * silently fetched under another name.
 */
export function parseClientIdUrl(clientId: string): { url: URL } | { refused: string } {
  if (clientId.length > 2048) return { refused: 'client_id URL too long' };
  if (!looksLikeClientIdUrl(clientId)) return { refused: 'client_id URL is not https' };
  if (clientId.includes('#')) return { refused: 'client_id URL has a fragment' };
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return { refused: 'client_id URL is malformed' };
  }
  if (url.username !== '' || url.password !== '' || /^https:\/\/[^/?]*@/.test(clientId)) return { refused: 'client_id URL has credentials' };
  const path = clientId.slice(`https://${url.host}`.length).split('?')[0] ?? '';
  if (path === '' || path === '/') return { refused: 'client_id URL has no path' };
  // §3: no "." or ".." segments, nor their percent-encoded forms (RFC 3986 §6.2.2.2 would decode them).
  if (path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) return { refused: 'client_id URL has dot segments' };
  // The parser must keep the string as it is: the document's client_id is compared with it byte for byte.
  if (url.href !== clientId) return { refused: 'client_id URL is not in normal form' };
  return { url };
}

/** An exact, case-insensitive host rule: `example.com` or a whole subtree `*.example.com`. */
export function hostMatches(host: string, rule: string): boolean {
  const h = host.toLowerCase();
  const r = rule.toLowerCase();
  if (r.startsWith('*.')) return h.endsWith(r.slice(1)) && h.length > r.length - 1;
  return h === r;
}
