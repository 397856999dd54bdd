import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveSession, BrowserSessions } from '../../accounts/browser-sessions.ts';
import type { UserAuthenticator } from '../../accounts/users.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Environment, PendingAuthorization } from '../../domain/model.ts';
import type { AuthorizationStep } from '../../oauth/authorization.ts';
import type { OAuthCore } from '../../oauth/core.ts';
import type { EnvironmentResolver, ResolvedEnvironment } from '../../oauth/environments.ts';
import { OAuthError } from '../../oauth/errors.ts';
import { renderConsentPage, renderErrorPage, renderLoginPage } from '../../pages/authorization-pages.ts';
import { pageSecurityHeaders } from '../../pages/layout.ts';
import type { Surface } from '../../surfaces/surface.ts';
import { toOAuthError } from '../error-mapping.ts';
import { mediaTypeOf, parseBodyAs, parseQueryParams } from '../params.ts';

export interface AuthorizationRoutesOptions {
  core: OAuthCore;
  environments: EnvironmentResolver;
  sessions: BrowserSessions;
  users: UserAuthenticator;
  bodyLimit: number;
  /** Cookies get `Secure` when the public URL is https. */
  secureCookies: boolean;
  clock: Clock;
  /** The authorization routes of every surface (the standard /envs/:env/authorize among them). */
  authorizeRoutes: readonly { surface: Surface; url: string }[];
}

interface EnvParams {
  env: string;
}

type Request = FastifyRequest<{ Params: EnvParams }>;

export const SESSION_COOKIE = 'gatehouse_session';

const STANDARD_AUTHORIZE = '/envs/:env/authorize';

const EXPIRED_REQUEST = 'This sign-in request has expired or was already completed. Go back to the application and start again.';

/**
 * The browser-facing side of the authorization code flow: /authorize, the login page and the
 * consent page of each environment. Every decision is the OAuth core's; this adapter handles
 * cookies, forms and HTML.
 */
