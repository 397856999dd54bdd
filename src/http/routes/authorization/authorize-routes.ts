import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../../domain/clock.ts';
import { REQUEST_URI_PREFIX } from '../../../oauth/authorization/endpoint.ts';
import { ENDPOINTS, GATEHOUSE_ROUTES, ISSUER_ROUTE } from '../../../oauth/endpoints.ts';
import type { ResolvedEnvironment } from '../../../oauth/environments.ts';
import type { Surface } from '../../../surfaces/surface.ts';
import { parseQueryParams } from '../../params.ts';
import { type BrowserFlow, pendingFlowOf } from './browser-flow.ts';

/** The /authorize routes of every surface and what they need besides the shared flow. */
export interface AuthorizeRoutesOptions {
  clock: Clock;
  /** The authorization routes of every surface (the standard /envs/:env/authorize among them). */
  authorizeRoutes: readonly { surface: Surface; url: string }[];
}

const STANDARD_AUTHORIZE = `${ISSUER_ROUTE}${ENDPOINTS.authorization.path}`;

/**
 * /authorize of every surface. The standard route runs the flow; a surface whose path lies
 * outside the issuer's hands the request over to /envs/:env/authorize/:surface, which runs the
 * flow with that surface's rules.
 */
export function registerAuthorizeRoutes(app: FastifyInstance, browser: BrowserFlow, { clock, authorizeRoutes }: AuthorizeRoutesOptions): void {
  for (const { surface, url } of authorizeRoutes) {
    app.get<{ Params: Record<string, string> }>(url, async (request, reply) => {
      if (closed(reply, surface, clock)) return closedPage(browser, reply);
      const resolved = await browser.environment(surface.environmentName(request.params));
      if (url === STANDARD_AUTHORIZE) return authorize(browser, request, reply, surface, resolved);
      return handOver(reply, resolved, surface, request.url);
    });
  }
  // OpenID Connect Core §3.1.2.1: POST with the parameters form-serialized, on the standard route.
  const standard = authorizeRoutes.find((r) => r.url === STANDARD_AUTHORIZE);
  if (standard) {
    app.post<{ Params: Record<string, string>; Body: Buffer }>(GATEHOUSE_ROUTES.authorizeForm.path, async (request, reply) => {
      if (closed(reply, standard.surface, clock)) return closedPage(browser, reply);
      const resolved = await browser.environment(standard.surface.environmentName(request.params));
      if (!isFormRequest(request)) {
        return browser.errorPage(reply, 415, 'error.formEncoding');
      }
      return authorize(browser, request, reply, standard.surface, resolved, `?${request.body.toString('utf8')}`);
    });
  }
  const bySurface = new Map(authorizeRoutes.map((r) => [r.surface.name, r.surface]));
  app.get<{ Params: { env: string; surface: string } }>(GATEHOUSE_ROUTES.surfaceAuthorization.path, async (request, reply) => {
    const resolved = await browser.environment(request.params.env);
    const surface = bySurface.get(request.params.surface);
    if (!surface || surface.segmentFor(resolved.env.name) === undefined) return browser.errorPage(reply, 404, 'error.notFound', 'error.notFoundTitle');
    if (closed(reply, surface, clock)) return closedPage(browser, reply);
    return authorize(browser, request, reply, surface, resolved);
  });
}

/**
 * The flow for one /authorize request (working hours already checked): validate it (RFC 6749
 * §4.1.1), resume the browser's session or start one, hold the request for that session, and
 * send the browser to its next step: login, consent, or straight back with a code.
 */
async function authorize(
  browser: BrowserFlow,
  request: FastifyRequest,
  reply: FastifyReply,
  surface: Surface,
  resolved: ResolvedEnvironment,
  /** The parameters as a query string: the URL's for GET, the form body's for POST. */
  query = request.url,
) {
  const repeatable = surface.routes.find((route) => route.endpoint === 'authorization')?.repeatable ?? [];
  const parsed = parseQueryParams(query, repeatable);
  let { params, duplicates } = parsed;
  // An error page about this request speaks the language it asked for (OIDC Core §3.1.2.1).
  await browser.page(
    request,
    resolved,
    params.ui_locales?.split(' ').filter((tag) => tag !== ''),
  );
  if (parsed.hasNul) return browser.errorPage(reply, 400, 'error.badCharacters');
  // RFC 9126 §4: a request_uri of the pushed authorization request endpoint stands for a pushed
  // request, which replaces every other parameter. Any other request_uri (a request object by
  // reference, OpenID Connect Core §6.2) is refused by the OpenID checks.
  const pushed = params.request_uri?.startsWith(REQUEST_URI_PREFIX) === true;
  if (pushed) {
    const taken = await browser.flow.takePushed(resolved.env, params, duplicates);
    if (taken.kind === 'error_page') return browser.errorPage(reply, 400, 'error.badRequest', 'error.linkTitle', taken.message);
    params = taken.params;
    duplicates = [];
  }
  if (surface.settings.scope !== undefined) params.scope = surface.settings.scope;
  const checked = await browser.flow.validate(resolved.env, resolved.urls.issuer, params, duplicates, {
    pkceOptionalForConfidential: surface.profile.pkceOptionalForConfidential,
    pushed,
  });
  if (checked.kind === 'error_page') return browser.errorPage(reply, 400, 'error.badRequest', 'error.linkTitle', checked.message);
  if (checked.kind === 'redirect') return browser.send(reply, resolved, checked);
  const active = await browser.currentOrNewSession(request, reply, resolved);
  const { requestId, pending } = await browser.flow.hold(resolved.env, active.session, checked);
  return browser.send(reply, resolved, await browser.flow.next(pendingFlowOf({ resolved, active, requestId, pending })));
}

/**
 * The session cookie is scoped to the issuer's path, which a surface's own path (say
 * /oauth/authorize) is outside of: hand the request over to a path under the issuer, so a
 * signed-in browser keeps its session.
 */
function handOver(reply: FastifyReply, resolved: ResolvedEnvironment, surface: Surface, url: string): FastifyReply {
  const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  return reply.status(303).header('location', `${resolved.urls.authorization}/${surface.name}${query}`).send();
}

/** Whether a POST carries an HTML form body (RFC 6749 §3.1 and Core §3.1.2.1: form serialization). */
function isFormRequest(request: FastifyRequest<{ Body: Buffer }>): boolean {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  return type === 'application/x-www-form-urlencoded' && Buffer.isBuffer(request.body);
}

/** Outside the surface's working hours: true, with Retry-After set to when it opens. */
function closed(reply: FastifyReply, surface: Surface, clock: Clock): boolean {
  const wait = surface.closedFor(clock.now());
  if (wait === undefined) return false;
  reply.header('retry-after', String(wait));
  return true;
}

function closedPage(browser: BrowserFlow, reply: FastifyReply): FastifyReply {
  return browser.errorPage(reply, 503, 'error.closed', 'error.closedTitle');
}
