import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationStep } from '../../../oauth/authorization/endpoint.ts';
import { GATEHOUSE_ROUTES } from '../../../oauth/endpoints.ts';
import type { ResolvedEnvironment } from '../../../oauth/environments.ts';
import { renderConsentPage } from '../../../pages/authorization-pages.ts';
import { parseQueryParams } from '../../params.ts';
import { type BrowserFlow, pendingFlowOf, type ResumedRequest } from './browser-flow.ts';

type EnvRequest = FastifyRequest<{ Params: { env: string } }>;

/** The consent page of each environment: shown for a held request of a signed-in user, and the decision it posts. */
export function registerConsentRoutes(app: FastifyInstance, browser: BrowserFlow): void {
  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.consentPage.path, (request, reply) => showConsent(browser, request, reply));
  app.post<{ Params: { env: string } }>(GATEHOUSE_ROUTES.consent.path, (request, reply) => submitConsent(browser, request, reply));
}

/**
 * Asks the resource owner for a decision (RFC 6749 §4.1.1): which client, which scopes, and the
 * origin the answer will be sent to.
 */
async function showConsent(browser: BrowserFlow, request: EnvRequest, reply: FastifyReply): Promise<FastifyReply> {
  const resolved = await browser.environment(request.params.env);
  const found = await resumeSignedIn(browser, request, reply, resolved, parseQueryParams(request.url).params.request);
  if (!found) return reply;
  const { active, pending, requestId, userId } = found;
  // RFC 8628 §3.3: a device request is decided on the device page.
  if (pending.deviceCodeHash !== undefined) return browser.send(reply, resolved, { kind: 'device', requestId });
  const page = await browser.page(request, resolved, pending.oidc?.uiLocales);
  const client = await browser.flow.clientOf(resolved.env, pending);
  const user = await browser.flow.userOf(resolved.env, userId);
  if (!client || !user) return browser.errorPage(reply, 400, 'error.accountGone');
  return reply.send(
    renderConsentPage({
      page,
      environmentName: resolved.env.name,
      clientName: client.name,
      // Client ID Metadata Documents: the host that vouches for the client, shown prominently.
      ...(client.metadataDocument ? { clientHost: client.metadataDocument.host } : {}),
      action: `${resolved.urls.issuer}/consent`,
      csrfToken: browser.sessions.csrfToken(active),
      requestId,
      scopes: pending.scope,
      scopeDescriptions: await browser.flow.scopeDescriptions(resolved.env, pending),
      username: user.username,
      redirectOrigin: originOf(pending.redirectUri),
    }),
  );
}

/**
 * The resource owner's decision, from a form carrying the session's CSRF token (RFC 6749
 * §10.12): Allow issues the code (RFC 6749 §4.1.2), Deny answers `access_denied` (§4.1.2.1).
 */
async function submitConsent(browser: BrowserFlow, request: EnvRequest, reply: FastifyReply): Promise<FastifyReply> {
  const resolved = await browser.environment(request.params.env);
  const form = browser.formParams(request);
  const found = await resumeSignedIn(browser, request, reply, resolved, form.request);
  if (!found) return reply;
  if (!browser.sessions.csrfTokenMatches(found.active, form.csrf_token)) return browser.formExpiredPage(reply);
  const flow = pendingFlowOf(found);
  let step: AuthorizationStep | undefined;
  if (form.decision === 'allow') step = await browser.flow.approve(flow);
  else if (form.decision === 'deny') step = await browser.flow.deny(flow);
  else return browser.errorPage(reply, 400, 'error.chooseDecision');
  return browser.send(reply, resolved, step);
}

/**
 * The held request and its signed-in user. Without a user the browser goes to the login page
 * first; either way, undefined means a response was already sent.
 */
async function resumeSignedIn(
  browser: BrowserFlow,
  request: EnvRequest,
  reply: FastifyReply,
  resolved: ResolvedEnvironment,
  requestId: string | undefined,
): Promise<(ResumedRequest & { userId: string }) | undefined> {
  const found = await browser.resume(request, reply, resolved, requestId);
  if (!found) return undefined;
  const userId = found.active.session.userId;
  if (userId === null) {
    await browser.send(reply, resolved, { kind: 'login', requestId: found.requestId });
    return undefined;
  }
  return { ...found, userId };
}

/** The origin the consent page names as where the user will be sent; a URI without one shows its scheme. */
function originOf(uri: string): string {
  try {
    const url = new URL(uri);
    return url.origin === 'null' ? `${url.protocol}//` : url.origin;
  } catch {
    return uri;
  }
}
