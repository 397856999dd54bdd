import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Access, allows, readsAnything, scopedEnvironments } from '../admin/admin-scopes.ts';
import { randomToken } from '../crypto/secrets.ts';
import { renderMessage } from './client-pages.ts';
import type { ConsoleDeps, ConsoleGrant } from './deps.ts';
import { consoleSecurityHeaders, type Viewer } from './layout.ts';
import { ConsoleCookies, type ConsoleSession, newSignIn, type PendingSignIn, readCookie, SIGN_IN_TTL_S, sameString } from './session.ts';

/** One hour: the default access-token lifetime, after which the token stops verifying anyway. */
export const DEFAULT_SESSION_TTL_S = 3600;

/** A signed-in request: the session and what its token allows. */
export interface SignedIn {
  session: ConsoleSession;
  viewer: Viewer;
  grant: ConsoleGrant;
}

/** What the operator's token allows, read as the admin API reads it (admin:write includes reading; `:ENV` scopes one environment). */
const scopeSet = (grant: ConsoleGrant): ReadonlySet<string> => new Set(grant.scopes);

/** Whether the signed-in operator may read or change `env` (undefined: what belongs to no one environment, or to all). */
export function mayAccess(signedIn: SignedIn, access: Access, env: string | undefined): boolean {
  return allows(scopeSet(signedIn.grant), access, env);
}

/**
 * The viewer of one request: the operator's name, and whether the forms of this page may change
 * anything (for an environment's pages, the environment's write scope; elsewhere, admin:write).
 */
export function viewerFor(signedIn: SignedIn, env: string | undefined): Viewer {
  const scopes = scopeSet(signedIn.grant);
  return {
    name: signedIn.session.name ?? signedIn.grant.subject,
    canWrite: allows(scopes, 'write', env),
    // The audit log spans every environment: like the admin API's, it needs admin:read for all.
    canAudit: allows(scopes, 'read', undefined),
    access: accessNote(scopes),
    csrfToken: signedIn.session.csrf,
  };
}

/** What the top bar says beside the name: nothing for admin:write, else what the scopes reach. */
function accessNote(scopes: ReadonlySet<string>): string | undefined {
  if (allows(scopes, 'write', undefined)) return undefined;
  const envs = scopedEnvironments(scopes);
  const writes = envs.some((env) => allows(scopes, 'write', env));
  if (allows(scopes, 'read', undefined)) return writes ? `read only, changes ${envs.filter((env) => allows(scopes, 'write', env)).join(', ')}` : 'read only';
  return `${envs.join(', ')} only${writes ? '' : ', read only'}`;
}

/** Sends an HTML page with the console's security headers. */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.status(status).headers(consoleSecurityHeaders()).send(html);
}

export function refuse(reply: FastifyReply, status: number, title: string, message: string, viewer?: Viewer): FastifyReply {
  const link = viewer ? { href: '/console/envs', label: 'Back to the console' } : { href: '/console/', label: 'Sign in' };
  return sendPage(reply, status, renderMessage({ title, message, link, viewer }));
}

/**
 * Sign-in through Gatehouse's own authorization code flow with PKCE, and the console session
 * that follows. The access token stays in the sealed session cookie and is verified again on
 * every request, so a revoked or expired token ends the session at once.
 */
export class ConsoleAuth {
  readonly cookies: ConsoleCookies;
  private readonly ttl: number;

  constructor(private readonly deps: ConsoleDeps) {
    this.cookies = new ConsoleCookies(deps.cookieSecret, new URL(deps.client.redirectUri).protocol === 'https:', deps.clock);
    this.ttl = deps.sessionTtl ?? DEFAULT_SESSION_TTL_S;
  }

  /** The signed-in operator, if the session cookie opens, has not expired, and its token still verifies with admin:read. */
  async current(request: FastifyRequest): Promise<SignedIn | undefined> {
    const session = this.cookies.open<ConsoleSession>(this.cookies.session, readCookie(request.headers.cookie, this.cookies.session));
    if (!session) return undefined;
    const grant = await this.deps.authorize(session.token);
    if (!grant || grant.clientId !== this.deps.client.clientId || !readsAnything(scopeSet(grant))) return undefined;
    const signedIn = { session, grant } as SignedIn;
    signedIn.viewer = viewerFor(signedIn, undefined);
    return signedIn;
  }

