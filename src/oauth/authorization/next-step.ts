import type { Client, Consent, Environment, PendingAuthorization } from '../../domain/model.ts';
import { subjectFor } from '../openid/subject.ts';
import { type AuthorizationDeps, enabledClient, enabledUser, type PendingFlow } from './flow-context.ts';
import { approveRequest } from './issue-code.ts';
import { takePendingRequest } from './pending-request.ts';
import { type AuthorizationPage, type AuthorizationRefusal, type AuthorizationStep, errorRedirect } from './response.ts';
import { requireSecondFactor } from './second-factor-gate.ts';

/**
 * One condition a held request must meet before its code is issued: the page the browser must
 * visit first, or undefined when the condition already holds.
 */
export type FlowGate = (deps: AuthorizationDeps, flow: PendingFlow) => Promise<AuthorizationStep | undefined>;

/**
 * RFC 6749 §4.1.1: the server authenticates the resource owner. Without a signed-in user, or
 * when that user has since been disabled, the browser goes to the login page.
 */
export const requireSignedInUser: FlowGate = async (deps, { env, session, requestId }) => {
  if (session.userId === null) return { kind: 'login', requestId };
  if (!(await enabledUser(deps, env, session.userId))) return { kind: 'login', requestId };
  return undefined;
};

/**
 * Whether the user signed in while this OpenID request was held: every sign-in replaces the
 * session, so the session is no longer the one the request was held in. Such a sign-in is as
 * fresh as the request, and was made knowing what it was for.
 */
function signedInDuringFlow({ session, pending }: Pick<PendingFlow, 'session' | 'pending'>): boolean {
  return pending.oidc !== undefined && session.idHash !== pending.oidc.heldInSession;
}

/**
 * OpenID Connect Core §3.1.2.1: `prompt=login` (and `select_account`, Gatehouse having no account
 * chooser but its login page) makes the user sign in again even when signed in already; `max_age`
 * does so once the last sign-in is older than that many seconds (`max_age=0` always, as
 * `prompt=login`). A sign-in made during this flow satisfies both: the pending request
 * remembers the session it was held in (`PendingOidc.heldInSession`), so the older sign-in
 * cannot stand in for the one asked for, and a slow consent cannot expire a fresh one.
 */
export const requireFreshSignIn: FlowGate = async (deps, flow) => {
  const { session, requestId, pending } = flow;
  const oidc = pending.oidc;
  if (!oidc || signedInDuringFlow(flow)) return undefined;
  if (oidc.prompt.includes('login') || oidc.prompt.includes('select_account') || oidc.maxAge === 0) return { kind: 'login', requestId };
  if (oidc.maxAge === null) return undefined;
  if (session.authenticatedAt === null || deps.clock.now() - session.authenticatedAt > oidc.maxAge * 1000) return { kind: 'login', requestId };
  return undefined;
};

/**
 * OpenID Connect Core §3.1.2.1 `id_token_hint`: the client expects the user its ID Token named.
 * A signed-in user who is not that user (compared as the subject this client is given, Core §8)
 * goes to the login page; whoever then signs in during this flow is the user's own choice.
 */
export const requireHintedUser: FlowGate = async (deps, flow) => {
  const { env, session, requestId, pending } = flow;
  const hinted = pending.oidc?.hintSubject ?? null;
  if (hinted === null || session.userId === null || signedInDuringFlow(flow)) return undefined;
  const client = await enabledClient(deps, env, pending.clientId);
  // A client gone or disabled is refused when the code would be issued.
  if (!client) return undefined;
  return subjectFor(env, client, session.userId) === hinted ? undefined : { kind: 'login', requestId };
};

/** Whether a stored consent covers these scopes and APIs (RFC 8707); one granted for no API covers only requests for none. */
export function consentCovers(consent: Consent | undefined, scope: readonly string[], resources: readonly string[] | undefined): boolean {
  if (!consent) return false;
  const apis = consent.resources ?? [];
  return scope.every((s) => consent.scope.includes(s)) && (resources ?? []).every((r) => apis.includes(r));
}

/**
 * Whether an earlier consent may stand for the user's answer: never for a public client, whose
 * identity cannot be proven, nor for a Client ID Metadata Document client, confidential or not,
 * which nobody vetted.
 */
const mayUseStoredConsent = (client: Client): boolean => client.kind === 'confidential' && client.metadataDocument === undefined;

/**
 * RFC 6749 §4.1.1: the server obtains the resource owner's decision, by asking or from an earlier
 * one. A stored consent counts when it covers every requested scope and every requested API
 * (RFC 8707 §2), as granted to this client. RFC 8252 §8.6 and RFC 6749 §10.2: a public client's
 * identity cannot be proven (any local app can claim its client_id and a loopback port), so its
 * requests always ask the user. OpenID Connect Core §3.1.2.1: `prompt=consent` always asks.
 * Core §11: `offline_access` is honoured only once the user consented to it, on this page or
 * in a stored consent, since it is part of the scope compared here.
 */
export const requireConsent: FlowGate = async (deps, { env, session, requestId, pending }) => {
  if (session.userId === null) return { kind: 'login', requestId };
  const client = await enabledClient(deps, env, pending.clientId);
  if (client && !mayUseStoredConsent(client)) return { kind: 'consent', requestId };
  if (pending.oidc?.prompt.includes('consent')) return { kind: 'consent', requestId };
  if (client && isFirstPartySignIn(deps, env, client, pending)) return undefined;
  const consent = await deps.store.consents.find(env.id, session.userId, pending.clientId);
  return consentCovers(consent, pending.scope, pending.resources) ? undefined : { kind: 'consent', requestId };
};

