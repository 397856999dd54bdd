const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * RFC 6749 §3.1.2.3 and RFC 9700 §2.1: the presented redirect URI must equal a registered one
 * character for character; no prefix, case folding, normalisation or added query. The one
 * exception is RFC 8252 §7.3: for an http loopback URI the port may differ, since a native app
 * listens on whatever port it was given.
 */
export function matchesRegisteredRedirectUri(registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  const loopback = withoutLoopbackPort(presented);
  if (loopback === undefined) return false;
  return registered.some((uri) => withoutLoopbackPort(uri) === loopback);
}

/** `http://127.0.0.1:PORT/path?query` with the port removed, or undefined if not a loopback URI. */
function withoutLoopbackPort(uri: string): string | undefined {
  const match = /^http:\/\/(\[::1\]|127\.0\.0\.1|localhost)(?::(\d{1,5}))?([/?][^#]*)?$/.exec(uri);
  if (!match) return undefined;
  const [, host, port, rest] = match;
  if (port !== undefined && (Number(port) > 65535 || port.startsWith('0'))) return undefined;
  return LOOPBACK_HOSTS.has(host as string) ? `http://${host}${rest ?? ''}` : undefined;
}
