import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveSession, BrowserSessions } from '../../../accounts/browser-sessions.ts';
import type { Environment, PendingAuthorization } from '../../../domain/model.ts';
import type { MessageKey } from '../../../i18n/catalogue.ts';
import type { AuthorizationEndpoint, AuthorizationStep, PendingFlow } from '../../../oauth/authorization/endpoint.ts';
import type { OAuthCore } from '../../../oauth/core.ts';
import type { EnvironmentResolver, ResolvedEnvironment } from '../../../oauth/environments.ts';
import { OAuthError } from '../../../oauth/errors.ts';
import type { PageMessage } from '../../../pages/authorization-pages.ts';
import type { PageContext } from '../../../pages/page-context.ts';
import { mediaTypeOf, type Params, parseBodyAs } from '../../params.ts';
import { PageContexts } from '../page-context.ts';
import { sendErrorPage } from './error-pages.ts';
import { readCookie, SESSION_COOKIE, sessionCookie } from './session-cookie.ts';

/** What the browser side of the flow needs. */
export interface BrowserFlowDeps {
  core: OAuthCore;
  environments: EnvironmentResolver;
  sessions: BrowserSessions;
  /** Cookies get `Secure` when the public URL is https. */
  secureCookies: boolean;
  /** The language and brand of each page. */
  pages?: PageContexts;
}

/** A held request found again from one of the flow's pages. */
export interface ResumedRequest {
  resolved: ResolvedEnvironment;
  active: ActiveSession;
  requestId: string;
  pending: PendingAuthorization;
}

/** A resumed request as the OAuth core's later steps take it. */
export function pendingFlowOf({ resolved, active, requestId, pending }: ResumedRequest): PendingFlow {
  return { env: resolved.env, issuer: resolved.urls.issuer, session: active.session, requestId, pending };
}

/**
 * The browser's side of the authorization flow, shared by its pages: the session cookie, moving
 * the browser to the step the OAuth core chose, and error pages. Every decision is the core's.
 */
export class BrowserFlow {
  readonly flow: AuthorizationEndpoint;
  readonly sessions: BrowserSessions;
  private readonly pages: PageContexts;

  constructor(private readonly deps: BrowserFlowDeps) {
    this.flow = deps.core.authorization;
    this.sessions = deps.sessions;
    this.pages = deps.pages ?? new PageContexts();
  }

  /** The language and brand of the page about to be shown for `request` (OIDC Core §3.1.2.1 `ui_locales` first). */
  page(request: FastifyRequest, resolved: ResolvedEnvironment, uiLocales?: readonly string[]): Promise<PageContext> {
    return this.pages.of(request, resolved.env, resolved.urls.issuer, uiLocales);
  }

  /** The environment named in the path; unknown names are a 404 page. */
  environment(name: string): Promise<ResolvedEnvironment> {
    return this.deps.environments.resolve(name);
  }

  errorPage(reply: FastifyReply, status: number, message: MessageKey | PageMessage, title?: MessageKey, detail?: string): FastifyReply {
    return sendErrorPage(reply, status, message, title, detail);
  }

  /** The CSRF token of a form did not match the browser session (RFC 6749 §10.12). */
  formExpiredPage(reply: FastifyReply): FastifyReply {
    return sendErrorPage(reply, 403, 'error.formExpired');
  }

  /** The browser's session in `env`, from its cookie. */
  currentSession(request: Pick<FastifyRequest, 'headers'>, env: Environment): Promise<ActiveSession | undefined> {
    return this.sessions.current(env, readCookie(request.headers.cookie, SESSION_COOKIE));
  }

  /** The browser's session, or a new anonymous one (with its cookie) to carry the request through login. */
  async currentOrNewSession(request: Pick<FastifyRequest, 'headers'>, reply: FastifyReply, resolved: ResolvedEnvironment): Promise<ActiveSession> {
    const current = await this.currentSession(request, resolved.env);
    if (current) return current;
    const started = await this.sessions.start(resolved.env);
    this.setSessionCookie(reply, resolved, started);
    return started;
  }

  /** The cookie is scoped to the issuer's path, so each environment has its own session. */
  setSessionCookie(reply: FastifyReply, resolved: ResolvedEnvironment, active: ActiveSession): void {
    const path = new URL(resolved.urls.issuer).pathname;
    reply.header('set-cookie', sessionCookie(active.id, path, this.sessions.cookieMaxAge(active.session), this.deps.secureCookies));
  }

  /**
   * Sends the browser where the core said: the client's redirect_uri, an error page, or the next
   * page of the flow (303, so a form post becomes a GET). No step means the request is gone.
   */
  send(reply: FastifyReply, resolved: ResolvedEnvironment, step: AuthorizationStep | undefined): FastifyReply {
    if (!step) return this.expiredPage(reply);
    if (step.kind === 'redirect') return reply.status(303).header('location', step.location).send();
    if (step.kind === 'error_page') return sendErrorPage(reply, 400, 'error.badRequest', 'error.cannotCompleteTitle', step.message);
    return reply
      .status(303)
      .header('location', `${resolved.urls.issuer}/${step.kind}?request=${encodeURIComponent(step.requestId)}`)
      .send();
  }

  /**
   * Resumes the held request `requestId` of the browser's session; without both, or once the
   * request has expired or was completed, sends an error page and returns undefined.
   */
  async resume(
    request: Pick<FastifyRequest, 'headers'>,
    reply: FastifyReply,
    resolved: ResolvedEnvironment,
    requestId: string | undefined,
  ): Promise<ResumedRequest | undefined> {
    const active = await this.currentSession(request, resolved.env);
    const pending = active && (await this.flow.pending(resolved.env, active.session, requestId));
    if (!active || !pending || requestId === undefined) {
      await this.expiredPage(reply);
      return undefined;
    }
    return { resolved, active, pending, requestId };
  }

  /** The fields of a login or consent form, which must be sent form-encoded. */
  formParams(request: Pick<FastifyRequest, 'headers' | 'body'>): Params {
    const media = mediaTypeOf(request.headers['content-type']);
    if (media !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'the form must be sent as application/x-www-form-urlencoded');
    return parseBodyAs(media, request.body as Buffer | undefined);
  }

  private expiredPage(reply: FastifyReply): FastifyReply {
    return sendErrorPage(reply, 400, 'error.expired', 'error.expiredTitle');
  }
}
