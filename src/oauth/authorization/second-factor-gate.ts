import { DEFAULT_SIGN_IN_POLICY, type SignInPolicy } from '../../domain/second-factors.ts';
import type { Store } from '../../domain/storage.ts';
import { AMR, asksForMultiFactor, prefersMultiFactor } from '../openid/acr.ts';
import type { AuthorizationDeps, PendingFlow } from './flow-context.ts';
import type { AuthorizationStep } from './response.ts';

/** The sign-in policy of an environment (the default when it never set one). */
export async function signInPolicyOf(store: Pick<Store, 'secondFactors'>, envId: string): Promise<SignInPolicy> {
  return (await store.secondFactors.findPolicy(envId)) ?? { ...DEFAULT_SIGN_IN_POLICY };
}

/** Whether the user has a second factor to use: a confirmed TOTP enrolment or a passkey. */
export async function hasSecondFactor(store: Pick<Store, 'secondFactors' | 'passkeys'>, envId: string, userId: string): Promise<boolean> {
  const [totp, passkeys] = await Promise.all([store.secondFactors.findTotp(envId, userId), store.passkeys.listByUser(envId, userId)]);
  return totp?.confirmedAt != null || passkeys.length > 0;
}

/** Whether the policy requires two factors for this request whether or not the user enrolled one. */
export function policyRequires(policy: SignInPolicy, pending: Pick<PendingFlow['pending'], 'clientId' | 'scope'>): boolean {
  if (policy.secondFactor !== 'required') return false;
  if (policy.requiredClients.length === 0 && policy.requiredScopes.length === 0) return true;
  return policy.requiredClients.includes(pending.clientId) || pending.scope.some((s) => policy.requiredScopes.includes(s));
}

/**
 * Whether this request needs a second factor of a user signed in with one factor: the policy
 * requires it; the client's `acr_values` (OpenID Connect Core §3.1.2.1) accept only two factors,
 * or prefer them and the user has one; or the user enrolled one and the policy is not
 * `password_only`. A user who must and has none is asked to enrol one.
 */
export async function secondFactorNeeded(
  store: Pick<Store, 'secondFactors' | 'passkeys'>,
  flow: Pick<PendingFlow, 'env' | 'pending'>,
  userId: string,
): Promise<boolean> {
  const policy = await signInPolicyOf(store, flow.env.id);
  if (policyRequires(policy, flow.pending)) return true;
  const acrValues = flow.pending.oidc?.acrValues;
  if (asksForMultiFactor(acrValues)) return true;
  if (policy.secondFactor === 'password_only' && !prefersMultiFactor(acrValues)) return false;
  return hasSecondFactor(store, flow.env.id, userId);
}

/**
 * The second step of a sign-in, and step-up: a session signed in with one factor (`amr` without
 * `mfa`, RFC 8176 §2) goes to the second-factor page when this request needs two. The password is
 * not asked again: a session that already has it only adds the missing factor.
 */
export const requireSecondFactor = async (deps: AuthorizationDeps, flow: PendingFlow): Promise<AuthorizationStep | undefined> => {
  const { session, requestId } = flow;
  if (session.userId === null || session.amr?.includes(AMR.multiFactor)) return undefined;
  return (await secondFactorNeeded(deps.store, flow, session.userId)) ? { kind: 'mfa', requestId } : undefined;
};
