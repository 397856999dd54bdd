/** The cookie that carries the browser session of the login and consent pages. */
export const SESSION_COOKIE = 'gatehouse_session';

/** The value of one cookie from a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The `Set-Cookie` value of a session: scoped to the issuer's path, HttpOnly, SameSite=Lax, and
 * Secure when the public URL is https.
 */
export function sessionCookie(sessionId: string, path: string, maxAge: number, secure: boolean): string {
  const attributes = [`Path=${path}`, `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax'];
  if (secure) attributes.push('Secure');
  return `${SESSION_COOKIE}=${sessionId}; ${attributes.join('; ')}`;
}
