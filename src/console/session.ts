import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import { decryptPrivateKey, encryptPrivateKey } from '../crypto/key-encryption.ts';
import { randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';

/** A signed-in operator: the access token (re-verified on every request), the CSRF token, the end. */
export interface ConsoleSession {
  token: string;
  csrf: string;
  /** Epoch milliseconds. */
  exp: number;
  /** The operator's name as read at sign-in; absent: the token's subject is shown. */
  name?: string;
}

/** A sign-in in progress: what the callback must see again. */
export interface PendingSignIn {
  state: string;
  verifier: string;
  exp: number;
}

/** How long a sign-in may take, from the redirect to the callback. */
export const SIGN_IN_TTL_S = 600;

/**
 * The console's two cookies, sealed with AES-256-GCM under a key derived from the cookie secret:
 * nothing is kept in memory, so any node or worker can serve any request, and the access token
 * inside is never readable by the browser or anyone who copies the cookie's text. The associated
 * data binds each sealed value to its cookie, so one cannot stand in for the other.
 * On https the names carry the `__Host-` prefix (Secure, Path=/, no Domain: no subdomain can
 * set or shadow them); on plain-http loopback in development that prefix is refused by browsers,
 * so the names are plain and the path is /console, as the login session cookie does.
 */
export class ConsoleCookies {
  readonly session: string;
  readonly signIn: string;
  private readonly path: string;
  private readonly key: Buffer;

  constructor(
    secret: Buffer,
    private readonly secure: boolean,
    private readonly clock: Clock,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'gatehouse console cookies', 32));
    this.session = secure ? '__Host-gatehouse_console' : 'gatehouse_console';
    this.signIn = secure ? '__Host-gatehouse_console_signin' : 'gatehouse_console_signin';
    this.path = secure ? '/' : '/console';
  }

  seal(name: string, value: ConsoleSession | PendingSignIn): string {
    return encryptPrivateKey(JSON.stringify(value), this.key, name);
  }

  /** The cookie's value if it opens under this key and has not expired; undefined otherwise. */
  open<T extends { exp: number }>(name: string, sealed: string | undefined): T | undefined {
    if (!sealed) return undefined;
    try {
      const value = JSON.parse(decryptPrivateKey(sealed, this.key, name)) as T;
      return typeof value.exp === 'number' && value.exp > this.clock.now() ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /** The `Set-Cookie` value: HttpOnly, SameSite=Lax (the callback arrives by a top-level GET from the sign-in pages). */
  header(name: string, value: string, maxAgeSeconds: number): string {
    const attributes = [`Path=${this.path}`, `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`, 'HttpOnly', 'SameSite=Lax'];
    if (this.secure) attributes.push('Secure');
    return `${name}=${value}; ${attributes.join('; ')}`;
  }

  clear(name: string): string {
    return this.header(name, '', 0);
  }
}

/** The value of one cookie from a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A fresh sign-in: state and PKCE verifier (RFC 7636), and the S256 challenge to send. */
export function newSignIn(now: number): { pending: PendingSignIn; challenge: string } {
  const verifier = randomToken(32);
  const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  return { pending: { state: randomToken(16), verifier, exp: now + SIGN_IN_TTL_S * 1000 }, challenge };
}

/** Constant-time equality of two strings (CSRF tokens, state). */
export function sameString(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}
