import { AdminError } from '../../admin/admin-error.ts';
import { MAX_POLICY_LIST, type SignInPolicyChanges, type SignInPolicyService } from '../../admin/sign-in-policy.ts';
import { SECOND_FACTOR_MODES } from '../../domain/second-factors.ts';
import { ifMatches } from '../http-semantics.ts';
import { body, object, type Schema } from '../schemas.ts';
import type { AdminApiServices, AdminRoute } from './route.ts';

const str: Schema = { type: 'string' };
const strings: Schema = { type: 'array', items: str, maxItems: MAX_POLICY_LIST };
const time: Schema = { type: 'string', format: 'date-time' };

export const SIGN_IN_POLICY = object({
  environment: str,
  second_factor: { enum: [...SECOND_FACTOR_MODES] },
  required_clients: { type: 'array', items: str },
  required_scopes: { type: 'array', items: str },
  webauthn_rp_id: { type: ['string', 'null'] },
  webauthn_origins: { type: 'array', items: str },
});

export const UPDATE_SIGN_IN_POLICY = body({
  second_factor: { enum: [...SECOND_FACTOR_MODES] },
  required_clients: strings,
  required_scopes: strings,
  webauthn_rp_id: { type: ['string', 'null'], maxLength: 253 },
  webauthn_origins: strings,
});

const PASSKEY = object({
  credential_id: str,
  name: str,
  backup_eligible: { type: 'boolean' },
  backed_up: { type: 'boolean' },
  transports: { type: 'array', items: str },
  created_at: time,
  last_used_at: { type: ['string', 'null'], format: 'date-time' },
});

const USER_FACTORS = object({
  username: str,
  totp: { type: 'boolean' },
  unused_recovery_codes: { type: 'integer' },
  passkeys: { type: 'array', items: PASSKEY },
});
const FACTORS_RESET = object({ totp: { type: 'boolean' }, recovery_codes: { type: 'integer' }, passkeys: { type: 'integer' } });
const PASSKEY_REVOKED = object({ credential_id: str, revoked: { const: true } });

const ENV = '/environments/{env}';
const USER = `${ENV}/users/{username}`;

const signIn = (services: AdminApiServices): SignInPolicyService => {
  if (!services.signIn) throw new AdminError('not_found', 'sign-in policies are not served by this node');
  return services.signIn;
};

/** The wire body of a policy change as the service takes it. */
export function signInPolicyChanges(b: Record<string, unknown>): SignInPolicyChanges {
  const changes: SignInPolicyChanges = {};
  if (b.second_factor !== undefined) changes.secondFactor = b.second_factor as SignInPolicyChanges['secondFactor'] & string;
  if (b.required_clients !== undefined) changes.requiredClients = b.required_clients as string[];
  if (b.required_scopes !== undefined) changes.requiredScopes = b.required_scopes as string[];
  if (b.webauthn_rp_id !== undefined) changes.webauthnRpId = b.webauthn_rp_id as string | null;
  if (b.webauthn_origins !== undefined) changes.webauthnOrigins = b.webauthn_origins as string[];
  return changes;
}

/** An environment's sign-in policy, and an operator's view of a user's second factors and passkeys. */
export const signInRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: `${ENV}/sign-in-policy`,
    operationId: 'getSignInPolicy',
    summary: 'Read the sign-in policy: second factor (password_only, optional, required for all or some clients or scopes) and WebAuthn relying party',
    access: 'read',
    status: 200,
    response: SIGN_IN_POLICY,
    etag: true,
    run: ({ services, params }) => signIn(services).get(params.env ?? ''),
  },
  {
    method: 'PATCH',
    path: `${ENV}/sign-in-policy`,
    operationId: 'updateSignInPolicy',
    summary: 'Change the sign-in policy (If-Match: the ETag of the policy read); fields left out are kept',
    access: 'write',
    body: UPDATE_SIGN_IN_POLICY,
    status: 200,
    response: SIGN_IN_POLICY,
    etag: true,
    current: ({ services, params }) => signIn(services).get(params.env ?? ''),
    run: ({ services, params, body: b, ifMatch }) => signIn(services).update(params.env ?? '', signInPolicyChanges(b), ifMatches(ifMatch)),
  },
  {
    method: 'GET',
    path: `${USER}/factors`,
    operationId: 'getUserFactors',
    summary: "A user's second factors: TOTP, unused recovery codes, passkeys (never a secret)",
    access: 'read',
    status: 200,
    response: USER_FACTORS,
    run: ({ services, params }) => signIn(services).factors(params.env ?? '', params.username ?? ''),
  },
  {
    method: 'DELETE',
    path: `${USER}/passkeys/{credential_id}`,
    operationId: 'revokeUserPasskey',
    summary: 'Revoke one passkey of a user',
    access: 'write',
    status: 200,
    response: PASSKEY_REVOKED,
    run: async ({ services, params }) => {
      await signIn(services).revokePasskey(params.env ?? '', params.username ?? '', params.credential_id ?? '');
      return { credential_id: params.credential_id ?? '', revoked: true };
    },
  },
  {
    method: 'POST',
    path: `${USER}/factors/reset`,
    operationId: 'resetUserFactors',
    summary: 'Recover a user who lost a factor: removes their TOTP, recovery codes and passkeys (audited); they enrol again at the next sign-in',
    access: 'write',
    status: 200,
    response: FACTORS_RESET,
    run: async ({ services, params }) => {
      const reset = await signIn(services).resetFactors(params.env ?? '', params.username ?? '');
      return { totp: reset.totp, recovery_codes: reset.recoveryCodes, passkeys: reset.passkeys };
    },
  },
];
