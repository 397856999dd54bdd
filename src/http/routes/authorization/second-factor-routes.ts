import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SignInFactors } from '../../../accounts/sign-in-factors.ts';
import { hasSecondFactor } from '../../../oauth/authorization/second-factor-gate.ts';
import { GATEHOUSE_ROUTES } from '../../../oauth/endpoints.ts';
import { AMR, withSecondFactor } from '../../../oauth/openid/acr.ts';
import type { PageMessage } from '../../../pages/authorization-pages.ts';
import { renderRecoveryCodesPage, renderSecondFactorPage, renderTotpEnrolmentPage } from '../../../pages/mfa-pages.ts';
import type { PageContext } from '../../../pages/page-context.ts';
import { passkeyFragment } from '../../../pages/passkey-pages.ts';
import { parseQueryParams } from '../../params.ts';
import { type BrowserFlow, pendingFlowOf, type ResumedRequest } from './browser-flow.ts';

type EnvRequest = FastifyRequest<{ Params: { env: string } }>;

/** A resumed request whose session signed in with a first factor. */
type SignedIn = ResumedRequest & { userId: string };

/** The second-factor page: a code for an enrolled user, else TOTP enrolment; then the request moves on. */
export function registerSecondFactorRoutes(app: FastifyInstance, browser: BrowserFlow, factors: SignInFactors): void {
  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.mfaPage.path, async (request, reply) => {
    const found = await resumeFirstFactor(browser, request, reply, parseQueryParams(request.url).params.request);
    if (!found) return reply;
    return showSecondFactor(browser, factors, request, reply, found);
  });
  app.post<{ Params: { env: string } }>(GATEHOUSE_ROUTES.mfa.path, (request, reply) => submitSecondFactor(browser, factors, request, reply));
}

/**
 * The held request of a session signed in with one factor. A session without a user, or one that
 * already has two factors, is moved on by the flow (to the login page, or on to consent).
 */
async function resumeFirstFactor(browser: BrowserFlow, request: EnvRequest, reply: FastifyReply, requestId: string | undefined): Promise<SignedIn | undefined> {
  const resolved = await browser.environment(request.params.env);
  const found = await browser.resume(request, reply, resolved, requestId);
  if (!found) return undefined;
  const userId = found.active.session.userId;
  if (userId === null || found.active.session.amr?.includes(AMR.multiFactor)) {
    browser.send(reply, resolved, await browser.flow.next(pendingFlowOf(found)));
    return undefined;
  }
  return { ...found, userId };
}

async function showSecondFactor(
  browser: BrowserFlow,
  factors: SignInFactors,
  request: FastifyRequest,
  reply: FastifyReply,
  found: SignedIn,
  error?: { status: number; message: PageMessage },
): Promise<FastifyReply> {
  const { resolved, active, requestId, pending, userId } = found;
  const common = {
    environmentName: resolved.env.name,
    action: `${resolved.urls.issuer}/mfa`,
    csrfToken: browser.sessions.csrfToken(active),
    requestId,
    page: await browser.page(request, resolved, pending.oidc?.uiLocales),
    ...(error ? { error: error.message } : {}),
  };
  reply.status(error?.status ?? 200);
  if (await hasSecondFactor(factors.store, resolved.env.id, userId)) {
    const passkey = await passkeyAsSecondFactor(factors, found, common.csrfToken, common.page);
    return reply.send(renderSecondFactorPage({ ...common, ...(passkey ? { passkey } : {}) }));
  }
  // A user without a second factor whom the flow sent here must enrol one (the policy or the client asks for two).
  const user = await factors.store.users.find(resolved.env.id, userId);
  const offer = await factors.totp.offer(resolved.env.id, userId, user?.username ?? userId, resolved.env.name);
  if (!offer) return reply.send(renderSecondFactorPage(common));
  return reply.send(renderTotpEnrolmentPage({ ...common, secret: offer.secret, qrSvg: offer.qrSvg }));
}

/** The throttled message in whole minutes, singular for one. */
const throttledMessage = (retryAfter: number): PageMessage => {
  const minutes = Math.max(1, Math.ceil(retryAfter / 60));
  return minutes === 1 ? { key: 'mfa.errorThrottledOne' } : { key: 'mfa.errorThrottled', params: { minutes } };
};

/** The button that gives one of the user's passkeys as the second factor, when they have one. */
async function passkeyAsSecondFactor(
  factors: SignInFactors,
  { resolved, active, requestId, userId }: SignedIn,
  csrfToken: string,
  page: PageContext,
): Promise<string | undefined> {
  if ((await factors.passkeys.listed(resolved.env, userId)).length === 0) return undefined;
  const ceremony = await factors.passkeys.authentication(resolved.env, active.session.idHash, userId);
  return passkeyFragment({
    options: ceremony,
    action: `${resolved.urls.issuer}/passkey`,
    csrfToken,
    requestId,
    purpose: 'second_factor',
    label: 'passkey.secondFactor',
    page,
  });
}

/**
 * Checks the posted code (RFC 6238; or a recovery code), or confirms an enrolment, then signs the
 * user in again with both factors (RFC 8176 `pwd`, `otp`, `mfa`): the session id changes once more.
 */
async function submitSecondFactor(browser: BrowserFlow, factors: SignInFactors, request: EnvRequest, reply: FastifyReply): Promise<FastifyReply> {
  const form = browser.formParams(request);
  const found = await resumeFirstFactor(browser, request, reply, form.request);
  if (!found) return reply;
  if (!browser.sessions.csrfTokenMatches(found.active, form.csrf_token)) return browser.formExpiredPage(reply);
  const code = (form.code ?? '').trim();
  if (code === '') return showSecondFactor(browser, factors, request, reply, found, { status: 400, message: { key: 'mfa.errorMissing' } });
  const { resolved, userId } = found;
  const enrolling = form.step === 'enrol' && !(await hasSecondFactor(factors.store, resolved.env.id, userId));
  const outcome = enrolling
    ? await factors.totp.confirm(resolved.env.id, userId, code, request.ip)
    : await factors.totp.verify(resolved.env.id, userId, code, request.ip);
  factors.events.emit({
    type: 'user.second_factor',
    env: resolved.env,
    method: 'otp',
    outcome: outcome.ok ? 'success' : outcome.throttled ? 'throttled' : 'failure',
  });
  if (!outcome.ok) {
    if (!outcome.throttled) return showSecondFactor(browser, factors, request, reply, found, { status: 401, message: { key: 'mfa.errorWrong' } });
    reply.header('retry-after', String(outcome.retryAfter));
    return showSecondFactor(browser, factors, request, reply, found, { status: 429, message: throttledMessage(outcome.retryAfter) });
  }
  const signedIn = await browser.sessions.signIn(resolved.env, found.active, userId, withSecondFactor(found.active.session.amr, AMR.otp));
  browser.setSessionCookie(reply, resolved, signedIn);
  if ('recoveryCodes' in outcome) {
    // Shown once: only their keyed hashes are stored.
    return reply.send(
      renderRecoveryCodesPage({
        environmentName: resolved.env.name,
        action: `${resolved.urls.issuer}/mfa`,
        requestId: found.requestId,
        codes: outcome.recoveryCodes,
        page: await browser.page(request, resolved, found.pending.oidc?.uiLocales),
      }),
    );
  }
  return browser.send(reply, resolved, await browser.flow.next(pendingFlowOf({ ...found, active: signedIn })));
}