export async function authorizationRoutes(app: FastifyInstance, options: AuthorizationRoutesOptions): Promise<void> {
  const { core, environments, sessions, users, bodyLimit, secureCookies, clock } = options;
  const flow = core.authorization;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  app.addHook('onSend', async (_request, reply) => {
    reply.headers(pageSecurityHeaders());
  });

  const errorPage = (reply: FastifyReply, status: number, message: string, title = 'Something went wrong') =>
    reply.status(status).send(renderErrorPage({ title, message }));

  app.setErrorHandler(async (thrown, request, reply) => {
    const { error, unexpected } = toOAuthError(thrown, bodyLimit);
    if (!unexpected) {
      if (error.code === 'temporarily_unavailable') {
        request.log.warn({ reason: (thrown as Error).message }, error.description);
        if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
        return errorPage(reply, 503, 'The service is temporarily unavailable. Try again in a few seconds.', 'Temporarily unavailable');
      }
      if (error.code === 'not_found') return errorPage(reply, 404, 'There is nothing at this address.', 'Not found');
      if (error.status === 413) return errorPage(reply, 413, 'The form was too large.');
      return errorPage(reply, error.status >= 400 && error.status < 500 ? error.status : 400, `The request could not be understood: ${error.description}`);
    }
    const errorId = randomUUID();
    request.log.error({ err: thrown, errorId }, 'unexpected error');
    return errorPage(reply, 500, `The server could not complete the request. Reference: ${errorId}`);
  });

  const cookiePath = (resolved: ResolvedEnvironment) => new URL(resolved.urls.issuer).pathname;
  const setSessionCookie = (reply: FastifyReply, resolved: ResolvedEnvironment, active: ActiveSession) => {
    const attributes = [`Path=${cookiePath(resolved)}`, `Max-Age=${sessions.cookieMaxAge(active.session)}`, 'HttpOnly', 'SameSite=Lax'];
    if (secureCookies) attributes.push('Secure');
    reply.header('set-cookie', `${SESSION_COOKIE}=${active.id}; ${attributes.join('; ')}`);
  };
  const currentSession = (request: Pick<FastifyRequest, 'headers'>, env: Environment) =>
    sessions.current(env, readCookie(request.headers.cookie, SESSION_COOKIE));

  const go = (reply: FastifyReply, resolved: ResolvedEnvironment, step: AuthorizationStep) => {
    if (step.kind === 'redirect') return reply.status(303).header('location', step.location).send();
    if (step.kind === 'error_page') return errorPage(reply, 400, step.message, 'This request cannot be completed');
    return reply
      .status(303)
      .header('location', `${resolved.urls.issuer}/${step.kind}?request=${encodeURIComponent(step.requestId)}`)
      .send();
  };

  const formParams = (request: Request) => {
    const media = mediaTypeOf(request.headers['content-type']);
    if (media !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'the form must be sent as application/x-www-form-urlencoded');
    return parseBodyAs(media, request.body as Buffer | undefined);
  };

  /** The session and its pending request named by `requestId`, or an error page already sent. */
  const pendingOf = async (request: Request, reply: FastifyReply, resolved: ResolvedEnvironment, requestId: string | undefined) => {
    const active = await currentSession(request, resolved.env);
    const pending = active && (await flow.pending(resolved.env, active.session, requestId));
    if (!active || !pending || requestId === undefined) {
      await errorPage(reply, 400, EXPIRED_REQUEST, 'Sign-in expired');
      return undefined;
    }
    return { active, pending, requestId };
  };

  /** The authorization flow of `surface` for one request (working hours already checked). */
  const authorize = async (request: FastifyRequest, reply: FastifyReply, surface: Surface, resolved: ResolvedEnvironment) => {
    const { params, duplicates, hasNul } = parseQueryParams(request.url);
    if (hasNul) return errorPage(reply, 400, 'The request contains characters that are not allowed.');
    if (surface.settings.scope !== undefined) params.scope = surface.settings.scope;
    const checked = await flow.validate(resolved.env, resolved.urls.issuer, params, duplicates, {
      pkceOptionalForConfidential: surface.profile.pkceOptionalForConfidential,
    });
    if (checked.kind === 'error_page') return errorPage(reply, 400, checked.message, 'This link cannot be used');
    if (checked.kind === 'redirect') return go(reply, resolved, checked);
    let active = await currentSession(request, resolved.env);
    if (!active) {
      active = await sessions.start(resolved.env);
      setSessionCookie(reply, resolved, active);
    }
    const { requestId, pending } = await flow.hold(resolved.env, active.session, checked);
    const step = await flow.next(resolved.env, resolved.urls.issuer, active.session, requestId, pending);
    if (!step) return errorPage(reply, 400, EXPIRED_REQUEST, 'Sign-in expired');
    return go(reply, resolved, step);
  };

  const closed = (reply: FastifyReply, surface: Surface) => {
    const wait = surface.closedFor(clock.now());
    if (wait === undefined) return false;
    reply.header('retry-after', String(wait));
    return true;
  };
  const closedPage = (reply: FastifyReply) => errorPage(reply, 503, 'Sign-in is not available outside working hours. Try again later.', 'Closed');

  const bySurface = new Map(options.authorizeRoutes.map((r) => [r.surface.name, r.surface]));
  for (const { surface, url } of options.authorizeRoutes) {
    app.get<{ Params: Record<string, string> }>(url, async (request, reply) => {
      if (closed(reply, surface)) return closedPage(reply);
      const resolved = await environments.resolve(surface.environmentName(request.params));
      if (url === STANDARD_AUTHORIZE) return authorize(request, reply, surface, resolved);
      // The session cookie is scoped to the issuer's path, which a surface's own path (say
      // /oauth/authorize) is outside of: hand the request over to a path under the issuer, so a
      // signed-in browser keeps its session.
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      return reply.status(303).header('location', `${resolved.urls.issuer}/authorize/${surface.name}${query}`).send();
    });
  }
  app.get<{ Params: { env: string; surface: string } }>('/envs/:env/authorize/:surface', async (request, reply) => {
    const resolved = await environments.resolve(request.params.env);
    const surface = bySurface.get(request.params.surface);
    if (!surface || surface.segmentFor(resolved.env.name) === undefined) return errorPage(reply, 404, 'There is nothing at this address.', 'Not found');
    if (closed(reply, surface)) return closedPage(reply);
    return authorize(request, reply, surface, resolved);
  });

  const showLogin = async (
    reply: FastifyReply,
    resolved: ResolvedEnvironment,
    active: ActiveSession,
    requestId: string,
    pending: PendingAuthorization,
    extra: { status?: number; username?: string; error?: string } = {},
  ) => {
    const client = await flow.clientOf(resolved.env, pending);
    if (!client) return errorPage(reply, 400, 'The application that sent you here is no longer available.');
    return reply.status(extra.status ?? 200).send(
      renderLoginPage({
        environmentName: resolved.env.name,
        clientName: client.name,
        action: `${resolved.urls.issuer}/login`,
        csrfToken: sessions.csrfToken(active),
        requestId,
        ...(extra.username === undefined ? {} : { username: extra.username }),
        ...(extra.error === undefined ? {} : { error: extra.error }),
      }),
    );
  };

  app.get<{ Params: EnvParams; Querystring: { request?: string } }>('/envs/:env/login', async (request, reply) => {
    const resolved = await environments.resolve(request.params.env);
    const found = await pendingOf(request, reply, resolved, parseQueryParams(request.url).params.request);
    if (!found) return reply;
    return showLogin(reply, resolved, found.active, found.requestId, found.pending);
  });

  app.post<{ Params: EnvParams }>('/envs/:env/login', async (request, reply) => {
    const resolved = await environments.resolve(request.params.env);
    const form = formParams(request);
    const found = await pendingOf(request, reply, resolved, form.request);
    if (!found) return reply;
    const { active, pending, requestId } = found;
    if (!sessions.csrfTokenMatches(active, form.csrf_token)) return errorPage(reply, 403, 'The form expired. Go back to the application and start again.');
    const username = form.username ?? '';
    const password = form.password ?? '';
    if (username === '' || password === '') {
      return showLogin(reply, resolved, active, requestId, pending, { status: 400, username, error: 'Enter your username and password.' });
    }
    const outcome = await users.authenticate(resolved.env, username, password, request.ip);
    if (!outcome.ok && outcome.throttled) {
      reply.header('retry-after', String(outcome.retryAfter));
      const minutes = Math.ceil(outcome.retryAfter / 60);
      return showLogin(reply, resolved, active, requestId, pending, {
        status: 429,
        username,
        error: `Too many sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      });
    }
    if (!outcome.ok && outcome.busy) {
      reply.header('retry-after', String(outcome.retryAfter));
      return showLogin(reply, resolved, active, requestId, pending, { status: 503, username, error: 'The server is busy. Try again in a few seconds.' });
    }
    if (!outcome.ok) return showLogin(reply, resolved, active, requestId, pending, { status: 401, username, error: 'Incorrect username or password.' });
    const signedIn = await sessions.signIn(resolved.env, active, outcome.user.userId);
    setSessionCookie(reply, resolved, signedIn);
    const step = await flow.next(resolved.env, resolved.urls.issuer, signedIn.session, requestId, pending);
    if (!step) return errorPage(reply, 400, EXPIRED_REQUEST, 'Sign-in expired');
    return go(reply, resolved, step);
  });

  const consentContext = async (request: Request, reply: FastifyReply, resolved: ResolvedEnvironment, requestId: string | undefined) => {
    const found = await pendingOf(request, reply, resolved, requestId);
    if (!found) return undefined;
    const userId = found.active.session.userId;
    if (userId === null) {
      await go(reply, resolved, { kind: 'login', requestId: found.requestId });
      return undefined;
    }
    return { ...found, userId };
  };

  app.get<{ Params: EnvParams }>('/envs/:env/consent', async (request, reply) => {
    const resolved = await environments.resolve(request.params.env);
    const found = await consentContext(request, reply, resolved, parseQueryParams(request.url).params.request);
    if (!found) return reply;
    const { active, pending, requestId, userId } = found;
    const client = await flow.clientOf(resolved.env, pending);
    const user = await flow.userOf(resolved.env, userId);
    if (!client || !user) return errorPage(reply, 400, 'The application or your account is no longer available.');
    return reply.send(
      renderConsentPage({
        environmentName: resolved.env.name,
        clientName: client.name,
        action: `${resolved.urls.issuer}/consent`,
        csrfToken: sessions.csrfToken(active),
        requestId,
        scopes: pending.scope,
        username: user.username,
        redirectOrigin: originOf(pending.redirectUri),
      }),
    );
  });

  app.post<{ Params: EnvParams }>('/envs/:env/consent', async (request, reply) => {
    const resolved = await environments.resolve(request.params.env);
    const form = formParams(request);
    const found = await consentContext(request, reply, resolved, form.request);
    if (!found) return reply;
    const { active, pending, requestId } = found;
    if (!sessions.csrfTokenMatches(active, form.csrf_token)) return errorPage(reply, 403, 'The form expired. Go back to the application and start again.');
    const { env, urls } = resolved;
    let step: AuthorizationStep | undefined;
    if (form.decision === 'allow') step = await flow.approve(env, urls.issuer, active.session, requestId, pending);
    else if (form.decision === 'deny') step = await flow.deny(env, urls.issuer, active.session, requestId, pending);
    else return errorPage(reply, 400, 'Choose Allow or Deny.');
    if (!step) return errorPage(reply, 400, EXPIRED_REQUEST, 'Sign-in expired');
    return go(reply, resolved, step);
  });
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

const originOf = (uri: string): string => {
  try {
    const url = new URL(uri);
    return url.origin === 'null' ? `${url.protocol}//` : url.origin;
  } catch {
    return uri;
  }
};