  /** Whether a form's CSRF token is the session's (synchronizer token, compared in constant time). */
  csrfMatches(signedIn: SignedIn, token: string | undefined): boolean {
    return sameString(signedIn.session.csrf, token);
  }

  /** 303 to the management environment's authorization endpoint, with state and PKCE kept in a sealed cookie. */
  startSignIn(reply: FastifyReply): FastifyReply {
    const { pending, challenge } = newSignIn(this.deps.clock.now());
    const url = new URL(`${this.deps.issuer}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.deps.client.clientId,
      redirect_uri: this.deps.client.redirectUri,
      // No scope: RFC 6749 §3.3, the console client's default scopes. Narrowing them (to
      // admin:read:ENV, admin:write:ENV) narrows what operators signing in here may do.
      state: pending.state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    reply.header('set-cookie', this.cookies.header(this.cookies.signIn, this.cookies.seal(this.cookies.signIn, pending), SIGN_IN_TTL_S));
    return reply.header('cache-control', 'no-store').redirect(url.href, 303);
  }

  /** The redirect back from the authorization endpoint: checks state and iss, redeems the code, starts the session. */
  async finishSignIn(request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply: FastifyReply): Promise<FastifyReply> {
    const pending = this.cookies.open<PendingSignIn>(this.cookies.signIn, readCookie(request.headers.cookie, this.cookies.signIn));
    reply.header('set-cookie', this.cookies.clear(this.cookies.signIn));
    const q = request.query;
    if (!pending || !sameString(pending.state, q.state))
      return refuse(reply, 400, 'Sign-in expired', 'This sign-in has expired or was started elsewhere. Sign in again.');
    // RFC 9207: Gatehouse names itself on every authorization response; anything else is a mix-up.
    if (q.iss !== this.deps.issuer) return refuse(reply, 400, 'Sign-in failed', 'The response did not come from the expected issuer.');
    if (q.error !== undefined || !q.code) return refuse(reply, 403, 'Sign-in refused', 'The sign-in was cancelled or refused.');
    const { clientId, clientSecret, redirectUri } = this.deps.client;
    let accessToken: string;
    try {
      ({ accessToken } = await this.deps.exchangeCode({ code: q.code, verifier: pending.verifier, redirectUri, clientId, clientSecret }));
    } catch (error) {
      request.log.warn({ err: error }, 'the console could not redeem an authorization code');
      return refuse(reply, 502, 'Sign-in failed', 'The authorization code could not be redeemed. Sign in again.');
    }
    const grant = await this.deps.authorize(accessToken);
    if (!grant || grant.clientId !== clientId || !readsAnything(scopeSet(grant))) {
      return refuse(
        reply,
        403,
        'Not allowed',
        'This sign-in may not use the console: it needs admin:read or admin:write, for all environments or one (admin:read:ENV).',
      );
    }
    const name = await this.deps.operatorName?.(grant.subject).catch((error: unknown) => {
      request.log.warn({ err: error }, 'the console could not read the operator name');
      return undefined;
    });
    const session: ConsoleSession = { token: accessToken, csrf: randomToken(32), exp: this.deps.clock.now() + this.ttl * 1000, ...(name ? { name } : {}) };
    reply.header('set-cookie', [
      this.cookies.clear(this.cookies.signIn),
      this.cookies.header(this.cookies.session, this.cookies.seal(this.cookies.session, session), this.ttl),
    ]);
    return reply.header('cache-control', 'no-store').redirect('/console/envs', 303);
  }

  /**
   * Clears the session cookie and revokes its access token, so a copy of the cookie taken
   * earlier stops working too (the token is verified on every request). A failed revocation
   * still signs out: the token then lasts until it expires.
   */
  async signOut(reply: FastifyReply, signedIn: SignedIn | undefined, log: (error: unknown) => void): Promise<FastifyReply> {
    if (signedIn && this.deps.revokeToken) {
      const { clientId, clientSecret } = this.deps.client;
      await this.deps.revokeToken({ token: signedIn.session.token, clientId, clientSecret }).catch(log);
    }
    reply.header('set-cookie', this.cookies.clear(this.cookies.session));
    return reply.redirect('/console/signed-out', 303);
  }
}
