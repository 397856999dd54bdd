import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveSession } from '../../../accounts/browser-sessions.ts';
import { amrOf } from '../../../accounts/passkeys.ts';
import type { SignInFactors } from '../../../accounts/sign-in-factors.ts';
import type { MessageKey } from '../../../i18n/catalogue.ts';
import { hasSecondFactor } from '../../../oauth/authorization/second-factor-gate.ts';
import { GATEHOUSE_ROUTES } from '../../../oauth/endpoints.ts';
import type { ResolvedEnvironment } from '../../../oauth/environments.ts';
import { AMR, withSecondFactor } from '../../../oauth/openid/acr.ts';
import { passkeyFragment, renderPasskeyAccountPage, renderPasskeyAccountRefusal } from '../../../pages/passkey-pages.ts';
import type { Params } from '../../params.ts';
import { type BrowserFlow, pendingFlowOf } from './browser-flow.ts';

type EnvRequest = FastifyRequest<{ Params: { env: string } }>;

/** Passkeys on the pages: the ceremonies' responses, and the account page where a user lists, adds and removes theirs. */
export function registerPasskeyRoutes(app: FastifyInstance, browser: BrowserFlow, factors: SignInFactors): void {
  app.post<{ Params: { env: string } }>(GATEHOUSE_ROUTES.passkey.path, (request, reply) => submitPasskey(browser, factors, request, reply));
  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.accountPage.path, (request, reply) => showAccount(browser, factors, request, reply));
  app.post<{ Params: { env: string } }>(GATEHOUSE_ROUTES.accountPasskeyRemove.path, (request, reply) => removePasskey(browser, factors, request, reply));
}

/**
 * Whether this session may manage the user's passkeys: signed in with two factors, or with the
 * only factor the user has (a first passkey is added after a password sign-in).
 */
async function mayManagePasskeys(factors: SignInFactors, resolved: ResolvedEnvironment, active: ActiveSession | undefined): Promise<MessageKey | undefined> {
  const userId = active?.session.userId;
  if (!active || !userId) return 'passkey.signInFirst';
  if (active.session.amr?.includes(AMR.multiFactor)) return undefined;
  return (await hasSecondFactor(factors.store, resolved.env.id, userId)) ? 'passkey.stepUpFirst' : undefined;
}

async function showAccount(
  browser: BrowserFlow,
  factors: SignInFactors,
  request: EnvRequest,
  reply: FastifyReply,
  message?: MessageKey,
): Promise<FastifyReply> {
  const resolved = await browser.environment(request.params.env);
  const active = await browser.currentSession(request, resolved.env);
  const page = await browser.page(request, resolved);
  const refusal = await mayManagePasskeys(factors, resolved, active);
  if (refusal || !active?.session.userId)
    return reply.status(401).send(renderPasskeyAccountRefusal({ environmentName: resolved.env.name, message: refusal ?? 'passkey.signInFirst', page }));
  const userId = active.session.userId;
  const user = await factors.store.users.find(resolved.env.id, userId);
  const csrfToken = browser.sessions.csrfToken(active);
  const ceremony = await factors.passkeys.registration(resolved.env, active.session.idHash, userId, user?.username ?? userId);
  const passkeys = await factors.passkeys.listed(resolved.env, userId);
  const shownMessage = message ?? ((request.query as Record<string, string> | undefined)?.refused === undefined ? undefined : 'passkey.refused');
  return reply.status(message ? 400 : 200).send(
    renderPasskeyAccountPage({
      page,
      environmentName: resolved.env.name,
      username: user?.username ?? '',
      passkeys,
      removeAction: `${resolved.urls.issuer}/account/passkeys/remove`,
      csrfToken,
      register: passkeyFragment({
        options: ceremony,
        action: `${resolved.urls.issuer}/passkey`,
        csrfToken,
        purpose: 'register',
        label: 'passkey.add',
        page,
      }),
      ...(shownMessage ? { message: shownMessage } : {}),
    }),
  );
}

