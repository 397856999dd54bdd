import { createHmac, timingSafeEqual } from 'node:crypto';
import { hashSecret, randomToken } from '../crypto/secrets.ts';
import type { Clock } from '../domain/clock.ts';
import type { BrowserSession, Environment } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';

/** A session as the HTTP layer holds it: the cookie value and the stored record. */
export interface ActiveSession {
  /** The secret cookie value; storage only ever sees its hash. */
  id: string;
  session: BrowserSession;
}

// Anonymous sessions exist only to carry a pending authorization through the login page.
const ANONYMOUS_SESSION_TTL_MS = 60 * 60 * 1000;

/**
 * Browser sessions of the login and consent pages, stored (hashed) so every node sees them.
 * The CSRF token of a form is an HMAC of the session id: tied to the session, unguessable
 * without the cookie, and nothing more to store.
 */
export class BrowserSessions {
  constructor(
    private readonly store: Pick<Store, 'browserSessions'>,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** The session named by the cookie, if it exists in `env` and has not expired. */
  async current(env: Environment, cookieValue: string | undefined): Promise<ActiveSession | undefined> {
    if (cookieValue === undefined || !/^[A-Za-z0-9_-]{43}$/.test(cookieValue)) return undefined;
    const session = await this.store.browserSessions.find(env.id, hashSecret(cookieValue), this.clock.now());
    return session && { id: cookieValue, session };
  }

  /** A new anonymous session. */
  async start(env: Environment): Promise<ActiveSession> {
    const now = this.clock.now();
    const id = randomToken(32);
    const session: BrowserSession = {
      idHash: hashSecret(id),
      envId: env.id,
      userId: null,
      authenticatedAt: null,
      createdAt: now,
      expiresAt: now + ANONYMOUS_SESSION_TTL_MS,
    };
    await this.store.browserSessions.create(session);
    return { id, session };
  }

  /**
   * Signs `userId` in with a password. The session id always changes (session fixation, RFC 9700
   * §4.x / OWASP): the old record is replaced and its pending authorizations move to the new one.
   * `authenticatedAt` is the OpenID `auth_time` and `amr` the RFC 8176 methods (`pwd` for a
   * password; a second factor signs in again with both, so the session id changes once more).
   *
   * The OpenID session id (`sid`, Back-Channel Logout §2.1) stays the same when the user already
   * signed in to this session signs in again (a forced re-authentication, `prompt=login` or
   * `max_age`): it is still one session at the OpenID Provider, so the ID Tokens issued before and
   * after name the same `sid` and a logout by that `sid` reaches all of them. Any other sign-in
   * (an anonymous session, another user, or a session from before `sid` existed) gets a new one:
   * a user must never inherit another's `sid`, or a logout for one would end the other's session.
   */
  async signIn(env: Environment, previous: ActiveSession | undefined, userId: string, amr: readonly string[] = ['pwd']): Promise<ActiveSession> {
    const now = this.clock.now();
    const id = randomToken(32);
    const kept = previous?.session.userId === userId ? previous.session.sid : undefined;
    const session: BrowserSession = {
      idHash: hashSecret(id),
      envId: env.id,
      userId,
      authenticatedAt: now,
      createdAt: now,
      expiresAt: now + this.ttlMs,
      sid: kept ?? randomToken(32),
      amr: [...amr],
    };
    await this.store.browserSessions.replace(previous?.session.idHash, session);
    return { id, session };
  }

  /** Seconds the cookie should live. */
  cookieMaxAge(session: BrowserSession): number {
    return Math.max(0, Math.floor((session.expiresAt - this.clock.now()) / 1000));
  }

  csrfToken(active: ActiveSession): string {
    return createHmac('sha256', active.id).update('gatehouse-csrf').digest('base64url');
  }

  csrfTokenMatches(active: ActiveSession, presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const expected = Buffer.from(this.csrfToken(active));
    const actual = Buffer.from(presented);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