/**
 * Consent (RFC 6749 §4.1.1, Core §3.1.2.4) protects a user from handing a third party access.
 * The console's own sign-in has no third party: the code goes to the console's callback on the
 * admin listener, which only Gatehouse itself answers, and only the console (which holds its
 * client's secret) redeems it. So exactly the console's own client (the one this node's console
 * signs in with, `firstPartyClientId`), confidential, in the management environment, sending the
 * user back to exactly that callback, is first-party and asks no consent. Every other client
 * still asks, including another confidential client of the management environment registered
 * with the same callback: a client's name, a scope, a redirect URI or a remembered flag never
 * makes it first-party.
 */
function isFirstPartySignIn(deps: AuthorizationDeps, env: Environment, client: Client, pending: PendingAuthorization): boolean {
  const signIn = deps.firstPartySignIn;
  return (
    signIn !== undefined &&
    deps.firstPartyClientId !== undefined &&
    client.clientId === deps.firstPartyClientId &&
    env.name === signIn.environment &&
    client.kind === 'confidential' &&
    pending.redirectUri === signIn.redirectUri
  );
}

/**
 * RFC 8628 §3.3 and §5.4: a request held by the device verification page always ends on its own
 * decision page, never on the consent page and never decided by a remembered consent: the user
 * must see the client, scopes and user code, and answer.
 */
export const requireDeviceDecision: FlowGate = async (_deps, { requestId, pending }) =>
  pending.deviceCodeHash === undefined ? undefined : { kind: 'device', requestId };

/** The gates that authenticate the user, in order; they hold again when the consent page posts. */
export const AUTHENTICATION_GATES: readonly FlowGate[] = [requireSignedInUser, requireFreshSignIn, requireHintedUser, requireSecondFactor];

/** The gates of a held request, in order: the first that does not hold decides the page. */
export const FLOW_GATES: readonly FlowGate[] = [...AUTHENTICATION_GATES, requireDeviceDecision, requireConsent];

/**
 * Where a held request goes next: the page of the first gate that does not hold, else a code
 * (RFC 6749 §4.1.2). With OpenID Connect `prompt=none` no page may be shown (Core §3.1.2.1):
 * the request is answered with an error instead. Undefined when the request or its user is gone.
 */
export async function nextStep(deps: AuthorizationDeps, flow: PendingFlow): Promise<AuthorizationStep | undefined> {
  for (const gate of FLOW_GATES) {
    const step = await gate(deps, flow);
    if (!step) continue;
    if (step.kind === 'login' || step.kind === 'consent' || step.kind === 'mfa') {
      if (flow.pending.oidc?.prompt.includes('none')) return withoutInteraction(deps, flow, step);
    }
    return step;
  }
  return approveRequest(deps, flow);
}

/**
 * The user allowed the request on the consent page. The authentication gates hold again first:
 * the consent page can be reached without the login page a forced sign-in asked for.
 */
export async function approveAfterSignIn(deps: AuthorizationDeps, flow: PendingFlow): Promise<AuthorizationStep | undefined> {
  for (const gate of [...AUTHENTICATION_GATES, requireDeviceDecision]) {
    const step = await gate(deps, flow);
    if (step) return step;
  }
  return approveRequest(deps, flow);
}

const LOGIN_REQUIRED: AuthorizationRefusal = { error: 'login_required', description: 'the user must sign in, and prompt=none forbids asking' };
// Core §3.1.2.6: a second factor must be given, which needs the user.
const INTERACTION_REQUIRED: AuthorizationRefusal = {
  error: 'interaction_required',
  description: 'the user must give a second factor, and prompt=none forbids asking',
};
const CONSENT_REQUIRED: AuthorizationRefusal = { error: 'consent_required', description: 'the user must consent, and prompt=none forbids asking' };

/**
 * OpenID Connect Core §3.1.2.6: `prompt=none` and a page needed: `login_required` when the user
 * must sign in (none signed in, `max_age` passed, or another user than `id_token_hint` names),
 * `consent_required` when the user must consent; with `state` and `iss` as every error, and
 * taking the request so it is answered once. Core §11: when the only scope not consented to is
 * `offline_access`, it is dropped and the rest is granted.
 */
async function withoutInteraction(deps: AuthorizationDeps, flow: PendingFlow, page: AuthorizationPage): Promise<AuthorizationStep | undefined> {
  if (page.kind === 'consent') {
    const narrowed = await withoutOfflineAccess(deps, flow);
    if (narrowed) return approveRequest(deps, { ...flow, pending: narrowed });
  }
  if (!(await takePendingRequest(deps, flow))) return undefined;
  const refusal = page.kind === 'login' ? LOGIN_REQUIRED : page.kind === 'mfa' ? INTERACTION_REQUIRED : CONSENT_REQUIRED;
  return errorRedirect(flow.pending.redirectUri, refusal, flow.pending.state, flow.issuer);
}

/** The pending request without `offline_access`, when a stored consent covers all the rest and the client is confidential. */
async function withoutOfflineAccess(deps: AuthorizationDeps, { env, session, pending }: PendingFlow): Promise<PendingAuthorization | undefined> {
  if (session.userId === null || !pending.scope.includes('offline_access')) return undefined;
  const client = await enabledClient(deps, env, pending.clientId);
  if (!client || !mayUseStoredConsent(client)) return undefined;
  const scope = pending.scope.filter((s) => s !== 'offline_access');
  const consent = await deps.store.consents.find(env.id, session.userId, pending.clientId);
  return consentCovers(consent, scope, pending.resources) ? { ...pending, scope } : undefined;
}