async function removePasskey(browser: BrowserFlow, factors: SignInFactors, request: EnvRequest, reply: FastifyReply): Promise<FastifyReply> {
  const resolved = await browser.environment(request.params.env);
  const form = browser.formParams(request);
  const active = await browser.currentSession(request, resolved.env);
  if (!active || !browser.sessions.csrfTokenMatches(active, form.csrf_token)) return browser.formExpiredPage(reply);
  if ((await mayManagePasskeys(factors, resolved, active)) || !active.session.userId) return browser.formExpiredPage(reply);
  await factors.passkeys.remove(resolved.env, active.session.userId, form.credential_id ?? '');
  return reply.status(303).header('location', `${resolved.urls.issuer}/account`).send();
}

function parseResponse(form: Params): unknown {
  try {
    const parsed: unknown = JSON.parse(form.response ?? '');
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The authenticator's response of a ceremony the pages ran. A registration returns to the account
 * page. A sign-in with a passkey alone (discoverable credential) signs its owner in with RFC 8176
 * `hwk`/`swk`, `user`, `mfa`; as a second factor it adds `hwk`/`swk` and `mfa` to the password's
 * `pwd`. Either way the session id changes and the held request moves on.
 */
async function submitPasskey(browser: BrowserFlow, factors: SignInFactors, request: EnvRequest, reply: FastifyReply): Promise<FastifyReply> {
  const resolved = await browser.environment(request.params.env);
  const form = browser.formParams(request);
  const active = await browser.currentSession(request, resolved.env);
  if (!active || !browser.sessions.csrfTokenMatches(active, form.csrf_token)) return browser.formExpiredPage(reply);
  const response = parseResponse(form);
  if (form.purpose === 'register') {
    if ((await mayManagePasskeys(factors, resolved, active)) || !response) return browser.formExpiredPage(reply);
    const added = await factors.passkeys.register(
      resolved.env,
      active.session.idHash,
      response,
      `Passkey ${new Date(factors.clock.now()).toISOString().slice(0, 10)}`,
    );
    if (added && !active.session.amr?.includes(AMR.multiFactor) && active.session.userId) {
      // A user's first factor, added after a password sign-in: the authenticator has just verified
      // its user, so the session now holds both factors (as after a TOTP enrolment at first login)
      // and may go on managing the passkeys it added.
      const amr = withSecondFactor(active.session.amr, amrOf(added)[0] as string);
      browser.setSessionCookie(reply, resolved, await browser.sessions.signIn(resolved.env, active, active.session.userId, amr));
    }
    return reply
      .status(303)
      .header('location', `${resolved.urls.issuer}/account${added ? '' : '?refused=1'}`)
      .send();
  }
  const found = await browser.resume(request, reply, resolved, form.request);
  if (!found) return reply;
  const back = form.purpose === 'second_factor' ? 'mfa' : 'login';
  const verified = response ? await factors.passkeys.authenticate(resolved.env, active.session.idHash, response) : undefined;
  if (form.purpose === 'second_factor')
    factors.events.emit({ type: 'user.second_factor', env: resolved.env, method: 'passkey', outcome: verified ? 'success' : 'failure' });
  if (!verified)
    return reply
      .status(303)
      .header('location', `${resolved.urls.issuer}/${back}?request=${encodeURIComponent(found.requestId)}`)
      .send();
  const secondFactor = form.purpose === 'second_factor' && active.session.userId === verified.userId;
  const amr = secondFactor ? withSecondFactor(active.session.amr, verified.amr[0] as string) : verified.amr;
  const signedIn = await browser.sessions.signIn(resolved.env, active, verified.userId, amr);
  browser.setSessionCookie(reply, resolved, signedIn);
  return browser.send(reply, resolved, await browser.flow.next(pendingFlowOf({ ...found, active: signedIn })));
}
