import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatUserCode, normalizeUserCode } from '../../../oauth/device/user-code.ts';
import type { DeviceVerification } from '../../../oauth/device/verification.ts';
import { GATEHOUSE_ROUTES } from '../../../oauth/endpoints.ts';
import type { ResolvedEnvironment } from '../../../oauth/environments.ts';
import type { PageMessage } from '../../../pages/authorization-pages.ts';
import { renderDeviceDecisionPage, renderDeviceDonePage, renderDeviceEntryPage } from '../../../pages/device-pages.ts';
import { parseQueryParams } from '../../params.ts';
import { type BrowserFlow, pendingFlowOf } from './browser-flow.ts';
import { readCookie } from './session-cookie.ts';

type EnvRequest = FastifyRequest<{ Params: { env: string } }>;

/**
 * The code this browser entered, so the decision page can show it after the login page: kept in
 * the browser only (storage holds nothing but the code's keyed hash), for as long as a held request.
 */
const DEVICE_CODE_COOKIE = 'gatehouse_device_code';
const DEVICE_CODE_COOKIE_MAX_AGE = 15 * 60;
/** A pre-filled value longer than any way of writing a user code is not echoed. */
const MAX_PREFILL = 32;

/**
 * RFC 8628 §3.3 verification page of each environment (`verification_uri`): the user enters or
 * confirms the code (`verification_uri_complete` pre-fills it), signs in on the login page, then
 * approves or denies on the decision page. Wrong codes are throttled per browser session and per
 * source address before they are looked at (see `UserCodeThrottle`).
 */
export function registerDeviceRoutes(app: FastifyInstance, browser: BrowserFlow, device: DeviceVerification, secureCookies: boolean): void {
  const routes = new DeviceRoutes(browser, device, secureCookies);
  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.devicePage.path, (request, reply) => routes.show(request, reply));
  app.post<{ Params: { env: string } }>(GATEHOUSE_ROUTES.device.path, (request, reply) => routes.submit(request, reply));
}

class DeviceRoutes {
  constructor(
    private readonly browser: BrowserFlow,
    private readonly device: DeviceVerification,
    private readonly secureCookies: boolean,
  ) {}

  /** GET: the decision page of a held request (`?request=`), else the code entry page. */
  async show(request: EnvRequest, reply: FastifyReply): Promise<FastifyReply> {
    const resolved = await this.browser.environment(request.params.env);
    const query = parseQueryParams(request.url).params;
    if (query.request !== undefined) return this.showDecision(request, reply, resolved, query.request);
    const active = await this.browser.currentOrNewSession(request, reply, resolved);
    const typed = query.user_code;
    const normalized = typed === undefined ? undefined : normalizeUserCode(typed);
    const prefill = normalized === undefined ? typed?.slice(0, MAX_PREFILL) : formatUserCode(normalized);
    return this.entryPage(request, reply, resolved, this.browser.sessions.csrfToken(active), prefill);
  }

  /** POST: a decision (the form names its held request) or a code. */
  async submit(request: EnvRequest, reply: FastifyReply): Promise<FastifyReply> {
    const resolved = await this.browser.environment(request.params.env);
    const form = this.browser.formParams(request);
    if (form.request !== undefined) return this.decide(request, reply, resolved, form);
    const active = await this.browser.currentSession(request, resolved.env);
    if (!active || !this.browser.sessions.csrfTokenMatches(active, form.csrf_token)) return this.browser.formExpiredPage(reply);
    const typed = form.user_code ?? '';
    const csrf = this.browser.sessions.csrfToken(active);
    const check = await this.device.check(resolved.env, active.session, request.ip, typed);
    if (check.kind === 'throttled') {
      reply.header('retry-after', String(check.retryAfter));
      const minutes = Math.ceil(check.retryAfter / 60);
      const error: PageMessage = minutes === 1 ? { key: 'device.errorThrottledOne' } : { key: 'device.errorThrottled', params: { minutes } };
      return this.entryPage(request, reply.status(429), resolved, csrf, typed.slice(0, MAX_PREFILL), error);
    }
    if (check.kind === 'wrong') return this.entryPage(request, reply.status(400), resolved, csrf, typed.slice(0, MAX_PREFILL), { key: 'device.errorUnknown' });
    this.setCodeCookie(reply, resolved, formatUserCode(normalizeUserCode(typed) as string));
    const step = await this.browser.flow.next(pendingFlowOf({ resolved, active, requestId: check.requestId, pending: check.pending }));
    return this.browser.send(reply, resolved, step);
  }

