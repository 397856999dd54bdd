import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SignInFactors } from '../../../accounts/sign-in-factors.ts';
import type { LoginOutcome, UserAuthenticator } from '../../../accounts/users.ts';
import { GATEHOUSE_ROUTES } from '../../../oauth/endpoints.ts';
import { type PageMessage, renderLoginPage } from '../../../pages/authorization-pages.ts';
import type { PageContext } from '../../../pages/page-context.ts';
import { passkeyFragment } from '../../../pages/passkey-pages.ts';
import { parseQueryParams } from '../../params.ts';
import { type BrowserFlow, pendingFlowOf, type ResumedRequest } from './browser-flow.ts';

type EnvRequest = FastifyRequest<{ Params: { env: string } }>;

/** What the login page shows besides the form itself. */
interface LoginPageState {
  status?: number;
  username?: string;
  error?: PageMessage;
}

/** The login page of each environment: shown for a held request, and the form it posts. */
export function registerLoginRoutes(app: FastifyInstance, browser: BrowserFlow, users: UserAuthenticator, factors?: SignInFactors): void {
  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.loginPage.path, async (request, reply) => {
    const resolved = await browser.environment(request.params.env);
    const found = await browser.resume(request, reply, resolved, parseQueryParams(request.url).params.request);
    if (!found) return reply;
    return showLogin(browser, request, reply, found, {}, factors);
  });
  app.post<{ Params: { env: string } }>(GATEHOUSE_ROUTES.login.path, (request, reply) => submitLogin(browser, users, request, reply, factors));
}

/**
 * Authenticates the resource owner (RFC 6749 §4.1.1) from the login form: the form must carry
 * the session's CSRF token (RFC 6749 §10.12), then the username and password are checked.
 */
async function submitLogin(
  browser: BrowserFlow,
  users: UserAuthenticator,
  request: EnvRequest,
  reply: FastifyReply,
  factors?: SignInFactors,
): Promise<FastifyReply> {
  const resolved = await browser.environment(request.params.env);
  const form = browser.formParams(request);
  const found = await browser.resume(request, reply, resolved, form.request);
  if (!found) return reply;
  if (!browser.sessions.csrfTokenMatches(found.active, form.csrf_token)) return browser.formExpiredPage(reply);
  const username = form.username ?? '';
  const password = form.password ?? '';
  if (username === '' || password === '')
    return showLogin(browser, request, reply, found, { status: 400, username, error: { key: 'login.errorMissing' } }, factors);
  const outcome = await users.authenticate(resolved.env, username, password, request.ip);
  if (!outcome.ok) return refuseLogin(browser, request, reply, found, username, outcome, factors);
  return signIn(browser, reply, found, outcome.user.userId);
}

/**
 * Signs the user in and moves the request on. The session id changes at login (session
 * fixation), and the held request moves with it to the new session.
 */
async function signIn(browser: BrowserFlow, reply: FastifyReply, found: ResumedRequest, userId: string): Promise<FastifyReply> {
  const signedIn = await browser.sessions.signIn(found.resolved.env, found.active, userId);
  browser.setSessionCookie(reply, found.resolved, signedIn);
  return browser.send(reply, found.resolved, await browser.flow.next(pendingFlowOf({ ...found, active: signedIn })));
}

/**
 * The login form again, saying why: too many attempts (429) or a busy server (503), both with
 * Retry-After, else 401 with one message whether the user is unknown or the password wrong.
 */
function refuseLogin(
  browser: BrowserFlow,
  request: FastifyRequest,
  reply: FastifyReply,
  found: ResumedRequest,
  username: string,
  outcome: Exclude<LoginOutcome, { ok: true }>,
  factors?: SignInFactors,
): Promise<FastifyReply> {
  if (outcome.throttled) {
    reply.header('retry-after', String(outcome.retryAfter));
    const minutes = Math.ceil(outcome.retryAfter / 60);
    const error: PageMessage = minutes === 1 ? { key: 'login.errorThrottledOne' } : { key: 'login.errorThrottled', params: { minutes } };
    return showLogin(browser, request, reply, found, { status: 429, username, error }, factors);
  }
  if (outcome.busy) {
    reply.header('retry-after', String(outcome.retryAfter));
    return showLogin(browser, request, reply, found, { status: 503, username, error: { key: 'login.errorBusy' } }, factors);
  }
  return showLogin(browser, request, reply, found, { status: 401, username, error: { key: 'login.errorInvalid' } }, factors);
}

/** The login page for a held request, naming the client that asks. */
async function showLogin(
  browser: BrowserFlow,
  request: FastifyRequest,
  reply: FastifyReply,
  found: ResumedRequest,
  state: LoginPageState = {},
  factors?: SignInFactors,
): Promise<FastifyReply> {
  const { resolved, active, requestId, pending } = found;
  const page = await browser.page(request, resolved, pending.oidc?.uiLocales);
  const client = await browser.flow.clientOf(resolved.env, pending);
  if (!client) return browser.errorPage(reply, 400, 'error.clientGone');
  // OpenID Connect Core §3.1.2.1 `login_hint` pre-fills the field until the user typed a name.
  const username = state.username ?? pending.oidc?.loginHint ?? undefined;
  const passkey = factors && (await passkeySignIn(browser, factors, found, page));
  return reply.status(state.status ?? 200).send(
    renderLoginPage({
      page,
      environmentName: resolved.env.name,
      clientName: client.name,
      action: `${resolved.urls.issuer}/login`,
      csrfToken: browser.sessions.csrfToken(active),
      requestId,
      ...(username === undefined ? {} : { username }),
      ...(state.error === undefined ? {} : { error: state.error }),
      ...(passkey ? { passkey } : {}),
    }),
  );
}

/** The login page's passkey button and autofill (WebAuthn L3 conditional mediation): a discoverable passkey signs in alone. */
async function passkeySignIn(
  browser: BrowserFlow,
  factors: SignInFactors,
  { resolved, active, requestId }: ResumedRequest,
  page: PageContext,
): Promise<string> {
  const ceremony = await factors.passkeys.authentication(resolved.env, active.session.idHash, null);
  return passkeyFragment({
    options: { ...ceremony, conditional: true },
    action: `${resolved.urls.issuer}/passkey`,
    csrfToken: browser.sessions.csrfToken(active),
    requestId,
    purpose: 'sign_in',
    label: 'passkey.signIn',
    page,
  });
}
