import { type AuthorizationDeps, enabledClient, enabledUser, type PendingFlow } from './flow-context.ts';
import { approveRequest } from './issue-code.ts';
import type { AuthorizationStep } from './response.ts';

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
 * RFC 6749 §4.1.1: the server obtains the resource owner's decision, by asking or from an earlier
 * one. A stored consent counts when it covers every requested scope and the request names no API
 * (a stored consent records scopes, not the APIs they were granted for, so a request for an API
 * always asks, RFC 8707 §2). RFC 8252 §8.6 and RFC 6749
 * §10.2: a public client's identity cannot be proven (any local app can claim its client_id and a
 * loopback port), so its requests always ask the user.
 */
export const requireConsent: FlowGate = async (deps, { env, session, requestId, pending }) => {
  if (session.userId === null) return { kind: 'login', requestId };
  const client = await enabledClient(deps, env, pending.clientId);
  if (client?.kind === 'public') return { kind: 'consent', requestId };
  const consent = await deps.store.consents.find(env.id, session.userId, pending.clientId);
  if (!consent || !pending.scope.every((s) => consent.scope.includes(s))) return { kind: 'consent', requestId };
  if (pending.resources !== undefined && pending.resources.length > 0) return { kind: 'consent', requestId };
  return undefined;
};

/** The gates of a held request, in order: the first that does not hold decides the page. */
export const FLOW_GATES: readonly FlowGate[] = [requireSignedInUser, requireConsent];

/**
 * Where a held request goes next: the page of the first gate that does not hold, else a code
 * (RFC 6749 §4.1.2). Undefined when the request or its user is gone.
 */
export async function nextStep(deps: AuthorizationDeps, flow: PendingFlow): Promise<AuthorizationStep | undefined> {
  for (const gate of FLOW_GATES) {
    const step = await gate(deps, flow);
    if (step) return step;
  }
  return approveRequest(deps, flow);
}