  private async entryPage(
    request: EnvRequest,
    reply: FastifyReply,
    resolved: ResolvedEnvironment,
    csrfToken: string,
    userCode?: string,
    error?: PageMessage,
  ): Promise<FastifyReply> {
    const page = await this.browser.page(request, resolved);
    return reply.send(
      renderDeviceEntryPage({
        page,
        environmentName: resolved.env.name,
        action: `${resolved.urls.issuer}/device`,
        csrfToken,
        ...(userCode === undefined ? {} : { userCode }),
        ...(error === undefined ? {} : { error }),
      }),
    );
  }

  /** The client, scopes, APIs and code of a held device request, for its signed-in user to decide. */
  private async showDecision(request: EnvRequest, reply: FastifyReply, resolved: ResolvedEnvironment, requestId: string): Promise<FastifyReply> {
    const found = await this.browser.resume(request, reply, resolved, requestId);
    if (!found) return reply;
    const { active, pending } = found;
    const page = await this.browser.page(request, resolved, pending.oidc?.uiLocales);
    const userId = active.session.userId;
    if (userId === null) return this.browser.send(reply, resolved, { kind: 'login', requestId });
    const authorization = await this.device.authorizationOf(resolved.env, pending);
    if (!authorization) return this.browser.errorPage(reply, 400, 'device.expired', 'device.expiredTitle');
    const client = await this.browser.flow.clientOf(resolved.env, pending);
    const user = await this.browser.flow.userOf(resolved.env, userId);
    if (!client || !user) return this.browser.errorPage(reply, 400, 'error.accountGone');
    const typed = readCookie(request.headers.cookie, DEVICE_CODE_COOKIE);
    const userCode = typed !== undefined && this.device.codeMatches(authorization, typed) ? typed : undefined;
    return reply.send(
      renderDeviceDecisionPage({
        page,
        environmentName: resolved.env.name,
        clientName: client.name,
        action: `${resolved.urls.issuer}/device`,
        csrfToken: this.browser.sessions.csrfToken(active),
        requestId,
        ...(userCode === undefined ? {} : { userCode }),
        scopes: pending.scope,
        scopeDescriptions: await this.browser.flow.scopeDescriptions(resolved.env, pending),
        apis: pending.resources ?? [],
        username: user.username,
      }),
    );
  }

  /** The user's decision, from a form carrying the session's CSRF token (RFC 6749 §10.12). */
  private async decide(request: EnvRequest, reply: FastifyReply, resolved: ResolvedEnvironment, form: Record<string, string>): Promise<FastifyReply> {
    const found = await this.browser.resume(request, reply, resolved, form.request);
    if (!found) return reply;
    const page = await this.browser.page(request, resolved, found.pending.oidc?.uiLocales);
    if (!this.browser.sessions.csrfTokenMatches(found.active, form.csrf_token)) return this.browser.formExpiredPage(reply);
    if (found.active.session.userId === null) return this.browser.send(reply, resolved, { kind: 'login', requestId: found.requestId });
    if (found.pending.deviceCodeHash === undefined) return this.browser.send(reply, resolved, await this.browser.flow.next(pendingFlowOf(found)));
    if (form.decision !== 'allow' && form.decision !== 'deny') return this.browser.errorPage(reply, 400, 'error.chooseDecision');
    const outcome = await this.device.decide(pendingFlowOf(found), form.decision === 'allow');
    this.setCodeCookie(reply, resolved, '', 0);
    if (outcome === 'gone') return this.browser.errorPage(reply, 400, 'device.expired', 'device.expiredTitle');
    return reply.send(renderDeviceDonePage({ page, environmentName: resolved.env.name, approved: outcome === 'approved' }));
  }

  private setCodeCookie(reply: FastifyReply, resolved: ResolvedEnvironment, value: string, maxAge = DEVICE_CODE_COOKIE_MAX_AGE): void {
    const attributes = [`Path=${new URL(resolved.urls.issuer).pathname}`, `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax'];
    if (this.secureCookies) attributes.push('Secure');
    reply.header('set-cookie', `${DEVICE_CODE_COOKIE}=${value}; ${attributes.join('; ')}`);
  }
}
