import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveSession, BrowserSessions } from '../../accounts/browser-sessions.ts';
import { GATEHOUSE_ROUTES } from '../../oauth/endpoints.ts';
import type { EnvironmentResolver, ResolvedEnvironment } from '../../oauth/environments.ts';
import { OAuthError } from '../../oauth/errors.ts';
import type { EndSessionEndpoint, EndSessionRequest } from '../../oauth/openid/logout.ts';
import { pageSecurityHeaders } from '../../pages/layout.ts';
import { renderLogoutConfirmPage, renderSignedOutPage } from '../../pages/logout-pages.ts';
import type { PageContext } from '../../pages/page-context.ts';
import { mediaTypeOf, type Params, parseBodyAs, parseQueryParams } from '../params.ts';
import { pageErrorHandler, sendErrorPage } from './authorization/error-pages.ts';
import { readCookie, SESSION_COOKIE, sessionCookie } from './authorization/session-cookie.ts';
import { brandStylesheetOfRequest, PageContexts } from './page-context.ts';

export interface LogoutRoutesOptions {
  environments: EnvironmentResolver;
  sessions: BrowserSessions;
  logout: EndSessionEndpoint;
  bodyLimit: number;
  /** Cookies get `Secure` when the public URL is https. */
  secureCookies: boolean;
  /** The language and brand of each page. */
  pages?: PageContexts;
}

/** The request's parameters as the end-session endpoint reads them, wherever they came from. */
interface LogoutParams {
  params: Params;
  duplicates: readonly string[];
  /** A POST of the confirmation page's form (it carries `confirm` and a CSRF token), not a client's request. */
  confirmation: boolean;
}

/**
 * The end-session endpoint (RP-Initiated Logout 1.0 §2), GET and POST, with its pages: the
 * confirmation page and the signed-out page. Every decision is `EndSessionEndpoint`'s; these
 * routes handle the cookie, the form and HTML.
 */
export async function logoutRoutes(app: FastifyInstance, options: LogoutRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));
  app.addHook('onSend', async (request, reply) => {
    reply.headers(pageSecurityHeaders(brandStylesheetOfRequest(request)));
  });
  app.setErrorHandler(pageErrorHandler(options.bodyLimit));

  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.endSession.path, async (request, reply) => {
    const { params, duplicates, hasNul } = parseQueryParams(request.url);
    if (hasNul) return sendErrorPage(reply, 400, 'error.badCharacters');
    return endSession(options, request, reply, { params, duplicates, confirmation: false });
  });
  app.post<{ Params: { env: string } }>(GATEHOUSE_ROUTES.endSessionForm.path, async (request, reply) => {
    // §2: a client may POST its request form-serialised; the confirmation page posts the same way.
    const media = mediaTypeOf(request.headers['content-type']);
    if (media !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'the form must be sent as application/x-www-form-urlencoded');
    const params = parseBodyAs(media, request.body as Buffer | undefined);
    return endSession(options, request, reply, { params, duplicates: [], confirmation: params.csrf_token !== undefined || params.confirm !== undefined });
  });
}

/**
 * One logout request. A valid one ends the browser's signed-in session at once only when its
 * `id_token_hint` names that session's user (§2), or when the user confirmed on the page with the
 * session's CSRF token; otherwise the confirmation page is shown, so a bare link (in an email, on
 * another site) never signs anyone out. Without a signed-in session there is nothing to end.
 */
async function endSession(
  o: LogoutRoutesOptions,
  request: FastifyRequest<{ Params: { env: string } }>,
  reply: FastifyReply,
  { params, duplicates, confirmation }: LogoutParams,
): Promise<FastifyReply> {
  const resolved = await o.environments.resolve(request.params.env);
  const { env } = resolved;
  const page = await (o.pages ?? new PageContexts()).of(
    request,
    env,
    resolved.urls.issuer,
    params.ui_locales?.split(' ').filter((tag) => tag !== ''),
  );
  const checked = await o.logout.validate(env, resolved.urls.issuer, params, duplicates);
  if (checked.kind === 'error_page') return sendErrorPage(reply, 400, 'error.badRequest', 'error.logoutCannotCompleteTitle', checked.message);
  const logout = checked.request;
  const current = await o.sessions.current(env, readCookie(request.headers.cookie, SESSION_COOKIE));
  const signedIn = current?.session.userId ? current : undefined;
  if (!signedIn) return signedOut(o, reply, page, resolved, logout);
  if (confirmation) {
    // RFC 6749 §10.12 style: the form must carry the token tied to this browser session.
    if (!o.sessions.csrfTokenMatches(signedIn, params.csrf_token)) return sendErrorPage(reply, 403, 'error.logoutFormExpired');
    await o.logout.end(env, signedIn.session, logout, 'confirmed');
    return signedOut(o, reply, page, resolved, logout, true);
  }
  if (o.logout.hintNamesUser(env, logout, signedIn.session)) {
    await o.logout.end(env, signedIn.session, logout, 'hint');
    return signedOut(o, reply, page, resolved, logout, true);
  }
  return confirmPage(o, reply, page, resolved, logout, signedIn);
}

/** After the session ended (or when there was none): back to the client's registered address with `state` (§3), or the signed-out page. */
function signedOut(
  o: LogoutRoutesOptions,
  reply: FastifyReply,
  page: PageContext,
  resolved: ResolvedEnvironment,
  logout: EndSessionRequest,
  clearCookie = false,
): FastifyReply {
  if (clearCookie) reply.header('set-cookie', sessionCookie('', new URL(resolved.urls.issuer).pathname, 0, o.secureCookies));
  const location = o.logout.returnAddress(logout);
  if (location !== undefined) return reply.status(303).header('location', location).send();
  return reply.status(200).send(renderSignedOutPage({ page, environmentName: resolved.env.name }));
}

async function confirmPage(
  o: LogoutRoutesOptions,
  reply: FastifyReply,
  page: PageContext,
  resolved: ResolvedEnvironment,
  logout: EndSessionRequest,
  active: ActiveSession,
): Promise<FastifyReply> {
  // The checked request travels through the form; the hint is not needed any more once its client is known.
  const fields: Record<string, string> = {};
  if (logout.client) fields.client_id = logout.client.clientId;
  if (logout.postLogoutRedirectUri !== undefined) fields.post_logout_redirect_uri = logout.postLogoutRedirectUri;
  if (logout.state !== undefined) fields.state = logout.state;
  return reply.status(200).send(
    renderLogoutConfirmPage({
      page,
      environmentName: resolved.env.name,
      action: `${resolved.urls.issuer}/logout`,
      csrfToken: o.sessions.csrfToken(active),
      fields,
      clientName: logout.client?.name,
      username: await o.logout.username(resolved.env, active.session),
    }),
  );
}
